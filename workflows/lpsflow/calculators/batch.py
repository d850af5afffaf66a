"""Several structures through CHGNet in one model call: relaxations and NEB bands.

On a GPU one CHGNet call is latency-bound (40 ms for 128 atoms, 0.11 s for 512 on an
H200): a batch of structures goes through several times faster than the same
structures one at a time. A :class:`BatchGroup` lets independent ASE computations
meet at their model calls:

* **relaxations** (:func:`relax_together`): each structure keeps its own ASE
  optimiser and filter, run unchanged in its own thread; a force request waits until
  every live relaxation has asked for its next forces, and the calling thread
  evaluates them all in one batch. Each trajectory is the one it would be alone
  (forces equal to float32 round-off): the results of sequential relaxations.
* **NEB bands** (:func:`attach`): the images of one band, whose positions the band
  sets together, are evaluated in one batch when the first of them is asked for.

Written here because no library does it for CHGNet: torch-sim-atomistic (batched
relaxation and MD) has no CHGNet interface and needs Python >= 3.12; chgnet's
``BatchedGraph`` batches one model call, not a relaxation; ASE's optimisers move one
``Atoms``. Only the meeting point is new: ASE optimises, chgnet's ``BatchedGraph``
batches (:func:`~lpsflow.calculators.chgnet_fast.predict_batch`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ase.calculators.calculator import Calculator, all_changes

from lpsflow.calculators.chgnet_fast import FastCHGNetCalculator, predict_batch

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ase import Atoms

#: Atoms per model call (a larger batch is split): bounds the GPU memory of one call.
MAX_BATCH_ATOMS = 8000

#: Atoms per model call by device type: on a CPU a batch is no faster (5 % slower
#: for 3 NEB images of 126 atoms on 2 cores), so each structure goes alone (0).
BATCH_ATOMS = {"cpu": 0, "cuda": MAX_BATCH_ATOMS}


def batch_atoms(calc: Calculator) -> int:
    """``max_atoms`` of a :class:`BatchGroup` on the device of ``calc``."""
    import torch

    return BATCH_ATOMS.get(torch.device(getattr(calc, "device", "cpu")).type, 0)


def batches(calc: Calculator) -> bool:
    """Whether ``calc`` can evaluate several structures in one call and it pays."""
    return isinstance(calc, FastCHGNetCalculator) and batch_atoms(calc) > 0


class BatchMember(Calculator):
    """The ASE calculator of one structure of a :class:`BatchGroup`."""

    implemented_properties = ("energy", "free_energy", "forces", "stress", "magmoms")

    def __init__(self, group: BatchGroup) -> None:
        super().__init__()
        self.group = group
        self.target: Atoms | None = None  # the Atoms it is attached to (NEB bands)
        self._done = threading.Event()
        self._error: BaseException | None = None

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Sequence[str] | None = None,
        system_changes: Sequence[str] = all_changes,
    ) -> None:
        """Energy, forces and stress of ``atoms``, evaluated with the group's batch."""
        Calculator.calculate(self, atoms, properties, system_changes)
        self.group.request(self)


