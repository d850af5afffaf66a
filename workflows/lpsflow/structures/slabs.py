"""Slabs of thiophosphates that keep every PS4 / P2S7 unit whole.

:func:`polyhedral_slabs` enumerates the terminations of one (hkl) surface with
pymatgen's :class:`~pymatgen.core.surface.SlabGenerator`, in the cell setting of the
bulk it is given (the Miller indices refer to that cell: nothing is standardised or
reoriented first; the in-plane vectors are checked to lie in the (hkl) plane). The
candidate cut planes are SlabGenerator's own (for several clustering tolerances)
plus every gap between polyhedral units, so a bond-preserving cut is never missed.
A slab is kept when it

* has the bulk's reduced composition (stoichiometric),
* contains the bulk's polyhedral units in the bulk's proportions: every P keeps its
  S within :data:`BOND_CUTOFF` (PS4 and corner-sharing P2S7 stay whole). This is
  checked on the built slab, not left to ``SlabGenerator.get_slabs(bonds=...)``,
  which was seen to let a broken PS4 through for beta-Li3PS4 (100), and
* has no two atoms closer than :data:`MIN_DISTANCE`.

Symmetric slabs (a symmetry operation maps the top surface onto the bottom one) are
preferred: if any survive, only they are returned; otherwise the asymmetric ones come
back flagged ``symmetric=False``. The survivors are ordered by a cheap broken-bond
count (cation-S contacts lost per surface area), then by their dipole;
:func:`lowest_energy_slab` ranks them by the surface energy
``gamma = (E_slab - n E_bulk/atom) / (2 A)`` from an energy function the caller gives.

A *layer* (:func:`layers`) is the study's unit of slab thickness and of the fixed
bottom part of a substrate: the smallest charge-neutral block of whole polyhedral
units with the Li (and dopant) atoms lying among them. For beta-Li3PS4 (100) that is
half the a axis (6.6 A, two PS4 sheets, Li6P2S8 per bc cell); for Li7P3S11 (010) it
is one b repeat (5.9 A, 42 atoms per 149 A^2). :func:`fix_bottom_layers` marks the
bottom layers with ``selective_dynamics``, which VASP reads from the POSCAR and
pymatgen's ``AseAtomsAdaptor`` turns into ASE ``FixAtoms`` for the MLIP.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from monty.json import MSONable
from pymatgen.core import Structure
from pymatgen.core.surface import Slab, SlabGenerator

from lpsflow.errors import StructureError
from lpsflow.structures.slab_geometry import (
    BOND_CUTOFF,
    LAYER_TOL,
    broken_units,
    heights,
    in_plane_area,
    is_symmetric,
    layers,
    min_distance,
    normal_dipole,
    polyhedral_units,
    surface_normal,
    with_vacuum,
)

Miller = tuple[int, int, int]
EnergyFn = Callable[[Structure], float]

#: Shortest interatomic distance (A) a slab or interface may have.
MIN_DISTANCE = 1.5
#: Cation-S distance (A) counted as a contact by the broken-bond criterion.
CONTACT_CUTOFF = 3.0
#: SlabGenerator clustering tolerances (A) whose terminations are tried.
FTOLS = (0.05, 0.1, 0.2, 0.3)
#: eV/A^2 to J/m^2.
EV_PER_A2_TO_J_PER_M2 = 16.02176634


@dataclass
class SlabCandidate(MSONable):
    """One termination of an (hkl) surface that keeps all polyhedral units whole."""

    slab: Slab
    """The slab, c normal to the surface, vacuum above and below."""
    miller: Miller
    """Miller indices in the bulk cell it was cut from."""
    shift: float
    """SlabGenerator's termination shift (fractional c of its oriented unit cell)."""
    symmetric: bool
    """A symmetry operation of the slab maps its top surface onto its bottom one."""
    n_layers: int
    """Number of layers (:func:`layers`)."""
    area: float
    """In-plane area (A^2)."""
    broken_bonds: float
    """Cation-S contacts (< :data:`CONTACT_CUTOFF`) lost per A^2 of one surface."""
    dipole: float
    """Normal dipole per area with formal charges (e/A); 0 for symmetric slabs."""
    surface_energy: float | None = None
    """Surface energy (eV/A^2), once computed (:func:`lowest_energy_slab`)."""

    @property
    def label(self) -> str:
        """Short description, e.g. ``(0,1,0) shift 0.500 sym 2L 84 at``."""
        hkl = ",".join(str(i) for i in self.miller)
        sym = "sym" if self.symmetric else "asym"
        return (
            f"({hkl}) shift {self.shift:.3f} {sym} {self.n_layers}L {len(self.slab)} at"
        )


