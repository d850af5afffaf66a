"""Li vacancies: distinct Li sites, vacancy cells and mu_Li (SCIENCE.md item 7).

SCIENCE.md item 7: the Li-vacancy formation energy of a phase is

    E_v = E(defect) + mu_Li(bcc Li metal) - E(bulk)

for every symmetry-distinct Li site, with ``mu_Li(bcc Li metal)`` the energy per atom
of relaxed bcc Li (same calculator), and the phase's Li chemical potential is
``mu_Li = -E_v`` of the lowest E_v. The difference between Li7P3S11 and the core
sets the direction of carrier redistribution across the hetero-GB.

* Bulk: :func:`distinct_li_sites` (one representative per set of equivalent sites
  of pymatgen's :class:`~pymatgen.symmetry.analyzer.SpacegroupAnalyzer`).
* GB / interface cells (no useful symmetry): :func:`boundary_li_sites` keeps the Li
  within ``window`` (A, along the normal) of the boundary planes, one per local
  environment (sorted neighbour distances by element within :data:`FP_CUTOFF`,
  equal within ``fp_tol``), nearest the plane first, at most ``max_sites``.
* :func:`vacancy_cell` removes exactly one Li; :func:`vacancy_formation_energy` and
  :func:`li_chemical_potential` implement the two formulas above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from monty.json import MSONable
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from lpsflow.errors import StructureError

#: Radius (A) of the neighbour shell used as a local-environment fingerprint.
FP_CUTOFF = 4.0


@dataclass
class LiSite(MSONable):
    """One Li site chosen for a vacancy."""

    index: int
    """Site index in the host structure."""
    multiplicity: int = 1
    """Equivalent sites it stands for (bulk: symmetry; GB: same fingerprint)."""
    label: str = ""
    """Wyckoff label (bulk) or ``gb`` (near a boundary)."""
    distance_to_boundary: float | None = None
    """Distance (A) along the normal to the nearest boundary plane (GB cells)."""


def distinct_li_sites(
    bulk: Structure, species: str = "Li", symprec: float = 0.1
) -> list[LiSite]:
    """One :class:`LiSite` per set of symmetry-equivalent ``species`` sites."""
    sym = SpacegroupAnalyzer(bulk, symprec=symprec).get_symmetrized_structure()
    out = []
    for idx, wyck in zip(sym.equivalent_indices, sym.wyckoff_symbols, strict=True):
        if sym[idx[0]].species_string == species:
            out.append(LiSite(index=int(idx[0]), multiplicity=len(idx), label=wyck))
    if not out:
        raise StructureError(f"{bulk.composition.reduced_formula} has no {species}")
    return out


def boundary_planes(structure: Structure) -> list[float]:
    """Boundary plane heights (A along c) stored by the GB builder.

    Reads ``properties["gb"]["boundary_z"]``
    (:func:`lpsflow.structures.grain_boundaries.build_grain_boundaries`).
    """
    gb = structure.properties.get("gb") if structure.properties else None
    if not gb or "boundary_z" not in gb:
        raise StructureError(
            "structure carries no boundary planes (properties['gb']['boundary_z']); "
            "pass planes= explicitly"
        )
    return [float(z) for z in gb["boundary_z"]]


def distance_to_planes(structure: Structure, planes: Sequence[float]) -> np.ndarray:
    """Distance (A) of every site from the nearest plane, periodic along c.

    Heights are measured along the normal to the a-b plane; ``planes`` are heights
    (A) in the same sense, with c taken as periodic.
    """
    if not planes:
        raise StructureError("no boundary planes given")
    a, b, c = structure.lattice.matrix
    n = np.cross(a, b)
    n /= np.linalg.norm(n)
    period = float(c @ n)
    z = (structure.frac_coords[:, 2] % 1.0) * period
    d = np.abs(z[:, None] - np.asarray(planes, float)[None, :])
    d = np.minimum(d % period, period - d % period)
    return d.min(axis=1)


def site_fingerprint(structure: Structure, index: int, cutoff: float) -> dict:
    """Sorted neighbour distances of a site within ``cutoff``, by element."""
    nbrs = structure.get_neighbors(structure[index], cutoff)
    fp: dict[str, list[float]] = {}
    for nb in nbrs:
        fp.setdefault(nb.specie.symbol, []).append(float(nb.nn_distance))
    return {k: sorted(v) for k, v in fp.items()}


def same_fingerprint(a: dict, b: dict, tol: float) -> bool:
    """Two :func:`site_fingerprint` results agree within ``tol`` (A)."""
    if set(a) != set(b):
        return False
    return all(len(a[k]) == len(b[k]) and np.allclose(a[k], b[k], atol=tol) for k in a)


def boundary_li_sites(
    structure: Structure,
    window: float = 3.0,
    max_sites: int = 6,
    planes: Sequence[float] | None = None,
    *,
    species: str = "Li",
    distinct: bool = True,
    fp_tol: float = 0.1,
    fp_cutoff: float = FP_CUTOFF,
) -> list[LiSite]:
    """Li sites within ``window`` (A) of the boundary planes of a GB cell.

    ``planes`` default to :func:`boundary_planes`. With ``distinct``, sites whose
    neighbour shells agree within ``fp_tol`` (A) count once (their number is the
    multiplicity). Nearest the plane first; at most ``max_sites``. Raises
    :class:`StructureError` if no Li lies in the window.
    """
    planes = boundary_planes(structure) if planes is None else list(planes)
    dist = distance_to_planes(structure, planes)
    cand = [
        i
        for i in np.argsort(dist, kind="stable")
        if structure[int(i)].species_string == species and dist[i] <= window
    ]
    if not cand:
        raise StructureError(
            f"no {species} within {window:g} A of the boundary planes {planes}"
        )
    out: list[LiSite] = []
    fps: list[dict] = []
    for i in cand:
        i = int(i)
        if distinct:
            fp = site_fingerprint(structure, i, fp_cutoff)
            hit = next(
                (k for k, f in enumerate(fps) if same_fingerprint(fp, f, fp_tol)), None
            )
            if hit is not None:
                out[hit].multiplicity += 1
                continue
            fps.append(fp)
        out.append(LiSite(index=i, label="gb", distance_to_boundary=float(dist[i])))
    return out[:max_sites]


def vacancy_cell(structure: Structure, index: int, species: str = "Li") -> Structure:
    """Copy of ``structure`` without site ``index`` (which must be ``species``).

    The result has exactly one ``species`` atom fewer; ``properties["vacancy"]``
    records the removed site (index and fractional coordinates).
    """
    if not 0 <= index < len(structure):
        raise StructureError(f"site {index} is not in a {len(structure)}-site cell")
    site = structure[index]
    if site.species_string != species:
        raise StructureError(f"site {index} is {site.species_string}, not {species}")
    out = structure.copy()
    out.remove_sites([index])
    out.properties = {
        **(structure.properties or {}),
        "vacancy": {
            "index": int(index),
            "species": species,
            "frac_coords": [float(x) for x in site.frac_coords],
        },
    }
    return out


def vacancy_cells(
    structure: Structure, sites: Sequence[LiSite], species: str = "Li"
) -> list[Structure]:
    """:func:`vacancy_cell` for each site."""
    return [vacancy_cell(structure, s.index, species) for s in sites]


def vacancy_formation_energy(e_defect: float, e_host: float, mu_li_ref: float) -> float:
    """E_v = E(defect) + mu_Li(bcc Li) - E(host) in eV (SCIENCE.md item 7).

    ``e_defect`` and ``e_host`` are total energies (eV) of the cell with and without
    the vacancy; ``mu_li_ref`` the energy per atom of bcc Li metal, all from the same
    calculator.
    """
    return e_defect + mu_li_ref - e_host


def li_chemical_potential(formation_energies: Sequence[float]) -> float:
    """mu_Li = -E_v of the lowest E_v over a phase's Li sites (SCIENCE.md item 7).

    Measured from bcc Li (eV); the lower the E_v the higher the phase's mu_Li.
    """
    values = [float(e) for e in formation_energies if e is not None]
    if not values:
        raise StructureError("no vacancy formation energies to take mu_Li from")
    return -min(values)
