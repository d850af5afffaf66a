"""Solution energy: E_sol per dopant of the core, and its series over x."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lpsflow.descriptors.base import FAIL, NOT_COMPUTED, PASS, Verdict, missing, number
from lpsflow.descriptors.solution_energy.schema import CONDITIONS
from lpsflow.roles import Role, x_label

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext


def role(accelerant: str, scheme: str) -> Role:
    """The solution-energy job of one accelerant and scheme."""
    return Role("solution", accelerant, branch="core", scheme=scheme)


def columns(ctx: RowContext) -> dict[str, Any]:
    """E_sol (eV/dopant) of the core, under both conditions, and at each x.

    ``E_sol``: with Li3PS4 + Li7P3S11 setting the chemical potentials (the study's
    70:30 composition); ``E_sol_Li2S_rich``: with Li3PS4 + Li2S.
    """
    uuid, doc = ctx.job(role(ctx.accelerant, ctx.scheme))
    at_x = doc["energy_per_dopant"] if doc else {}
    head, other = CONDITIONS
    return {
        "E_sol": at_x.get(head),
        "E_sol_Li2S_rich": at_x.get(other),
        "E_sol_by_x": (
            {
                x_label(p["x"]): round(p["energy_per_dopant"][head], 4)
                for p in doc["points"]
            }
            if doc
            else None
        ),
        "job_solution": uuid,
    }


JOBS = {c: ("job_solution",) for c in ("E_sol", "E_sol_Li2S_rich", "E_sol_by_x")}


def dissolves(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """E_sol < 0: M lowers the energy by leaving its sulfide for Li3PS4."""
    e = number(row, "E_sol")
    if e is None:
        return None, "-", NOT_COMPUTED, missing(row, ["E_sol"])
    if e < 0:
        return (
            e,
            f"{e:+.3f}",
            PASS,
            f"E_sol = {e:+.3f} eV per dopant (Li3PS4 + Li7P3S11 fix mu_Li2S, "
            "mu_P2S5): the dopant enters Li3PS4 from its sulfide with an energy gain",
        )
    return (
        e,
        f"{e:+.3f}",
        FAIL,
        f"E_sol = {e:+.3f} eV per dopant (Li3PS4 + Li7P3S11 fix mu_Li2S, "
        "mu_P2S5): dissolving it in Li3PS4 costs energy",
    )