def _cation_s_contacts(structure: Structure) -> int:
    sym = np.array([s.specie.symbol for s in structure])
    cation = ~np.isin(sym, ["P", "S"])
    i, j, _, _ = structure.get_neighbor_list(CONTACT_CUTOFF)
    return int(np.sum(cation[i] & (sym[j] == "S")))


def _check_in_plane(slab: Slab, miller: Miller) -> None:
    """The slab's a and b must be bulk lattice vectors in the (hkl) plane."""
    sf = np.asarray(slab.scale_factor, dtype=float)
    if not np.allclose(sf[:2] @ np.asarray(miller, dtype=float), 0.0, atol=1e-6):
        raise StructureError(
            f"SlabGenerator reoriented the {miller} surface (in-plane vectors "
            f"{sf[:2].round(3).tolist()} in bulk units)"
        )


# ----------------------------------------------------------------- cut planes
def _unit_cut_shifts(ouc: Structure, cutoff: float) -> list[float]:
    """Fractional c of the midpoints of every gap between whole units."""
    f = ouc.frac_coords[:, 2]
    units = polyhedral_units(ouc, cutoff)
    i, j, img, _ = ouc.get_neighbor_list(cutoff)
    intervals: list[tuple[float, float]] = []
    in_unit: set[int] = set()
    for u in units:  # unwrap each unit from its lowest-index atom along the bonds
        pos = {u[0]: f[u[0]]}
        todo = [u[0]]
        members = set(u)
        while todo:
            a = todo.pop()
            for b, im in zip(j[i == a], img[i == a], strict=True):
                if b in members and b not in pos:
                    pos[b] = pos[a] + (f[b] + im[2] - f[a])
                    todo.append(b)
        z = np.array(list(pos.values()))
        intervals.append((float(z.min()), float(z.max())))
        in_unit |= members
    intervals += [
        (float(f[k]), float(f[k])) for k in range(len(ouc)) if k not in in_unit
    ]
    pts = []
    for lo, hi in intervals:
        lo_w = lo % 1.0
        pts.append((lo_w, lo_w + (hi - lo)))
    pts.sort()
    # merge circular occupied intervals, then take the midpoints of the gaps
    merged: list[list[float]] = []
    for lo, hi in pts:
        if merged and lo <= merged[-1][1] + 1e-9:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    shifts = []
    for k, (_, hi) in enumerate(merged):
        nxt = merged[(k + 1) % len(merged)][0] + (1.0 if k == len(merged) - 1 else 0.0)
        if nxt > hi + 1e-6:
            shifts.append(((hi + nxt) / 2) % 1.0)
    return shifts


def _dedup(values: list[float], tol: float = 1e-4) -> list[float]:
    out: list[float] = []
    for v in sorted(x % 1.0 for x in values):
        if not any(abs((v - w + 0.5) % 1.0 - 0.5) < tol for w in out):
            out.append(v)
    return out


# ------------------------------------------------------------------------ slabs
def _generator(
    bulk: Structure, miller: Miller, min_slab: float, min_vacuum: float
) -> SlabGenerator:
    return SlabGenerator(
        bulk,
        miller,
        min_slab_size=min_slab,
        min_vacuum_size=min_vacuum,
        center_slab=False,  # pymatgen's centring is slow; with_vacuum re-centres
        primitive=True,
        lll_reduce=False,
        reorient_lattice=True,
    )


