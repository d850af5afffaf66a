"""Solution energy: E_sol per dopant of the core, and its series over x."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lpsflow.descriptors.base import (
    FAIL,
    NOT_COMPUTED,
    PASS,
    UNDECIDED,
    Verdict,
    missing,
    number,
)
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
    """E_sol < 0 with either phase beside Li3PS4 (pass), > 0 with both (fail).

    Where the sign depends on the sample (Li7P3S11 or Li2S beside the core), the
    verdict is undecided: the campaign cannot say which sample it is. The value is
    the headline E_sol, which also orders rows of equal score.
    """
    e, rich = number(row, "E_sol"), number(row, "E_sol_Li2S_rich")
    if e is None or rich is None:
        return None, "-", NOT_COMPUTED, missing(row, ["E_sol", "E_sol_Li2S_rich"])
    both = f"E_sol = {e:+.3f} eV per dopant beside Li7P3S11, {rich:+.3f} eV beside Li2S"
    if e < 0 and rich < 0:
        return e, f"{e:+.3f}", PASS, f"{both}: the dopant enters Li3PS4 either way"
    if e > 0 and rich > 0:
        return e, f"{e:+.3f}", FAIL, f"{both}: it stays in its sulfide either way"
    where = "Li2S-poor" if e < 0 else "Li2S-rich"
    return (
        e,
        f"{e:+.3f}",
        UNDECIDED,
        f"{both}: it dissolves only in a {where} sample, which the campaign does "
        "not fix (the sign follows the Li2S the scheme exchanges, not the dopant)",
    )