class BatchGroup:
    """Structures whose CHGNet evaluations go through the model together.

    ``calc`` is the (loaded) :class:`FastCHGNetCalculator` whose model, device and
    graph builder the members use; ``max_atoms`` bounds one model call (0: one
    structure per call, each still with its own cache).
    ``batches`` and ``evaluations`` count the model calls and the structures they
    evaluated.
    """

    def __init__(
        self, calc: FastCHGNetCalculator, max_atoms: int = MAX_BATCH_ATOMS
    ) -> None:
        if not isinstance(calc, FastCHGNetCalculator):
            raise TypeError("a BatchGroup needs lpsflow's FastCHGNetCalculator")
        self.calc = calc
        self.max_atoms = max_atoms
        self.batches = 0
        self.evaluations = 0
        self._cond = threading.Condition()
        self._live = 0  # relaxations running in their threads
        self._pending: list[tuple[BatchMember, Any]] = []
        self._attached: list[BatchMember] = []

    def member(self) -> BatchMember:
        """A new calculator of this group."""
        return BatchMember(self)

    def request(self, member: BatchMember) -> None:
        """Evaluate ``member.atoms`` (called by the member's ``calculate``)."""
        graph = self.calc._graph(member.atoms)  # in the caller's thread
        if self._live == 0:  # no relaxations running: a band's stale images
            self._evaluate([(member, graph), *self._stale(member)])
            return
        with self._cond:  # relax_together's thread evaluates it with the others
            member._done.clear()
            self._pending.append((member, graph))
            self._cond.notify_all()
            while not member._done.is_set():
                self._cond.wait()
        if member._error is not None:
            raise member._error

    def _stale(self, asking: BatchMember) -> list[tuple[BatchMember, Any]]:
        out = []
        for m in self._attached:
            if m is asking or m.target is None or m.target.calc is not m:
                continue
            if m.atoms is None or m.check_state(m.target):
                m.atoms = m.target.copy()
                m.results = {}
                out.append((m, self.calc._graph(m.atoms)))
        return out

    def _serve(self) -> None:
        """Evaluate the relaxations' requests, each time all live ones have asked.

        Runs in the thread that started them, so that every model call runs in one
        thread (torch's thread pool and its floating-point mode are that thread's).
        """
        with self._cond:
            while True:
                while self._live and len(self._pending) < self._live:
                    self._cond.wait()
                if not self._pending:
                    return  # all finished
                batch, self._pending = self._pending, []
                try:
                    self._evaluate(batch)
                except BaseException as err:  # every waiting relaxation raises it
                    for m, _ in batch:
                        m._error = err
                for m, _ in batch:
                    m._done.set()
                self._cond.notify_all()

    def _evaluate(self, batch: list[tuple[BatchMember, Any]]) -> None:
        from lpsflow.calculators import progress
        from lpsflow.calculators.mlip import evaluating

        calc = self.calc
        for chunk in _chunks(batch, self.max_atoms):
            with evaluating(len(chunk)), calc._mode():
                preds = predict_batch(calc.model, [g for _, g in chunk], task="efsm")
            self.batches += 1
            self.evaluations += len(chunk)
            for (m, _), pred in zip(chunk, preds, strict=True):
                m.results = calc.ase_results(pred, len(m.atoms))
                m._error = None
            progress.tick(chunk[0][0], len(chunk))

    def _enter(self) -> None:
        with self._cond:
            self._live += 1

    def _leave(self) -> None:
        with self._cond:
            self._live -= 1
            self._cond.notify_all()


def _chunks(batch: list, max_atoms: int) -> list[list]:
    out: list[list] = [[]]
    size = 0
    for item in batch:
        n = len(item[0].atoms)
        if out[-1] and size + n > max_atoms:
            out.append([])
            size = 0
        out[-1].append(item)
        size += n
    return out


def attach(group: BatchGroup, images: Sequence[Atoms]) -> None:
    """Give each image its own member of ``group``, evaluated as one batch."""
    for atoms in images:
        m = group.member()
        m.target = atoms
        atoms.calc = m
        group._attached.append(m)


def relax_together(
    group: BatchGroup,
    structures: Sequence[Atoms],
    relax: Callable[[Atoms], Any],
) -> list[Any]:
    """``[relax(atoms) for atoms in structures]``, their model calls batched.

    ``relax`` runs one relaxation (any ASE optimiser and filter) of an ``Atoms``
    whose calculator is already set to a member of ``group``; each runs in its own
    thread and their force requests meet in one model call. An exception in one
    relaxation is raised after all have finished.
    """
    results: list[Any] = [None] * len(structures)
    errors: list[BaseException | None] = [None] * len(structures)
    for atoms in structures:
        atoms.calc = group.member()

    def run(i: int) -> None:
        try:
            results[i] = relax(structures[i])
        except BaseException as err:  # raised below, in the caller's thread
            errors[i] = err
        finally:
            group._leave()

    for _ in structures:  # all live before any asks, so the first batch is whole
        group._enter()
    threads = [
        threading.Thread(target=run, args=(i,), name=f"relax-{i}", daemon=True)
        for i in range(len(structures))
    ]
    for t in threads:
        t.start()
    group._serve()
    for t in threads:
        t.join()
    for err in errors:
        if err is not None:
            raise err
    return results