def _assess(
    slab: Slab,
    bulk: Structure,
    miller: Miller,
    shift: float,
    cutoff: float,
    min_dist: float,
    symprec: float,
    bulk_contacts: float,
) -> SlabCandidate | str:
    """A candidate, or the reason the slab is rejected."""
    if slab.composition.reduced_composition != bulk.composition.reduced_composition:
        return f"non-stoichiometric ({slab.composition.reduced_formula})"
    if reason := broken_units(slab, bulk, cutoff):
        return f"cuts P-S bonds: {reason}"
    if (d := min_distance(slab)) < min_dist:
        return f"atoms {d:.2f} A apart"
    area = in_plane_area(slab)
    lost = bulk_contacts * len(slab) - _cation_s_contacts(slab)
    return SlabCandidate(
        slab=slab,
        miller=miller,
        shift=float(shift),
        symmetric=is_symmetric(slab, symprec),
        n_layers=len(layers(slab)),
        area=area,
        broken_bonds=float(lost / (2 * area)),
        dipole=normal_dipole(slab),
    )


def structure_key(structure: Structure) -> tuple:
    """A hashable key of a structure's lattice, species and coordinates (exact)."""
    return (
        np.asarray(structure.lattice.matrix, dtype=float).tobytes(),
        tuple(site.species_string for site in structure),
        np.asarray(structure.frac_coords, dtype=float).tobytes(),
    )


#: :func:`polyhedral_slabs` results of this process: interface and GB screens of
#: one campaign cut the same relaxed bulks (Li7P3S11 (010), each core (100)) again
#: and again, 0.5-1 s of SlabGenerator work each time.
_SLAB_CACHE: dict[tuple, list[SlabCandidate]] = {}


def copy_candidate(candidate: SlabCandidate) -> SlabCandidate:
    """The candidate with its own copy of the slab (callers may change theirs)."""
    return dataclasses.replace(candidate, slab=candidate.slab.copy())


def polyhedral_slabs(
    bulk: Structure,
    miller: Sequence[int] = (1, 0, 0),
    min_slab: float = 10.0,
    min_vacuum: float = 15.0,
    **kwargs: Any,
) -> list[SlabCandidate]:
    """:func:`cut_polyhedral_slabs`, remembered per process (copies returned)."""
    key = (
        structure_key(bulk),
        tuple(miller),
        min_slab,
        min_vacuum,
        tuple(sorted((k, str(v)) for k, v in kwargs.items())),
    )
    if key not in _SLAB_CACHE:
        _SLAB_CACHE[key] = cut_polyhedral_slabs(
            bulk, miller, min_slab, min_vacuum, **kwargs
        )
    return [copy_candidate(c) for c in _SLAB_CACHE[key]]


