"""The embedded default backend: a machine-learned potential via atomate2 forcefields.

CHGNet ships its weights inside the wheel and runs offline; SevenNet (7net-0) is an
optional second model (``pip install lpsflow[sevennet]``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from atomate2.forcefields.jobs import ForceFieldRelaxMaker, ForceFieldStaticMaker

from lpsflow.calculators.base import Backend
from lpsflow.errors import ConfigError

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator

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


def _instrument(calc: Calculator) -> Calculator:
    """Count the calculator's evaluations and the time they take."""
    inner = calc.calculate

    def calculate(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            STATS.calls += 1
            STATS.seconds += time.perf_counter() - t0

    calc.calculate = calculate
    return calc


@cache
def _cached_calculator(model: str, device: str) -> Calculator:
    from importlib.util import find_spec

    from atomate2.forcefields.utils import ase_calculator

    if find_spec(MODEL_PACKAGES[model]) is None:
        raise ConfigError(
            f"the {model} model needs the '{MODEL_PACKAGES[model]}' package "
            f"(pip install lpsflow[{model.lower()}])"
        )
    return _instrument(ase_calculator(model, **calculator_kwargs(model, device)))


def mlip_calculator(model: str, device: str = "cpu") -> Calculator:
    """The model's ASE calculator, loaded once per process and device."""
    return _cached_calculator(model, device)


class _SharedCalculatorMixin:
    """Reuse one loaded model per process instead of one per job."""

    def _get_calculator(self) -> Calculator:
        kwargs = self.calculator_kwargs
        device = kwargs.get("use_device", kwargs.get("device", "cpu"))
        return mlip_calculator(str(self.force_field_name).split(".")[-1], device)


@dataclass
class MLIPRelaxMaker(_SharedCalculatorMixin, ForceFieldRelaxMaker):
    """atomate2's forcefield relaxation with the model loaded once per process."""

    name: str = "MLIP relax"


@dataclass
class MLIPStaticMaker(_SharedCalculatorMixin, ForceFieldStaticMaker):
    """atomate2's forcefield single point with the model loaded once per process."""

    name: str = "MLIP static"


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
        self, phase: str, relax_cell: bool = True, fmax: float | None = None
    ) -> MLIPRelaxMaker:
        """Relaxation to the campaign's force tolerance (or ``fmax``)."""
        s = self.settings
        return MLIPRelaxMaker(
            name=f"relax {phase}",
            relax_cell=relax_cell,
            steps=s.max_steps,
            relax_kwargs={"fmax": fmax or s.fmax},
            optimizer_kwargs={"optimizer": s.optimizer},
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
        }
