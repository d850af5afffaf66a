"""Surface energy of one plane: screen the terminations, relax the best, gamma.

Roles (``<hkl>`` as ``010``): ``screen:surface:<hkl>:<phase>`` (terminations by
single points), ``relax:surface:<hkl>:<phase>`` (the chosen slab, cell fixed) and
``surface:<hkl>:<phase>`` (gamma).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobflow import Flow, Maker, OutputReference

from lpsflow import roles
from lpsflow.descriptors.reactions.jobs import job_ref
from lpsflow.descriptors.surfaces.jobs import screen_surface, surface_energy_job
from lpsflow.flows.book import current_book

if TYPE_CHECKING:
    from jobflow import Job


@dataclass
class SurfaceEnergyMaker(Maker):
    """Surface energy of one (hkl) plane of a relaxed bulk.

    Parameters
    ----------
    name
        Flow name.
    miller
        The plane (hkl) of the bulk cell as given.
    min_slab
        Slab thickness (A).
    relax_maker
        Relaxation of the slab (cell fixed).
    screening_model, device
        MLIP of the termination screen and where it runs.

    """

    name: str = "surface energy"
    miller: tuple[int, int, int] = (0, 1, 0)
    min_slab: float = 10.0
    relax_maker: Maker | None = None
    screening_model: str = "CHGNet"
    device: str = "cpu"

    def make(self, phase: str, bulk: list[Job | OutputReference]) -> Flow:
        """Screen, relax and energy jobs of ``phase``'s relaxed ``bulk`` jobs."""
        b = current_book()
        start = len(b.jobs)
        result = roles.surface(self.miller, phase)
        refs = [job_ref(j) for j in bulk]
        hkl = roles.miller_label(self.miller)
        scr = b.add(
            screen_surface(
                refs, tuple(self.miller), self.min_slab,
                model=self.screening_model, device=self.device,
            ),
            result.but(step="screen"),
            name=f"screen surface {phase} ({hkl})",
        )  # fmt: skip
        relax = b.add(
            self.relax_maker.make(scr.output.slab),
            result.but(step="relax"),
            name=f"relax surface {phase} ({hkl})",
        )
        energy = b.add(
            surface_energy_job(scr.output, job_ref(relax), refs),
            result,
            name=f"surface energy {phase} ({hkl})",
            salt=False,
        )
        return b.flow_since(start, energy.output, f"{self.name} {phase} ({hkl})")