def cut_polyhedral_slabs(
    bulk: Structure,
    miller: Sequence[int] = (1, 0, 0),
    min_slab: float = 10.0,
    min_vacuum: float = 15.0,
    *,
    ftols: Sequence[float] = FTOLS,
    cutoff: float = BOND_CUTOFF,
    min_dist: float = MIN_DISTANCE,
    symprec: float = 0.1,
    keep_asymmetric: bool = False,
) -> list[SlabCandidate]:
    """Stoichiometric slabs of ``bulk`` (hkl) that keep all P-S units whole.

    Parameters
    ----------
    bulk
        Bulk cell; ``miller`` refers to this cell as given.
    miller
        Surface (hkl).
    min_slab, min_vacuum
        Minimum slab thickness and vacuum (A), as in SlabGenerator (the slab is a
        whole number of oriented-cell repeats).
    ftols
        SlabGenerator clustering tolerances whose terminations are tried, besides
        the gaps between polyhedral units.
    cutoff
        P-S bond length limit (A).
    min_dist
        Shortest interatomic distance allowed (A).
    symprec
        Symmetry tolerance for the symmetric-surface test.
    keep_asymmetric
        Return asymmetric slabs even when symmetric ones exist.

    Returns
    -------
    Candidates ordered by (asymmetric last, broken bonds per area, dipole).
    Raises :class:`StructureError` saying how many shifts were tried and why each
    kind was rejected if none survives.

    """
    hkl: Miller = tuple(int(x) for x in miller)  # type: ignore[assignment]
    if len(hkl) != 3 or not any(hkl):
        raise StructureError(f"Miller index {miller} is not three integers, not all 0")
    gen = _generator(bulk, hkl, min_slab, min_vacuum)
    shifts = [s for ft in ftols for s in gen.gen_possible_terminations(ftol=ft)]
    shifts = _dedup(shifts + _unit_cut_shifts(gen.oriented_unit_cell, cutoff))
    bulk_contacts = _cation_s_contacts(bulk) / len(bulk)
    kept: list[SlabCandidate] = []
    rejected: list[tuple[float, str]] = []
    seen: list[Slab] = []
    for shift in shifts:
        raw = gen.get_slab(shift=shift)
        _check_in_plane(raw, hkl)
        slab = _orthogonal(raw, min_vacuum)
        res = _assess(slab, bulk, hkl, shift, cutoff, min_dist, symprec, bulk_contacts)
        if isinstance(res, str):
            rejected.append((shift, res))
            continue
        if any(_same_slab(slab, s) for s in seen):
            continue
        seen.append(slab)
        kept.append(res)
    if not kept:
        raise StructureError(
            f"no usable {hkl} slab of {bulk.composition.reduced_formula} "
            f"(stoichiometric, P-S units whole, atoms >= {min_dist:g} A apart); "
            f"tried {len(shifts)} shifts (SlabGenerator ftols "
            f"{list(ftols)} and every gap between units): {_summary(rejected)}"
        )
    if not keep_asymmetric and any(c.symmetric for c in kept):
        kept = [c for c in kept if c.symmetric]
    return sorted(
        kept, key=lambda c: (not c.symmetric, round(c.broken_bonds, 6), c.dipole)
    )


def _summary(rejected: list[tuple[float, str]]) -> str:
    """Rejections grouped by kind, one example each."""
    groups: dict[str, list[tuple[float, str]]] = {}
    for shift, why in rejected:
        groups.setdefault(why.split(":")[0].split(" (")[0], []).append((shift, why))
    return "; ".join(
        f"{len(v)} {k} (e.g. shift {v[0][0]:.3f}: {v[0][1]})" for k, v in groups.items()
    )


def _same_slab(a: Structure, b: Structure) -> bool:
    if len(a) != len(b) or a.composition != b.composition:
        return False
    ha, hb = np.sort(heights(a)), np.sort(heights(b))
    return bool(np.allclose(ha, hb, atol=0.05)) and _same_species_heights(a, b)


def _same_species_heights(a: Structure, b: Structure) -> bool:
    for el in a.composition.elements:
        ha = np.sort(heights(a)[[s.specie == el for s in a]])
        hb = np.sort(heights(b)[[s.specie == el for s in b]])
        if not np.allclose(ha, hb, atol=0.05):
            return False
    return True


def layered_slab(
    bulk: Structure,
    candidate: SlabCandidate,
    n_layers: int,
    vacuum: float = 15.0,
    *,
    tol: float = LAYER_TOL,
    cutoff: float = BOND_CUTOFF,
    symprec: float = 0.1,
) -> SlabCandidate:
    """The ``candidate``'s termination with exactly ``n_layers`` layers.

    Builds enough oriented-cell repeats with the candidate's shift and keeps the
    bottom ``n_layers`` layers. Raises :class:`StructureError` if that block is not
    stoichiometric (e.g. an odd number of half-cell sheets of a doped cell).
    """
    if n_layers < 1:
        raise StructureError(f"a slab needs at least one layer, not {n_layers}")
    per_repeat, height = _repeat_layers(bulk, candidate, vacuum, tol, cutoff)
    repeats = math.ceil(n_layers / per_repeat)
    gen = _generator(bulk, candidate.miller, (repeats - 0.5) * height, vacuum)
    slab = _orthogonal(gen.get_slab(candidate.shift), vacuum)
    groups = layers(slab, tol, cutoff)
    if len(groups) < n_layers:
        raise StructureError(
            f"{candidate.label}: {repeats} repeats gave {len(groups)} layers, "
            f"fewer than {n_layers}"
        )
    keep = sorted(k for g in groups[:n_layers] for k in g)
    trimmed = with_vacuum(slab, keep, vacuum)
    bulk_contacts = _cation_s_contacts(bulk) / len(bulk)
    res = _assess(
        trimmed, bulk, candidate.miller, candidate.shift, cutoff, MIN_DISTANCE,
        symprec, bulk_contacts,
    )  # fmt: skip
    if isinstance(res, str):
        raise StructureError(
            f"{n_layers}-layer slab of {bulk.composition.reduced_formula} "
            f"{candidate.miller} (shift {candidate.shift:.3f}) is not usable: {res}"
        )
    return res


