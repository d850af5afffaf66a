"""The interface every calculator backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jobflow import Maker

    from lpsflow.campaign import CalculatorSettings

#: Phase classes with their own label in results (and, for VASP, a k-mesh override
#: key). Any other phase name is treated as a generic bulk phase.
DOPED_CORE = "doped_core"
GRAIN_BOUNDARY = "gb"
#: Slabs and interfaces, with vacuum along c (VASP: dipole correction along c).
INTERFACE = "interface"
#: ``relax_cell`` value: relax only the cell's length along c, the normal of the
#: a-b plane (a and b lie in the xy plane and stay as they are). A periodic
#: bicrystal's excess volume relaxes this way; its in-plane coincidence cell not.
NORMAL = "normal"
#: What of the cell a relaxation changes: nothing, everything, or :data:`NORMAL`.
CellRelax = bool | Literal["normal"]


class Backend(ABC):
    """Creates atomate2 makers for one calculator with the campaign's settings.

    Parameters
    ----------
    settings
        The campaign's calculator settings.

    """

    name: str = "abstract"

    def __init__(self, settings: CalculatorSettings) -> None:
        self.settings = settings

    @abstractmethod
    def relax_maker(
        self, phase: str, relax_cell: CellRelax = True, fmax: float | None = None
    ) -> Maker:
        """A maker whose ``make(structure)`` relaxes ``structure``.

        Parameters
        ----------
        phase
            What is relaxed: a phase name (``Li7P3S11``, ``Li2S``, ...) or one of the
            classes :data:`DOPED_CORE` / :data:`GRAIN_BOUNDARY`. VASP picks its
            k-mesh from it.
        relax_cell
            Relax the cell as well as the positions (:data:`NORMAL`: only the
            length along c, which must be normal to a and b).
        fmax
            Force tolerance (eV/A) replacing the campaign's ``calculator.fmax``.

        """

    @abstractmethod
    def static_maker(self, phase: str) -> Maker:
        """A maker whose ``make(structure)`` computes a single point."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Calculator settings that identify the numbers (shown with every result)."""

    def neb_makers(
        self,
        phase: str,
        fmax: float,
        max_steps: int,
        endpoint_fmax: float | None = None,
    ) -> tuple[Maker, Maker] | None:
        """Endpoint-relaxation and NEB makers, a calculator job each.

        ``None`` (this default): the whole NEB runs in one job on the backend's
        in-process calculator (:func:`lpsflow.descriptors.migration.jobs.neb_hop_job`).
        """
        return None

    def label(self) -> str:
        """Short label, e.g. ``mlip:CHGNet`` or ``vasp:PBE``."""
        d = self.describe()
        return f"{d['backend']}:{d.get('model', '')}"
