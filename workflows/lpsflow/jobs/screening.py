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
        description="Arrangements screened when the final lowest appeared "
        "(1-based, in Ewald order).",
    )
    stable: bool | None = Field(
        None,
        description="The lowest did not change over the last `patience` batches "
        "(None: screened in one batch; False: the pool ran out first).",
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
    their (Ewald) order until the lowest single point has stayed the same through
    ``patience`` further batches, or they run out; ``patience`` 0 screens them all
    at once.

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
            arrs, host_sc, cation, model, device, batch, patience
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
) -> tuple[list[Structure], list[float], int, bool]:
    """Screen ``batch`` at a time until the lowest holds for ``patience`` batches.

    Returns the cells screened, their energies, how many had been screened when
    the final lowest appeared, and whether it held (not the pool running out).
    """
    cells: list[Structure] = []
    energies: list[float] = []
    best, found_at, quiet = None, 0, 0
    while len(cells) < len(arrs):
        start = len(cells)
        chunk = [a.apply(host_sc, cation) for a in arrs[start : start + batch]]
        chunk_e = single_points(chunk, model, device)
        cells += chunk
        energies += chunk_e
        low = min(range(len(energies)), key=energies.__getitem__)
        if low != best:
            best, found_at, quiet = low, low + 1, 0
        else:
            quiet += 1
        if quiet >= patience:
            return cells, energies, found_at, True
    return cells, energies, found_at, False
