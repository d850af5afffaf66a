"""Solution energy: E_sol per dopant of the core, and its series over x."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pymatgen.core import Composition

from lpsflow.descriptors import spread
from lpsflow.descriptors.base import (
    NOT_COMPUTED,
    UNDECIDED,
    Verdict,
    missing,
    number,
)
from lpsflow.descriptors.solution_energy.schema import CONDITIONS
from lpsflow.descriptors.spread import Sample, decide
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
    gap = _arrangements(ctx, doc)
    return {
        **Sample(at_x.get(head), gap.spread, gap.n).columns("E_sol"),
        **Sample(at_x.get(other), gap.spread, gap.n).columns("E_sol_Li2S_rich"),
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


def _arrangements(ctx: RowContext, doc: dict | None) -> Sample:
    """Gap (eV per dopant) between the lowest and next dopant arrangement at x.

    The arrangements are the core's relaxed cells (one composition,
    :func:`~lpsflow.descriptors.reactions.read.arrangements`): the references of
    E_sol are fixed, so the gap in cell energy per dopant is the gap in E_sol
    under either condition.
    """
    from lpsflow.descriptors.reactions.read import arrangements

    if not doc:
        return spread.NONE
    point = next((p for p in doc["points"] if abs(p["x"] - doc["x"]) < 1e-9), None)
    cells = arrangements(ctx)
    if point is None or cells.value is None:
        return spread.NONE
    atoms_per_dopant = Composition(point["formula"]).num_atoms / point["n_dopants"]
    return Sample(None, cells.spread, cells.n).scaled(atoms_per_dopant)


JOBS = {
    f"{c}{s}": ("job_solution",)
    for c in ("E_sol", "E_sol_Li2S_rich")
    for s in ("", "_spread", "_samples")
} | {"E_sol_by_x": ("job_solution",)}


def dissolves(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """E_sol < 0 with either phase beside Li3PS4 (pass), > 0 with both (fail).

    Where the sign depends on the sample (Li7P3S11 or Li2S beside the core), the
    verdict is undecided: the campaign cannot say which sample it is; so it is
    where the E_sol nearer zero lies inside the spread of the arrangements. The
    value is the headline E_sol, which also orders rows of equal score.
    """
    cols = ["E_sol", "E_sol_Li2S_rich"]
    e, rich = number(row, cols[0]), number(row, cols[1])
    if e is None or rich is None:
        return None, "-", NOT_COMPUTED, missing(row, cols)
    both = f"E_sol = {e:+.3f} eV per dopant beside Li7P3S11, {rich:+.3f} eV beside Li2S"
    if (e < 0) != (rich < 0):
        where = "Li2S-poor" if e < 0 else "Li2S-rich"
        return (
            e,
            f"{e:+.3f}",
            UNDECIDED,
            f"{both}: it dissolves only in a {where} sample, which the campaign does "
            "not fix (the sign follows the Li2S the scheme exchanges, not the dopant)",
        )
    ok = e < 0
    nearer = max(e, rich) if ok else min(e, rich)
    status, reason = decide(
        ok,
        nearer,
        row,
        [cols[0] if nearer == e else cols[1]],
        both
        + (
            ": the dopant enters Li3PS4 either way"
            if ok
            else ": it stays in its sulfide either way"
        ),
        more="doping.relax_top relaxes more arrangements",
    )
    return e, f"{e:+.3f}", status, reason
