"""The embedded default backend: a machine-learned potential via atomate2 forcefields.

CHGNet ships its weights inside the wheel and runs offline; SevenNet (7net-0) is an
optional second model (``pip install lpsflow[sevennet]``).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from atomate2.forcefields.jobs import ForceFieldRelaxMaker, ForceFieldStaticMaker
from pymatgen.core import Structure

from lpsflow.calculators import progress, thread_share, trajectory_fix
from lpsflow.calculators.base import NORMAL, Backend, CellRelax
from lpsflow.calculators.cell_filter import OnceFrechetCellFilter
from lpsflow.errors import ConfigError
from lpsflow.jobs.identity import Kind
from lpsflow.speedups import DISABLE_ENV, enabled

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ase.calculators.calculator import Calculator
    from pymatgen.core import Structure

    from lpsflow.campaign import CalculatorSettings

trajectory_fix.apply()  # the makers below build their task documents with it

#: Voigt mask of the cell filter for ``relax_cell="normal"``: the zz strain only.
ZZ_ONLY = (0, 0, 1, 0, 0, 0)

#: Package that provides each model (for clear errors when it is missing).
MODEL_PACKAGES = {"CHGNet": "chgnet", "SevenNet": "sevenn"}


def calculator_kwargs(model: str, device: str) -> dict[str, Any]:
    """Keyword arguments of the model's ASE calculator."""
    if model == "CHGNet":
        return {"use_device": device, "stress_unit": "eV/A3"}
    if model == "SevenNet":
        return {"model": "7net-0", "device": device}
    raise ConfigError(f"unknown MLIP model {model}")


@dataclass
class CalculatorStats:
    """Force calls and time spent inside MLIP calculators in this process."""

    calls: int = 0
    seconds: float = 0.0

    def reset(self) -> None:
        """Zero the counters."""
        self.calls, self.seconds = 0, 0.0


#: Process-wide counters (read by ``lpsflow run`` and the benchmarks).
STATS = CalculatorStats()


@contextmanager
def evaluating(structures: int = 1) -> Iterator[None]:
    """Around model evaluations: lent cores taken up, calls and time counted."""
    thread_share.follow()  # idle cores lent by a parallel run's parent
    t0 = time.perf_counter()
    try:
        yield
    finally:
        STATS.calls += structures
        STATS.seconds += time.perf_counter() - t0


def _instrument(calc: Calculator) -> Calculator:
    """Count the calculator's evaluations and their time; tick the job's progress."""
    inner = calc.calculate

    def calculate(*args: Any, **kwargs: Any) -> Any:
        with evaluating():
            result = inner(*args, **kwargs)
        progress.tick(calc)  # a line now and then on a long job
        return result

    calc.calculate = calculate
    return calc


