"""CHGNet inference with forces and stress from one first-order backward pass.

chgnet's own ``CHGNet._compute`` is written for training: it takes the forces and the
stress in two separate ``torch.autograd.grad`` calls, each with ``create_graph=True``
(so that a loss on forces can be differentiated again). Inference needs neither: one
backward pass through the energy with respect to both the positions and the strain
gives the same numbers at about half the cost (1.7x faster per evaluation of a
128-atom cell on 2 CPU cores; see ``benchmarks/device.py``). chgnet offers no option
for this, hence this module; the numbers agree with chgnet's calculator to float32
round-off (``tests/test_speedups.py``).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes, all_properties
from chgnet.model.dynamics import CHGNetCalculator
from chgnet.model.model import BatchedGraph, CHGNet
from pymatgen.io.ase import AseAtomsAdaptor

from lpsflow.calculators.chgnet_graph import GraphMismatch, crystal_graph

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ase import Atoms
    from chgnet.graph import CrystalGraph

#: Structures per forward pass of :meth:`FastCHGNetCalculator.energies`, by device
#: type (on a CPU a batch is no faster than one structure at a time; on an H200 a
#: batch of 16 gave 3.5x the structures per second, ``benchmarks/device.py``).
ENERGY_BATCH = {"cpu": 1, "cuda": 16}

#: eV/A^3 -> GPa, the unit of chgnet's stress before the calculator's stress_weight.
_EV_A3_TO_GPA = 160.21766208


def predict_one_backward(
    model: CHGNet,
    graph: CrystalGraph,
    *,
    task: str = "efsm",
    return_site_energies: bool = False,
    return_crystal_feas: bool = False,
    **_: Any,
) -> dict[str, Any]:
    """What ``model.predict_graph(graph, task=task)`` returns, in one backward pass.

    The model is put in evaluation mode if it is in training mode (chgnet's own
    ``predict_graph`` calls ``eval()`` every time: a walk over its 239 modules,
    0.6 ms per evaluation).
    """
    return predict_batch(
        model,
        [graph],
        task=task,
        return_site_energies=return_site_energies,
        return_crystal_feas=return_crystal_feas,
    )[0]


def predict_batch(
    model: CHGNet,
    graphs: list[CrystalGraph],
    *,
    task: str = "efsm",
    return_site_energies: bool = False,
    return_crystal_feas: bool = False,
) -> list[dict[str, Any]]:
    """:func:`predict_one_backward` for several crystals in one pass of the model.

    One forward pass through chgnet's ``BatchedGraph`` of all ``graphs`` and one
    backward pass for all their forces and stresses (the crystals' energies are
    independent, so the gradient of their sum holds each one's own). On a GPU,
    where one call is latency-bound, a batch goes through several times faster than
    its crystals one at a time (``benchmarks/batched.py``).
    """
    if model.training:
        model.eval()
    device = next(model.parameters()).device
    graphs = [g.to(device) for g in graphs]
    comp_energy = (
        0 if model.composition_model is None else model.composition_model(graphs)
    )
    batched = BatchedGraph.from_graphs(
        graphs,
        bond_basis_expansion=model.bond_basis_expansion,
        angle_basis_expansion=model.angle_basis_expansion,
        compute_stress="s" in task,
    )
    # the model body without its gradients (chgnet has no public call for it)
    pred = model._compute(
        batched,
        compute_magmom="m" in task,
        return_site_energies=return_site_energies,
        return_crystal_feas=return_crystal_feas,
    )
    energy = pred["e"]  # per atom if the model is intensive
    inputs = []
    if "f" in task:
        inputs += batched.atom_positions
    if "s" in task:
        inputs += batched.strains
    grads = list(torch.autograd.grad(energy.sum(), inputs)) if inputs else []
    n = len(graphs)
    forces = grads[:n] if "f" in task else []
    strains = grads[-n:] if "s" in task else []
    total = energy + comp_energy
    shifts = (
        model.composition_model.get_site_energies(graphs)
        if return_site_energies and model.composition_model is not None
        else None
    )
    outs = []
    for i, graph in enumerate(graphs):
        # chgnet differentiates the total energy, before dividing by the atom count
        scale = len(graph.atomic_number) if model.is_intensive else 1
        out: dict[str, Any] = {"e": total[i]}
        if "f" in task:
            out["f"] = -scale * forces[i]
        if "s" in task:
            out["s"] = scale * strains[i] / batched.volumes[i] * _EV_A3_TO_GPA
        if "m" in task:
            out["m"] = pred["m"][i]
        if return_crystal_feas:
            out["crystal_fea"] = pred["crystal_fea"][i]
        if return_site_energies:
            site = pred["site_energies"][i]
            out["site_energies"] = site if shifts is None else site + shifts[i]
        outs.append({k: v.detach().cpu().numpy() for k, v in out.items()})
    return outs


@contextmanager
def flushed_denormals() -> Iterator[None]:
    """Treat subnormal floats as zero on the CPU inside the block, then restore.

    The backward pass through CHGNet's gated MLPs runs into subnormal float32
    values (|x| < 1.2e-38); x86 cores handle those in microcode, 5-7x slower per
    operation. On one thread (the worker processes of a parallel run) a CHGNet
    evaluation of a 348-atom cell took 440 ms with them and 220 ms without; the
    energies, forces and stresses came out bit for bit the same (a subnormal
    contributes nothing a float32 sum of O(1) terms can hold).
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)  # torch's default; numpy keeps subnormals


