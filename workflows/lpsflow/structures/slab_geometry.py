"""Geometry of a slab or any layered cell: heights, layers and polyhedral units.

Bond-connected PS4 / cation-S units, layers along the surface normal (the units
they hold, their formal charge), fixed bottom layers, symmetry and dipole checks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Composition, Element, Structure
from pymatgen.core.surface import Slab
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lpsflow.errors import StructureError

#: Largest P-S distance (A) counted as a bond of a PS4 / P2S7 unit.
BOND_CUTOFF = 2.3


#: Height difference (A) below which :func:`layers` never separates two free atoms.
LAYER_TOL = 0.1


#: Formal charges used to find charge-neutral layers (others: highest common state).
FORMAL_CHARGES: dict[str, int] = {
    "Li": 1, "Na": 1, "P": 5, "S": -2, "O": -2, "Se": -2, "Cl": -1, "Br": -1,
    "I": -1, "Al": 3, "Ga": 3, "In": 3, "B": 3, "Si": 4, "Ge": 4, "Sn": 4,
}  # fmt: skip


# ----------------------------------------------------------------------- geometry
def surface_normal(structure: Structure) -> np.ndarray:
    """Unit vector along a x b (the slab normal)."""
    a, b, _ = structure.lattice.matrix
    n = np.cross(a, b)
    return n / np.linalg.norm(n)


def heights(structure: Structure) -> np.ndarray:
    """Height (A) of every atom along the normal, unwrapped across the vacuum.

    The cell is cut at the widest empty gap along c, so a slab that straddles the
    periodic boundary comes out in one piece; the lowest atom is at height 0.
    """
    f = structure.frac_coords[:, 2] % 1.0
    order = np.sort(f)
    gaps = np.diff(np.append(order, order[0] + 1.0))
    start = order[(int(np.argmax(gaps)) + 1) % len(order)]
    f = (f - start) % 1.0
    f[f > 1.0 - 1e-9] = 0.0
    c_normal = float(structure.lattice.matrix[2] @ surface_normal(structure))
    h = f * c_normal
    return h - h.min()


def min_distance(structure: Structure, search: float = 3.0) -> float:
    """Shortest interatomic distance (A), periodic images included (inf if > search)."""
    _, _, _, d = structure.get_neighbor_list(search)
    d = d[d > 1e-8]
    return float(d.min()) if len(d) else math.inf


def in_plane_area(structure: Structure) -> float:
    """Area (A^2) of the a-b face."""
    a, b, _ = structure.lattice.matrix
    return float(np.linalg.norm(np.cross(a, b)))


# -------------------------------------------------------------------- polyhedra
def polyhedral_units(
    structure: Structure,
    cutoff: float = BOND_CUTOFF,
    centers: Sequence[str] = ("P",),
    ligands: Sequence[str] = ("S",),
) -> list[list[int]]:
    """Site indices of each polyhedral unit (connected P-S bonds), sorted.

    PS4 tetrahedra are one unit each; two PS4 sharing a corner S form one P2S7
    unit. Atoms bonded to no centre (Li, dopants on Li sites, free S) are in none.
    """
    sym = np.array([s.specie.symbol for s in structure])
    is_c, is_l = np.isin(sym, centers), np.isin(sym, ligands)
    i, j, _, _ = structure.get_neighbor_list(cutoff)
    keep = (is_c[i] & is_l[j]) | (is_l[i] & is_c[j])
    n = len(structure)
    graph = coo_matrix((np.ones(keep.sum()), (i[keep], j[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    units: dict[int, list[int]] = {}
    for idx in np.flatnonzero(is_c):
        units.setdefault(int(labels[idx]), [])
    for idx, lab in enumerate(labels):
        if int(lab) in units:
            units[int(lab)].append(idx)
    return sorted(units.values())


def unit_counts(
    structure: Structure, cutoff: float = BOND_CUTOFF, ligands: Sequence[str] = ("S",)
) -> Counter[str]:
    """How many units of each formula (``PS4``, ``P2S7``; ``S`` for a free S)."""
    units = polyhedral_units(structure, cutoff, ligands=ligands)
    counts = Counter(
        Composition("".join(structure[k].specie.symbol for k in u)).formula.replace(
            " ", ""
        )
        for u in units
    )
    bonded = {k for u in units for k in u}
    for idx, site in enumerate(structure):
        if site.specie.symbol in ligands and idx not in bonded:
            counts[site.specie.symbol] += 1
    return counts


def broken_units(
    structure: Structure, bulk: Structure, cutoff: float = BOND_CUTOFF
) -> str | None:
    """Why ``structure`` does not hold ``bulk``'s units in ``bulk``'s proportions.

    Returns ``None`` when every unit type occurs in the same ratio to P as in the
    bulk (so no P-S bond is cut and none formed), else a short reason.
    """
    got, ref = unit_counts(structure, cutoff), unit_counts(bulk, cutoff)
    n_p, n_p_ref = structure.composition["P"], bulk.composition["P"]
    if n_p == 0 or n_p_ref == 0:
        return None if got == ref else f"units {dict(got)} vs bulk {dict(ref)}"
    for key in set(got) | set(ref):
        if not math.isclose(got[key] * n_p_ref, ref[key] * n_p, abs_tol=1e-6):
            return (
                f"units {dict(sorted(got.items()))} (bulk {dict(sorted(ref.items()))})"
            )
    return None


# ------------------------------------------------------------------------ layers
def formal_charge(symbol: str, charges: dict[str, float] | None = None) -> float:
    """Formal charge used for layer neutrality."""
    if charges and symbol in charges:
        return charges[symbol]
    if symbol in FORMAL_CHARGES:
        return FORMAL_CHARGES[symbol]
    states = Element(symbol).common_oxidation_states
    if not states:
        raise StructureError(f"no formal charge known for {symbol}; pass charges=")
    return max(states)


def layers(
    structure: Structure,
    tol: float = LAYER_TOL,
    cutoff: float = BOND_CUTOFF,
    charges: dict[str, float] | None = None,
) -> list[list[int]]:
    """Group the atoms of a slab into layers along the normal, bottom first.

    Polyhedral units are never split: units whose height ranges overlap form one
    slice with the atoms between them; other atoms (Li, dopants) form slices of their
    own, those within ``tol`` (A) in height together. Slices are accumulated from the
    bottom and a layer closes as soon as it is charge neutral (formal charges). So
    a layer is the thinnest neutral block of whole units together with the Li
    between them. Non-neutral leftovers at the top join the top layer. In a doped
    cell a dopant and its vacancies may fall in different sheets; the two sheets
    then form one layer.
    """
    h = heights(structure)
    units = polyhedral_units(structure, cutoff)
    in_unit = {k for u in units for k in u}
    blocks = [(float(h[u].min()), float(h[u].max()), list(u), False) for u in units]
    blocks += [
        (float(h[k]), float(h[k]), [k], True) for k in range(len(h)) if k not in in_unit
    ]
    blocks.sort(key=lambda b: (b[0], b[1]))
    slices: list[list[int]] = []
    top, top_free = -math.inf, False
    for lo, hi, idx, free in blocks:
        if slices and (lo <= top or (free and top_free and lo - top <= tol)):
            slices[-1].extend(idx)
            if hi >= top:
                top, top_free = hi, free
        else:
            slices.append(list(idx))
            top, top_free = hi, free
    q = np.array([formal_charge(s.specie.symbol, charges) for s in structure])
    out: list[list[int]] = []
    current: list[int] = []
    for idx in slices:
        current.extend(idx)
        if abs(q[current].sum()) < 1e-6:
            out.append(sorted(current))
            current = []
    if current:
        if out:
            out[-1] = sorted(out[-1] + current)
        else:
            out.append(sorted(current))
    return out


def fix_bottom_layers(
    structure: Structure, n: int, tol: float = LAYER_TOL
) -> Structure:
    """Copy of ``structure`` whose bottom ``n`` layers are fixed.

    Sets the ``selective_dynamics`` site property (``[False]*3`` fixed, ``[True]*3``
    free), which VASP reads from the POSCAR and ``AseAtomsAdaptor.get_atoms`` maps
    to an ASE ``FixAtoms`` constraint. Layers come from the integer ``layer`` site
    property when present (cells from :mod:`lpsflow.structures.interfaces` carry
    it), else from :func:`layers`.
    """
    if n < 0:
        raise StructureError(f"cannot fix {n} layers")
    if "layer" in structure.site_properties:
        lab = np.asarray(structure.site_properties["layer"], dtype=int)
        groups = [list(np.flatnonzero(lab == k)) for k in sorted(set(lab.tolist()))]
    else:
        groups = layers(structure, tol)
    if n > len(groups):
        raise StructureError(
            f"cannot fix {n} bottom layers: the structure has only {len(groups)}"
        )
    fixed = {int(k) for g in groups[:n] for k in g}
    out = structure.copy()
    out.add_site_property(
        "selective_dynamics",
        [[k not in fixed] * 3 for k in range(len(out))],
    )
    return out


def fixed_indices(structure: Structure) -> list[int]:
    """Indices of the atoms whose ``selective_dynamics`` are all False."""
    sd = structure.site_properties.get("selective_dynamics")
    if sd is None:
        return []
    return [k for k, flags in enumerate(sd) if not any(flags)]


# -------------------------------------------------------------------- slab checks
def is_symmetric(structure: Structure, symprec: float = 0.1) -> bool:
    """Whether a symmetry operation of the slab flips its normal."""
    n = surface_normal(structure)
    try:
        ops = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_operations(
            cartesian=True
        )
    except Exception:  # spglib fails on some distorted cells: treat as asymmetric
        return False
    return any(float(n @ op.rotation_matrix @ n) < -0.5 for op in ops)


def normal_dipole(
    structure: Structure, charges: dict[str, float] | None = None
) -> float:
    """|sum q z| / A with formal charges about the slab centre (e/A)."""
    h = heights(structure)
    q = np.array([formal_charge(s.specie.symbol, charges) for s in structure])
    return float(abs(q @ (h - h.mean())) / in_plane_area(structure))


def with_vacuum(slab: Slab, keep: Sequence[int], vacuum: float) -> Slab:
    """Sub-slab of the sites ``keep``, re-centred with ``vacuum`` (A) of c gap."""
    keep = list(keep)
    h = heights(slab)[keep]
    a, b, _ = slab.lattice.matrix
    n = surface_normal(slab)
    c_len = float(h.max() - h.min()) + vacuum
    cart = slab.cart_coords[keep]
    in_plane = cart - np.outer(cart @ n, n)
    frac = np.zeros((len(keep), 3))
    frac[:, :2] = np.linalg.lstsq(np.array([a, b]).T, in_plane.T, rcond=None)[0].T % 1.0
    frac[:, 2] = (h - h.min() + vacuum / 2) / c_len
    lattice = np.array([a, b, n * c_len])
    props = {k: [v[i] for i in keep] for k, v in slab.site_properties.items()}
    return Slab(
        lattice,
        [slab[i].species for i in keep],
        frac,
        slab.miller_index,
        slab.oriented_unit_cell,
        slab.shift,
        slab.scale_factor,
        reorient_lattice=False,
        site_properties=props or None,
    )
