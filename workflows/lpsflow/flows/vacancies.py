"""Li chemical potential branch: mu_Li of the doped core and of Li7P3S11.

Roles, with ``<tag>`` = ``core:<accelerant>``, ``Li7P3S11`` or ``gb:<accelerant>``
(Li sites near the boundary of the accelerant's hetero GB):
``screen:vacancy:<tag>`` (distinct sites, single points), ``static:vacancy:<tag>:host``
(E_host of the same supercell), ``relax:vacancy:<tag>:<i>`` (lowest ``relax_top``
vacancies, cell fixed) and ``mu_li:<tag>`` (E_v and mu_Li = -min E_v).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.jobs.reactions import job_ref
from lpsflow.jobs.vacancies import chemical_potential_job, screen_vacancies

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.roles import Role


def add_chemical_potential(
    b,
    result: Role,
    label: str,
    phase: str,
    hosts: list[Job],
    li_bcc: Job,
    region: str = "bulk",
) -> Job:
    """Add the vacancy jobs of one phase to the builder ``b``; return the mu_Li job.

    ``result``: the role of the mu_Li job (:func:`lpsflow.roles.mu_li`);
    ``label``: the phase as the jobs name it. ``region="gb"``: ``hosts`` is the
    energy job of one GB and the sites are its Li within ``vacancies.gb_window`` of
    the boundary planes (role kind ``gb``).
    """
    cfg = b.c.vacancies
    calc = b.c.calculator
    words = result.tag.replace(":", " ")
    scr = b.add(
        screen_vacancies(
            label,
            [job_ref(j) for j in hosts],
            cfg.min_length,
            cfg.relax_top,
            model=calc.screening_model,
            device=calc.device,
            # called as lpsflow 0.1.0 did, so its stored ids stay adoptable
            **({"region": region, "window": cfg.gb_window} if region != "bulk" else {}),
        ),
        result.but(step="screen"),
        name=f"screen vacancies {words}",
    )
    host = b.add(
        b.backend.static_maker(phase).make(scr.output.host),
        result.but(step="static", part="host"),
        name=f"static vacancy host {words}",
    )
    # GB-site vacancies relax in the GB cell, to the GB relaxations' tolerance
    fmax = (b.c.grain_boundaries.fmax or cfg.fmax) if region == "gb" else cfg.fmax
    maker = b.backend.relax_maker(phase, relax_cell=False, fmax=fmax)
    defects = [
        b.add(
            maker.make(scr.output.selected[i]),
            result.but(step="relax", index=i),
            name=f"relax vacancy {words} #{i}",
        )
        for i in range(cfg.relax_top)
    ]
    return b.add(
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