def limit_blas_threads() -> None:
    """Give the BLAS that numpy and scipy use one thread in an MLIP process.

    The optimiser's linear algebra (BFGS diagonalises its Hessian every step) and
    pymatgen's small matrix work run between two model evaluations. With OpenBLAS's
    default of one thread per core, its idle threads spin on the cores torch's
    threads need: on 2 cores a 128-atom relaxation took 45 s instead of 24 s, the
    model evaluations themselves 1.6x slower. Torch keeps its own threads.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def check_device(device: str) -> None:
    """Raise :class:`ConfigError` unless torch can run on ``device`` here.

    Checked before a local run starts, so that a campaign configured for a GPU
    fails once with the reason instead of in every job, and when a job loads the
    model (a FireWorks job on a node without the GPU fails with this message).
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(
            f"calculator.device {device!r} is not a torch device "
            "(cpu, cuda, cuda:1, mps, ...)"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            built = torch.version.cuda
            why = (
                f"torch {torch.__version__} was built without CUDA"
                if built is None
                else f"torch {torch.__version__} (CUDA {built}) finds no GPU"
            )
            raise ConfigError(
                f"calculator.device is {device!r} but {why}: run on a GPU node "
                "with a CUDA build of torch, or set calculator.device: cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"calculator.device is {device!r} but this node has "
                f"{torch.cuda.device_count()} GPU(s) (cuda:0 ...)"
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            f"calculator.device is {device!r} but torch finds no Apple GPU here"
        )


def new_calculator(model: str, device: str = "cpu") -> Calculator:
    """Load the model's ASE calculator (instrumented; see :data:`STATS`)."""
    from importlib.util import find_spec

    from atomate2.forcefields.utils import ase_calculator

    if find_spec(MODEL_PACKAGES[model]) is None:
        raise ConfigError(
            f"the {model} model needs the '{MODEL_PACKAGES[model]}' package "
            f"(pip install lpsflow[{model.lower()}])"
        )
    if device != "cpu":  # a job on a node whose torch cannot use it: say why
        check_device(device)
    if enabled("blas_one_thread"):
        limit_blas_threads()
    kwargs = calculator_kwargs(model, device)
    if model == "CHGNet" and enabled("one_backward"):
        from lpsflow.calculators.chgnet_fast import (
            FastCHGNetCalculator,
            start_flushing_threads,
        )

        if enabled("flush_denormals") and device == "cpu":
            start_flushing_threads()
        return _instrument(
            FastCHGNetCalculator(
                fast_graph=enabled("fast_graph"),
                flush_denormals=enabled("flush_denormals"),
                **kwargs,
            )
        )
    return _instrument(ase_calculator(model, **kwargs))


def single_point_energies(
    structures: list[Structure], model: str, device: str = "cpu"
) -> list[float]:
    """Energies (eV) of ``structures`` with the process-wide model, no forces.

    Where the calculator offers an energy-only evaluation
    (:meth:`~lpsflow.calculators.chgnet_fast.FastCHGNetCalculator.energies`, the same
    energies without the backward pass) it is used; otherwise each structure is one
    ordinary evaluation. Each structure counts as one call in :data:`STATS`.
    """
    calc = mlip_calculator(model, device)
    atoms = [s.to_ase_atoms() for s in structures]
    energies = getattr(calc, "energies", None) if enabled("energy_only") else None
    if energies is None:
        out = []
        for a in atoms:
            a.calc = calc
            out.append(float(a.get_potential_energy()))
        return out
    with evaluating(len(atoms)):
        out = energies(atoms)
    progress.tick(None, len(atoms))
    return out


@cache
def _cached_calculator(model: str, device: str, disabled: str) -> Calculator:
    # ``disabled`` (the LPSFLOW_DISABLE value) only keys the cache
    return new_calculator(model, device)


def mlip_calculator(model: str, device: str = "cpu") -> Calculator:
    """The model's ASE calculator, loaded once per process, device and speed-ups.

    A new one per call if ``shared_model`` is disabled (:data:`SPEEDUPS`).
    """
    if not enabled("shared_model"):
        return new_calculator(model, device)
    return _cached_calculator(model, device, os.environ.get(DISABLE_ENV, ""))


class _SharedCalculatorMixin:
    """Reuse one loaded model per process instead of one per job."""

    def _get_calculator(self) -> Calculator:
        kwargs = self.calculator_kwargs
        device = kwargs.get("use_device", kwargs.get("device", "cpu"))
        return mlip_calculator(str(self.force_field_name).split(".")[-1], device)


@dataclass
class MLIPRelaxMaker(_SharedCalculatorMixin, ForceFieldRelaxMaker):
    """atomate2's forcefield relaxation with the model loaded once per process.

    ``perturb``: (seed, amplitude in A): start from the structure with each free
    atom displaced by the amplitude in a seeded random direction
    (:func:`lpsflow.structures.perturb.perturbed`); None (default): as given.
    """

    lpsflow_kind: ClassVar[Kind] = Kind("mlip_relax")
    lpsflow_unset: ClassVar[dict[str, Any]] = {"perturb": None}
    name: str = "MLIP relax"
    perturb: tuple[int, float] | None = None

    def _run_ase_safe(self, structure: Any, *args: Any, **kwargs: Any) -> Any:
        if self.perturb is not None and isinstance(structure, Structure):
            from lpsflow.structures.perturb import perturbed

            structure = perturbed(structure, *self.perturb)
        return super()._run_ase_safe(structure, *args, **kwargs)


@dataclass
class MLIPStaticMaker(_SharedCalculatorMixin, ForceFieldStaticMaker):
    """atomate2's forcefield single point with the model loaded once per process."""

    lpsflow_kind: ClassVar[Kind] = Kind("mlip_static")
    name: str = "MLIP static"


def optimizer_options(settings: CalculatorSettings) -> dict[str, Any]:
    """Keyword arguments of the ASE optimiser (its initial Hessian for (L)BFGS)."""
    if settings.optimizer in ("BFGS", "LBFGS"):
        return {"alpha": settings.hessian_guess}
    return {}


class MLIPBackend(Backend):
    """atomate2 forcefield makers for CHGNet or SevenNet."""

    name = "mlip"

    def _common(self) -> dict[str, Any]:
        s = self.settings
        return {
            "force_field_name": s.model,
            "calculator_kwargs": calculator_kwargs(s.model, s.device),
            # energies only per step: trajectories of 100+ atom cells bloat the store
            "ionic_step_data": ("energy",),
        }

    def relax_maker(
        self, phase: str, relax_cell: CellRelax = True, fmax: float | None = None
    ) -> MLIPRelaxMaker:
        """Relaxation to the campaign's force tolerance (or ``fmax``).

        ``relax_cell`` :data:`~lpsflow.calculators.base.NORMAL`: the cell filter's
        strain is masked to its zz component (Voigt ``[0, 0, 1, 0, 0, 0]``), so
        only c's length along z changes; a and b (in the xy plane) stay.
        """
        s = self.settings
        normal = relax_cell == NORMAL
        return MLIPRelaxMaker(
            name=f"relax {phase}",
            relax_cell=bool(relax_cell),
            steps=s.max_steps,
            relax_kwargs={
                **({"filter_kwargs": {"mask": list(ZZ_ONLY)}} if normal else {}),
                "fmax": fmax or s.fmax,
                # atomate2's array trajectory: cheaper per step than its default
                # pymatgen Trajectory (0.9 -> 0.7 s outside the model for 59 steps
                # of 126 atoms; with trajectory_fix no Structure per step)
                "use_emmet_models": True,
                "cell_filter": OnceFrechetCellFilter,
                **optimizer_options(s),
            },
            optimizer_kwargs={"optimizer": s.optimizer},
            perturb=(
                None
                if s.perturb_seed is None
                else (s.perturb_seed, s.perturb_amplitude)
            ),
            **self._common(),
        )

    def static_maker(self, phase: str) -> MLIPStaticMaker:
        """Single point."""
        return MLIPStaticMaker(name=f"static {phase}", **self._common())

    def describe(self) -> dict[str, Any]:
        """Model, version and tolerances."""
        from importlib.metadata import PackageNotFoundError, version

        s = self.settings
        try:
            pkg_version = version(MODEL_PACKAGES[s.model])
        except PackageNotFoundError:
            pkg_version = "not installed"
        return {
            "backend": "mlip",
            "model": s.model,
            "package_version": pkg_version,
            "fmax": s.fmax,
            "max_steps": s.max_steps,
            "optimizer": s.optimizer,
            **optimizer_options(s),
        }
