"""Li chemical potential branch: mu_Li of the doped core, Li7P3S11 and GB sites.

Roles, with ``<tag>`` = ``core:<accelerant>``, ``Li7P3S11`` or ``gb:<accelerant>``
(Li sites near the boundary of the accelerant's hetero GB):
``screen:vacancy:<tag>`` (distinct sites, single points), ``static:vacancy:<tag>:host``
(E_host of the same supercell), ``relax:vacancy:<tag>:<i>`` (lowest ``relax_top``
vacancies, cell fixed) and ``mu_li:<tag>`` (E_v and mu_Li = -min E_v).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobflow import Flow, Maker

from lpsflow.descriptors.mu_li.jobs import chemical_potential_job, screen_vacancies
from lpsflow.descriptors.reactions.jobs import job_ref
from lpsflow.flows.book import current_book

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.roles import Role


@dataclass
class ChemicalPotentialMaker(Maker):
    """mu_Li = -min E_v of one phase: vacancy screen, host, relaxations, mu_Li.

    Parameters
    ----------
    name
        Flow name.
    relax_maker
        Relaxation of the vacancy cells (cell fixed).
    static_maker
        Single point of the host supercell.
    min_length
        Shortest supercell length (A) of the vacancy cells.
    relax_top
        Distinct vacancies relaxed (lowest single points first).
    gb_window
        Distance (A) from a boundary plane within which GB sites count
        (``region="gb"``).
    screening_model, device
        MLIP of the single-point screen and where it runs.

    """

    name: str = "mu_Li"
    relax_maker: Maker | None = None
    static_maker: Maker | None = None
    min_length: float = 10.0
    relax_top: int = 2
    gb_window: float = 3.0
    screening_model: str = "CHGNet"
    device: str = "cpu"

    def make(
        self,
        result: Role,
        label: str,
        hosts: list[Job],
        li_bcc: Job,
        region: str = "bulk",
    ) -> Flow:
        """The jobs of one phase; the flow's output is the mu_Li job's.

        ``result``: the role of the mu_Li job (:func:`lpsflow.roles.mu_li`);
        ``label``: the phase as the jobs name it; ``hosts``: relaxations of the host
        (the lowest converged is used), or for ``region="gb"`` the energy job of one
        GB, whose Li sites within ``gb_window`` of the boundary planes are screened.
        """
        b = current_book()
        start = len(b.jobs)
        words = result.tag.replace(":", " ")
        scr = b.add(
            screen_vacancies(
                label,
                [job_ref(j) for j in hosts],
                self.min_length,
                self.relax_top,
                model=self.screening_model,
                device=self.device,
                # called as lpsflow 0.1.0 did, so its stored ids stay adoptable
                **(
                    {"region": region, "window": self.gb_window}
                    if region != "bulk"
                    else {}
                ),
            ),
            result.but(step="screen"),
            name=f"screen vacancies {words}",
        )
        host = b.add(
            self.static_maker.make(scr.output.host),
            result.but(step="static", part="host"),
            name=f"static vacancy host {words}",
        )
        defects = [
            b.add(
                self.relax_maker.make(scr.output.selected[i]),
                result.but(step="relax", index=i),
                name=f"relax vacancy {words} #{i}",
            )
            for i in range(self.relax_top)
        ]
        mu = b.add(
            chemical_potential_job(
                label,
                scr.output,
                job_ref(host),
                [job_ref(j) for j in defects],
                job_ref(li_bcc),
            ),
            result,
            name=f"mu_Li {words}",
            salt=False,
        )
        return b.flow_since(start, mu.output, f"{self.name} {words}")
