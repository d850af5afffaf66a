"""Cheap single-point screening of dopant arrangements before full relaxations."""

from __future__ import annotations

import logging

from jobflow import job
from pydantic import BaseModel, Field
from pymatgen.core import Structure

from lpsflow.calculators.mlip import single_point_energies
from lpsflow.jobs.identity import kind
from lpsflow.structures.doping import Arrangement

logger = logging.getLogger(__name__)


class ScreenedArrangement(BaseModel):
    """One dopant/vacancy arrangement given a cheap single point."""

    rank: int = Field(..., description="Rank by single-point energy (0 = lowest).")
    arrangement: Arrangement = Field(
        ..., description="Sites of dopant, vacancies and extra Li in the supercell."
    )
    multiplicity: int = Field(..., description="Symmetry-equivalent arrangements.")
    ewald_energy: float | None = Field(
        None, description="Electrostatic energy with formal charges (eV), pre-screen."
    )
    energy: float = Field(..., description="Single-point energy (eV).")
    relative_energy: float = Field(
        ..., description="Energy above the lowest screened arrangement (meV/cell)."
    )


class DopingScreenDoc(BaseModel):
    """Dopant arrangements ranked by MLIP single points; the lowest go on to relax."""

    accelerant: str = Field(..., description="Accelerant formula, e.g. Al2S3.")
    scheme: str = Field(
        ..., description="Charge compensation: 'Li-site', 'empty-site' or 'P-site'."
    )
    x: float = Field(..., description="Dopant per PS4 formula unit.")
    supercell: tuple[int, int, int] = Field(..., description="Supercell of the host.")
    formula: str = Field(..., description="Formula of the doped cell.")
    n_distinct: int = Field(..., description="Symmetry-distinct arrangements found.")
    screening_model: str = Field(..., description="MLIP used for the single points.")
    candidates: list[ScreenedArrangement] = Field(
        ..., description="Screened arrangements, lowest energy first."
    )
    selected: list[Structure] = Field(
        ..., description="Unrelaxed structures of the lowest arrangements, to relax."
    )
    n_screened: int | None = Field(
        None, description="Arrangements given single points (best Ewald first)."
    )
    n_offered: int | None = Field(
        None, description="Arrangements the screen could take (its Ewald pool)."
    )
    lowest_found_at: int | None = Field(
        None,
        description="Arrangements screened when the last of the selected (lowest "
        "`keep`) appeared (1-based, in Ewald order).",
    )
    stable: bool | None = Field(
        None,
        description="The selected (lowest `keep`) did not change over the last "
        "`patience` batches (None: screened in one batch; False: the pool ran out "
        "first).",
    )


def single_point(structure: Structure, model: str, device: str) -> float:
    """MLIP energy of ``structure`` (eV), with the process-wide model."""
    return single_point_energies([structure], model, device)[0]


def single_points(structures: list[Structure], model: str, device: str) -> list[float]:
    """MLIP energies (eV) of ``structures`` (the model's forward pass only)."""
    return single_point_energies(structures, model, device)


@job
@kind("screen_arrangements")
def screen_arrangements(
    host: Structure,
    supercell: tuple[int, int, int],
    accelerant: str,
    cation: str,
    scheme: str,
    x: float,
    arrangements: list[Arrangement | dict],
    n_distinct: int,
    keep: int,
    model: str = "CHGNet",
    device: str = "cpu",
    batch: int = 0,
    patience: int = 0,
) -> DopingScreenDoc:
    """Single points on pre-ranked arrangements; return the lowest ``keep`` cells.

    With ``patience`` > 0 the arrangements are screened ``batch`` at a time in
    their (Ewald) order until the ``keep`` lowest single points (the ones relaxed)
    have stayed the same through ``patience`` further batches, or they run out;
    ``patience`` 0 screens them all at once.

    Parameters
    ----------
    host
        Relaxed host cell (same site order as the cell the arrangements index).
    supercell
        Diagonal supercell of ``host`` the arrangements refer to.
    arrangements
        Candidate arrangements (``Arrangement.as_dict()``), best Ewald energy first.
    n_distinct
        How many symmetry-distinct arrangements exist in all (for the record).
    keep
        How many of the lowest single points to return for relaxation.
    batch, patience
        Batch size and batches without a new lowest before stopping.

    """
    host_sc = host.copy()
    host_sc.make_supercell(list(supercell))
    # jobflow hands MSONable arguments back decoded; accept plain dicts too
    arrs = [
        a if isinstance(a, Arrangement) else Arrangement.from_dict(a)
        for a in arrangements
    ]
    if patience > 0 and batch > 0:
        cells, energies, found_at, stable = _screen_until_stable(
            arrs, host_sc, cation, model, device, batch, patience, keep
        )
        arrs = arrs[: len(cells)]
    else:
        cells = [a.apply(host_sc, cation) for a in arrs]
        energies = single_points(cells, model, device)
        found_at, stable = None, None
    order = sorted(range(len(arrs)), key=energies.__getitem__)
    e0 = energies[order[0]]
    candidates = [
        ScreenedArrangement(
            rank=rank,
            arrangement=arrs[i],
            multiplicity=arrs[i].multiplicity,
            ewald_energy=arrs[i].ewald_energy,
            energy=energies[i],
            relative_energy=1000 * (energies[i] - e0),
        )
        for rank, i in enumerate(order)
    ]
    return DopingScreenDoc(
        accelerant=accelerant,
        scheme=scheme,
        x=x,
        supercell=tuple(supercell),
        formula=cells[0].composition.formula.replace(" ", ""),
        n_distinct=n_distinct,
        screening_model=model,
        candidates=candidates,
        selected=[cells[i].get_sorted_structure() for i in order[:keep]],
        n_screened=len(arrs),
        n_offered=len(arrangements),
        lowest_found_at=found_at,
        stable=stable,
    )


def _screen_until_stable(
    arrs: list[Arrangement],
    host_sc: Structure,
    cation: str,
    model: str,
    device: str,
    batch: int,
    patience: int,
    keep: int,
) -> tuple[list[Structure], list[float], int, bool]:
    """Screen ``batch`` at a time until the ``keep`` lowest hold ``patience`` batches.

    Returns the cells screened, their energies, how many had been screened when
    the last of the final ``keep`` lowest appeared, and whether they held (False:
    the pool ran out first).
    """
    cells: list[Structure] = []
    energies: list[float] = []
    kept: set[int] = set()
    quiet = 0
    while len(cells) < len(arrs):
        start = len(cells)
        chunk = [a.apply(host_sc, cation) for a in arrs[start : start + batch]]
        cells += chunk
        energies += single_points(chunk, model, device)
        lowest = set(sorted(range(len(energies)), key=energies.__getitem__)[:keep])
        quiet = quiet + 1 if lowest == kept else 0
        kept = lowest
        if quiet >= patience:
            return cells, energies, max(kept) + 1, True
    return cells, energies, max(kept) + 1 if kept else 0, False