def start_flushing_threads() -> None:
    """Start torch's CPU compute threads with subnormal floats flushed to zero.

    :func:`flushed_denormals` sets the calling thread's floating-point mode only;
    torch's other intra-op threads would still meet subnormals (a CHGNet call on two
    threads took 321 ms instead of 191). New threads inherit the mode of the thread
    that creates them (POSIX), so the pool is started here, before the model is
    loaded, with flushing on; the calling thread's mode is then restored. Where torch
    already started its threads (an earlier parallel op) this changes nothing.
    """
    if torch.get_num_threads() < 2:
        return
    torch.set_flush_denormal(True)
    try:
        torch.sin(torch.ones(1 << 20))  # an ATen parallel_for: starts the pool
        a = torch.ones(256, 256)
        _ = a @ a  # and the BLAS's threads
    finally:
        torch.set_flush_denormal(False)


def identical_atoms(a: Atoms, b: Atoms) -> bool:
    """Whether ``a`` and ``b`` have exactly the same arrays, cell and pbc."""
    if a.arrays.keys() != b.arrays.keys():
        return False
    return (
        np.array_equal(a.cell.array, b.cell.array)
        and np.array_equal(a.pbc, b.pbc)
        and all(np.array_equal(v, b.arrays[k]) for k, v in a.arrays.items())
    )


class FastCHGNetCalculator(CHGNetCalculator):
    """chgnet's ASE calculator; its model predicts with :func:`predict_one_backward`.

    With ``fast_graph`` (the default) the crystal graph is built from the atoms'
    arrays by :func:`lpsflow.calculators.chgnet_graph.crystal_graph` (the same
    graph, 10x faster), not through a pymatgen Structure and chgnet's converter;
    with ``flush_denormals`` (the default) the model runs in
    :func:`flushed_denormals` (2x faster on one thread).
    """

    def __init__(
        self,
        *args: Any,
        fast_graph: bool = True,
        flush_denormals: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fast_graph = fast_graph
        model = self.model
        # forces and stress are gradients with respect to positions and strain only:
        # weights that need no gradient spare autograd their bookkeeping (5-7 %
        # faster per evaluation of 126-348 atom cells on one core, same numbers)
        model.requires_grad_(False)
        model.eval()

        mode = flushed_denormals if flush_denormals else nullcontext
        self._mode = mode

        def predict_graph(graph: CrystalGraph, **kw: Any) -> dict[str, Any]:
            with mode():
                return predict_one_backward(model, graph, **kw)

        # an instance attribute: chgnet's calculate() calls model.predict_graph
        model.predict_graph = predict_graph

    def _graph(self, atoms: Atoms) -> CrystalGraph:
        if self.fast_graph:
            try:
                return crystal_graph(atoms, self.model.graph_converter)
            except GraphMismatch:  # chgnet's converter and its warnings
                pass
        return self.model.graph_converter(AseAtomsAdaptor.get_structure(atoms))

    def energies(self, structures: list[Atoms]) -> list[float]:
        """Potential energies (eV) of ``structures``: the model's forward pass only.

        A single point that needs no forces skips the backward pass (2.4x faster
        for 64-atom cells on one thread), with the energy :meth:`calculate` gives,
        bit for bit. chgnet's ``predict_graph`` evaluates them in batches of
        :data:`ENERGY_BATCH` structures for the device (one on a CPU, where a batch
        is no faster; several on a GPU, where one call is latency-bound).
        """
        if not structures:
            return []
        graphs = [self._graph(a).to(self.device) for a in structures]
        batch = ENERGY_BATCH.get(torch.device(self.device).type, 1)
        with torch.no_grad(), self._mode():
            preds = CHGNet.predict_graph(self.model, graphs, task="e", batch_size=batch)
        preds = preds if isinstance(preds, list) else [preds]
        extensive = [len(a) if self.model.is_intensive else 1 for a in structures]
        return [float(p["e"] * n) for p, n in zip(preds, extensive, strict=True)]

    def check_state(self, atoms: Atoms, tol: float = 1e-15) -> list[str]:
        """ASE's check, answered at once when nothing at all changed.

        ASE compares positions, cell and the other arrays with ``allclose`` before
        every property it hands out: an optimiser step asks 6-8 times, 2 ms per
        step for 264 atoms. Arrays that are exactly equal pass that comparison, so
        they skip it; any difference goes to ASE's own check.
        """
        if self.atoms is not None and identical_atoms(self.atoms, atoms):
            return []
        return super().check_state(atoms, tol)

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: list | None = None,
        system_changes: list | None = None,
        task: str = "efsm",
    ) -> None:
        """As chgnet's calculate, the graph built from the atoms' arrays."""
        if not self.fast_graph:
            super().calculate(atoms, properties, system_changes, task=task)
            return
        Calculator.calculate(
            self, atoms, properties or all_properties, system_changes or all_changes
        )
        atoms = self.atoms
        pred = self.model.predict_graph(
            self._graph(atoms).to(self.device),
            task=task,
            return_crystal_feas=True,
            return_site_energies=self.return_site_energies,
        )
        self.results |= self.ase_results(pred, len(atoms))

    def ase_results(self, pred: dict[str, Any], n_atoms: int) -> dict[str, Any]:
        """The calculator's results from one crystal's model prediction."""
        extensive = n_atoms if self.model.is_intensive else 1
        factors = {"e": ("energy", extensive), "f": ("forces", 1)}
        factors |= {"m": ("magmoms", 1), "s": ("stress", self.stress_weight)}
        results = {
            name: pred[key] * factor
            for key, (name, factor) in factors.items()
            if key in pred
        }
        results["free_energy"] = results["energy"]
        if "crystal_fea" in pred:
            results["crystal_fea"] = pred["crystal_fea"]
        if "site_energies" in pred:
            results["energies"] = pred["site_energies"]
        return results