def layer_height(
    bulk: Structure,
    candidate: SlabCandidate,
    *,
    tol: float = LAYER_TOL,
    cutoff: float = BOND_CUTOFF,
) -> float:
    """Mean thickness (A) of one layer of ``bulk`` along the candidate's normal."""
    per_repeat, height = _repeat_layers(bulk, candidate, 15.0, tol, cutoff)
    return height / per_repeat


def _repeat_layers(
    bulk: Structure, candidate: SlabCandidate, vacuum: float, tol: float, cutoff: float
) -> tuple[int, float]:
    """Layers in one oriented repeat at the candidate's shift, and its height (A)."""
    probe = _generator(bulk, candidate.miller, 0.1, vacuum).get_slab(candidate.shift)
    per_repeat = len(layers(_orthogonal(probe, vacuum), tol, cutoff))
    ouc = probe.oriented_unit_cell
    return per_repeat, float(ouc.lattice.matrix[2] @ surface_normal(ouc))


def blocks_for(n_host: int, host_height: float, block_height: float) -> int:
    """Layers of a doped cell that make ``n_host`` layers of its undoped host.

    ``block_height`` and ``host_height`` are the thicknesses (A) of one layer of
    each (:func:`layer_height`). A layer of a doped cell is its thinnest neutral
    block (:func:`layers`), which follows where the dopant and its compensating
    vacancies or Li sit: for the x = 1/16 beta-Li3PS4 (100) cells of the 2026-11-27
    study-size run one host layer (half the a axis) for In2S3, a whole a axis (two
    host layers) for the lowest Al2S3, Ga2S3 and SiS2 arrangements, a third of the a
    axis for a P-site x = 1/4 cell. Counting thickness in host layers, rounded up to
    whole blocks (within 15 % of a block for relaxed heights), gives every
    accelerant's substrate the same thickness.
    """
    if n_host < 0 or host_height <= 0 or block_height <= 0:
        raise StructureError("layer counts and heights must be positive")
    if n_host == 0:
        return 0
    return max(1, math.ceil(n_host * host_height / block_height - 0.15))


def _orthogonal(raw: Slab, vacuum: float) -> Slab:
    """``raw`` with c along the normal, centred, ``vacuum`` (A) between images."""
    return with_vacuum(raw, range(len(raw)), vacuum)


# ------------------------------------------------------------------- energies
def surface_energy(slab: Structure, e_slab: float, e_bulk_per_atom: float) -> float:
    """Gamma = (E_slab - n E_bulk/atom) / (2 A) in eV/A^2 (mean of both faces)."""
    return (e_slab - len(slab) * e_bulk_per_atom) / (2 * in_plane_area(slab))


def lowest_energy_slab(
    slabs: Sequence[SlabCandidate],
    energy_fn: EnergyFn,
    bulk_energy_per_atom: float,
) -> SlabCandidate:
    """The candidate with the lowest surface energy (its ``surface_energy`` set).

    ``energy_fn`` returns the total energy (eV) of a structure (an MLIP single point
    or relaxation, supplied by the caller); ``bulk_energy_per_atom`` must come from
    the same calculator. Ties keep the cheap-criterion order.
    """
    if not slabs:
        raise StructureError("no slab candidates to rank")
    scored = [
        dataclasses.replace(
            c,
            surface_energy=surface_energy(
                c.slab, energy_fn(c.slab), bulk_energy_per_atom
            ),
        )
        for c in slabs
    ]
    return min(scored, key=lambda c: c.surface_energy)  # type: ignore[arg-type,return-value]
