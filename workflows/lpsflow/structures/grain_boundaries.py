"""Periodic bicrystal grain-boundary (GB) cells of thiophosphates (SCIENCE.md item 6).

A GB cell here is a *periodic bicrystal*: a slab of grain A and a slab of grain B
stacked along the boundary normal **without vacuum**, so the cell holds two
boundaries (A below B, and B below the periodic image of A). Both slabs are the
checked polyhedral slabs of :mod:`lpsflow.structures.slabs` (stoichiometric, every
PS4 / P2S7 unit whole), cut to whole :func:`~lpsflow.structures.slab_geometry.layers`.

Misorientation and coincidence
------------------------------
Grain B is placed on grain A's in-plane coincidence cell. Candidate coincidence
cells come from pymatgen's :class:`~pymatgen.analysis.interfaces.zsl.ZSLGenerator`
(the matcher :func:`lpsflow.structures.lattice_match.match_interface` uses), each also
with grain B turned by 180 degrees about the normal (every 2D lattice maps onto
itself under that turn, which ZSL's reduced vectors do not list). A candidate maps
grain B's superlattice vectors onto grain A's; its rotation part (polar
decomposition of the in-plane map, with the height flipped when B is turned over)
is the orientation of grain B in the cell. The **misorientation** ``M`` is the
rotation taking grain A's orientation in the cell to grain B's, both referred to
their own slab frames (x along the slab's first in-plane vector, z along its
normal); for a homo GB both grains are the same slab, so ``M`` is the physical
misorientation. Without a flip, ``M`` is a pure **twist** about the normal by
``twist_angle``. It is recorded in every cell's ``properties`` (axis in cell
Cartesian coordinates, angle, matrix).

For a homo GB a candidate whose ``M`` is a point-group rotation of the bulk
(expressed in the slab frame) is no boundary at all (grain B is grain A moved) and is
skipped. Of the rest, the one with the smallest area (then strain) within
``max_strain`` is used, or the one closest to a requested ``twist``. ``Sigma`` is
reported as the coincidence area over grain A's primitive in-plane area (a near-CSL
index: Li7P3S11 is triclinic, so an exact CSL does not exist in general; the
residual misfit is reported as the von Mises Green-Lagrange strain of grain B).
No candidate raises ``StructureError("no CSL/coincidence within ...")``.

pymatgen's ``GrainBoundaryGenerator`` is not used: it refuses triclinic lattices and
for orthorhombic beta-Li3PS4 needs axial-ratio approximations and relabels axes
(FIELD-NOTES); the same twist construction serves all three GB kinds.

Stacking and overlaps
---------------------
Grain B is put on grain A with :func:`lpsflow.structures.interfaces.stack` (rigid
P-S units, lowered until the first pair reaches its contact distance,
:func:`~lpsflow.structures.interfaces.contact_distances` of the two bulks). The
second boundary is closed the same way: the cell height is the lowest one at which
the periodic image of grain A touches the top of grain B at contact distance. No
atom is removed or merged: the composition is exactly grain A + grain B, no pair is
closer than 1.5 A and the P-S units are those of the two grains (checked; a failed
check raises ``StructureError``). The two boundaries generally differ in registry;
a GB energy from such a cell is their mean. Rigid-body in-plane shifts of grain B
are sampled on a grid (fractions of grain A's primitive in-plane cell; the caller
evaluates all and keeps the lowest energy).

GB energy: ``gamma = (E_GB - sum_i n_i E_i) / (2 A)`` (two boundaries per cell);
for a hetero GB the sum runs over both bulk references (an interface energy that
includes the elastic energy of the strained grain B unless strained references are
used). See :func:`gb_energy` and :func:`cell_gb_energy`. The cell height from the
contact construction is a starting point: the campaign relaxes it with the atoms
(``relax_cell="normal"``), and :func:`cell_excess_volume` gives the excess volume
per area of the relaxed cell.

Quick settings (:data:`QUICK`, bundled cells, no relaxation):

* ``homo`` Li7P3S11 (010) / Li7P3S11 (010): 180-degree twist, Sigma 1 (149 A^2),
  0% strain, 2 + 2 layers: 168 atoms.
* ``core`` beta-Li3PS4 (100) / beta-Li3PS4 (100): 75.5-degree twist about [100],
  Sigma 8 (404 A^2, 2b+2c x -2b+2c), 1.5% strain, 1 + 1 layers: 256 atoms. The
  rectangular b x c net has no smaller non-symmetric coincidence: every ZSL match
  up to 300 A^2 (5% tolerances), 180-degree turns included, is a point-group
  rotation of Pnma (no boundary). (010) has none up to 320 A^2 and (001) no
  stoichiometric slab with whole PS4 units. A relaxed *doped* core is a few
  degrees and percent off that lattice (x = 1/4 cells: c +5%, angles 87-92
  degrees), so its smallest non-symmetric cell differs per accelerant (quick
  cores: Sigma 5-8, 264-414 A^2, 2-4.4% strain, hence the 5% limits); the
  undoped host's rotations (``parent``) decide what is no boundary there.
* ``hetero`` beta-Li3PS4 (100) / Li7P3S11 (010): 303 A^2 (Sigma 6 on the core),
  6.3% von Mises strain, 1 core layer (96 atoms) + 1 Li7P3S11 layer (84 atoms):
  180 atoms.

Cells carry the site properties ``grain`` (``A``/``B``) and ``layer`` (0 = bottom
layer of grain A), and ``properties["gb"]`` (match, misorientation, shift, atoms
per grain, and ``boundary_z``: the heights in A along the normal, which is the
cell's c axis, of the boundary below grain B and the one above it, each midway
between the facing grains; the second is usually at 0 = c, the cell edge).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from monty.json import MSONable
from pymatgen.core import Lattice, Structure

from lpsflow.errors import StructureError
from lpsflow.structures.gb_match import GBMatch, gb_match
from lpsflow.structures.lattice_match import (
    int_matrix,
)
from lpsflow.structures.slab_geometry import in_plane_area, min_distance, unit_counts
from lpsflow.structures.slabs import (
    MIN_DISTANCE,
    SlabCandidate,
    layered_slab,
    polyhedral_slabs,
)
from lpsflow.structures.stacking import (
    CONTACT_SCALE,
    contact_distances,
    film_base,
    shifts,
    stacks,
)


# -------------------------------------------------------------- construction
def _close_periodic(
    iface: Structure,
    contacts: dict[tuple[str, str], float],
    min_gap: float,
) -> tuple[Structure, list[float]]:
    """The interface without vacuum: the image of grain A at contact above B."""
    labels = np.array(iface.site_properties["interface_label"])
    is_a = labels == "substrate"
    c_old = float(iface.lattice.c)
    z = iface.frac_coords[:, 2] * c_old
    z = z - z[is_a].min()
    uv = iface.frac_coords[:, :2] % 1.0
    basis = np.array(iface.lattice.matrix[:2, :2])
    sym = [s.specie.symbol for s in iface]
    sym_a = [s for s, a in zip(sym, is_a, strict=True) if a]
    sym_b = [s for s, a in zip(sym, is_a, strict=True) if not a]
    top = film_base(  # grain A's image is the "film" resting on grain B
        uv[is_a], z[is_a], sym_a, uv[~is_a], z[~is_a], sym_b, basis, contacts, min_gap
    )
    gap2 = top - float(z[~is_a].max())
    offset = gap2 / 2
    frac = np.column_stack([uv, ((z + offset) / top) % 1.0])
    lattice = Lattice([[*basis[0], 0.0], [*basis[1], 0.0], [0.0, 0.0, top]])
    props = {
        "grain": ["A" if a else "B" for a in is_a],
        "layer": [int(x) for x in iface.site_properties["layer"]],
    }
    cell = Structure(lattice, iface.species, frac, site_properties=props)
    b1 = (float(z[is_a].max()) + float(z[~is_a].min())) / 2 + offset
    b2 = (float(z[~is_a].max()) + top) / 2 + offset
    return cell, [b1 % top, b2 % top]


@dataclass
class GBSet(MSONable):
    """GB cells of one grain pair and misorientation, one per rigid shift."""

    kind: str
    """``homo``, ``core``, ``hetero`` or a caller's label."""
    match: GBMatch
    cells: list[Structure]
    """One cell per in-plane shift of grain B (shift-grid order)."""
    settings: dict = field(default_factory=dict)

    def atom_counts(self) -> list[int]:
        """Atoms per cell."""
        return [len(c) for c in self.cells]


def _termination(
    bulk: Structure, miller: Sequence[int], counts: Sequence[int]
) -> SlabCandidate:
    """The first polyhedral termination whose grains of ``counts`` layers build.

    The first candidate nearly always does; on a relaxed cell whose layers a
    termination splits unevenly (a tiny displacement can), the next one is taken
    instead of failing.
    """
    candidates = polyhedral_slabs(bulk, miller)
    errors = []
    for cand in candidates:
        try:
            for n in sorted(set(counts)):
                layered_slab(bulk, cand, n, 10.0)
        except StructureError as exc:
            errors.append(str(exc))
            continue
        return cand
    raise StructureError(
        f"none of the {len(candidates)} terminations of "
        f"{bulk.composition.reduced_formula} {tuple(miller)} gives stoichiometric "
        f"grains of {' and '.join(map(str, sorted(set(counts))))} layer(s): "
        + errors[0]
    )


def build_grain_boundaries(
    bulk_a: Structure,
    miller_a: Sequence[int],
    bulk_b: Structure | None = None,
    miller_b: Sequence[int] | None = None,
    *,
    layers_a: int = 2,
    layers_b: int = 2,
    twist: float | None = None,
    flip: bool | None = False,
    angle_tol: float = 1.0,
    shift_grid: Sequence[tuple[float, float]] | None = None,
    max_area: float = 400.0,
    max_strain: float = 0.03,
    max_length_tol: float = 0.03,
    max_angle_tol: float = 0.01,
    max_area_ratio_tol: float = 0.09,
    contact_scale: float = CONTACT_SCALE,
    min_gap: float = 0.0,
    slab_a: SlabCandidate | None = None,
    slab_b: SlabCandidate | None = None,
    kind: str = "",
    parent: Structure | None = None,
) -> GBSet:
    """Periodic bicrystal GB cells: ``layers_a`` of grain A, ``layers_b`` of B.

    ``bulk_b``/``miller_b`` default to grain A's (homo GB). The coincidence cell
    and misorientation come from :func:`~lpsflow.structures.gb_match.gb_match`
    (``twist``, ``flip``, ``angle_tol`` and the tolerances are passed on).
    ``shift_grid`` (fractions of grain A's primitive in-plane cell) defaults to
    :func:`~lpsflow.structures.stacking.shifts` (2, 2). Terminations default to
    the first :func:`~lpsflow.structures.slabs.polyhedral_slabs` candidate that
    gives stoichiometric grains of the layer counts asked for.
    """
    homo = bulk_b is None
    bulk_b = bulk_a if bulk_b is None else bulk_b
    miller_b = tuple(miller_a) if miller_b is None else tuple(miller_b)
    counts_a = (layers_a, layers_b) if homo else (layers_a,)
    slab_a = slab_a or _termination(bulk_a, miller_a, counts_a)
    if slab_b is None:
        slab_b = slab_a if homo else _termination(bulk_b, miller_b, (layers_b,))
    gm = gb_match(
        bulk_a, miller_a, None if homo else bulk_b, None if homo else miller_b,
        twist=twist, flip=flip, angle_tol=angle_tol, max_area=max_area,
        max_strain=max_strain, max_length_tol=max_length_tol,
        max_angle_tol=max_angle_tol, max_area_ratio_tol=max_area_ratio_tol,
        slab_a=slab_a, slab_b=slab_b, parent=parent,
    )  # fmt: skip
    grain_a = layered_slab(bulk_a, slab_a, layers_a, 10.0)
    grain_b = layered_slab(bulk_b, slab_b, layers_b, 10.0)
    contacts = contact_distances(bulk_a, bulk_b, scale=contact_scale)
    grid = list(shift_grid) if shift_grid is not None else shifts(2, 2)
    ms = int_matrix(
        np.asarray(gm.match.substrate_vectors, float),
        np.asarray(grain_a.slab.scale_factor, float)[:2],
        "grain A",
    )
    to_cell = np.linalg.inv(ms)
    cell_shifts = [tuple((np.asarray(sh, float) @ to_cell) % 1.0) for sh in grid]
    stacked = stacks(
        grain_b, grain_a, gm.match, cell_shifts, fixed_layers=0, vacuum=10.0,
        contacts=contacts, min_gap=min_gap,
    )  # fmt: skip
    cells = []
    for sh, shift, iface in zip(grid, cell_shifts, stacked, strict=True):
        cell, planes = _close_periodic(iface, contacts, min_gap)
        labels = iface.site_properties["interface_label"]
        part_a = Structure.from_sites(
            [s for s, t in zip(iface, labels, strict=True) if t == "substrate"]
        )
        part_b = Structure.from_sites(
            [s for s, t in zip(iface, labels, strict=True) if t == "film"]
        )
        _check_cell(cell, part_a, part_b)
        cell.properties["gb"] = {
            "kind": kind,
            "shift": [float(x) for x in sh],
            "shift_cell": [float(x) for x in shift],
            "boundary_z": planes,
            "area": gm.match.area,
            "sigma": gm.sigma,
            "von_mises_strain": gm.match.von_mises_strain,
            "twist_angle": gm.twist_angle,
            "flipped": gm.flipped,
            "misorientation_axis": gm.misorientation_axis,
            "misorientation_angle": gm.misorientation_angle,
            "misorientation_matrix": gm.misorientation_matrix,
            "grain_a_formula": part_a.composition.formula,
            "grain_b_formula": part_b.composition.formula,
            "n_atoms_a": len(part_a),
            "n_atoms_b": len(part_b),
            "layers_a": layers_a,
            "layers_b": layers_b,
        }
        cells.append(cell)
    return GBSet(
        kind=kind,
        match=gm,
        cells=cells,
        settings={
            "miller_a": list(miller_a),
            "miller_b": list(miller_b),
            "layers_a": layers_a,
            "layers_b": layers_b,
            "twist": twist,
            "flip": flip,
            "shifts": [list(s) for s in grid],
            "max_area": max_area,
            "max_strain": max_strain,
            "contact_scale": contact_scale,
        },
    )


def _check_cell(cell: Structure, part_a: Structure, part_b: Structure) -> None:
    if cell.composition != part_a.composition + part_b.composition:
        raise StructureError("GB composition differs from grain A + grain B")
    if (d := min_distance(cell)) < MIN_DISTANCE:
        raise StructureError(f"GB cell has atoms {d:.2f} A apart (< {MIN_DISTANCE})")
    if unit_counts(cell) != unit_counts(part_a) + unit_counts(part_b):
        raise StructureError(
            "GB P-S units differ from grain A + grain B (a bond formed or broke "
            f"across a boundary): {dict(unit_counts(cell))}"
        )


def boundary_planes(cell: Structure) -> list[float]:
    """Heights (A along c) of the two boundaries, each midway across its gap.

    Read from the ``grain`` site property: on the periodic c axis grain A's and
    grain B's atoms form one run each, and each boundary lies midway between the
    last atom of one grain and the first of the other (the one below grain B
    first). Raises ``StructureError`` if the grains interleave along c.
    """
    grains = np.array(cell.site_properties.get("grain", []))
    if not len(grains):
        raise StructureError("cell has no 'grain' site property")
    z = cell.frac_coords[:, 2] % 1.0
    order = np.argsort(z)
    g, zs = grains[order], z[order]
    switches = [i for i in range(len(g)) if g[i] != g[i - 1]]
    if len(switches) != 2:
        raise StructureError("the grains interleave along c: no two boundaries")
    c = float(cell.lattice.matrix[2, 2])
    planes = {}
    for i in switches:
        gap = (zs[i] - zs[i - 1]) % 1.0
        planes[g[i]] = ((zs[i - 1] + gap / 2) % 1.0) * c
    return [float(planes["B"]), float(planes["A"])]


def same_units(cell: Structure, reference: Structure) -> bool:
    """``cell`` keeps ``reference``'s P-S units and no pair under 1.5 A."""
    return min_distance(cell) >= MIN_DISTANCE and unit_counts(cell) == unit_counts(
        reference
    )


def separate_grains(cell: Structure, delta: float) -> Structure:
    """``cell`` with each boundary opened by ``delta`` A (closed if negative).

    Grain B moves up by ``delta`` along the normal and the cell grows by
    ``2 delta``, so both boundaries widen alike and each grain stays rigid; the
    boundary planes are read anew. c must be normal to a and b (as in the cells
    :func:`build_grain_boundaries` makes).
    """
    m = np.array(cell.lattice.matrix)
    if not (np.allclose(m[:2, 2], 0.0) and np.allclose(m[2, :2], 0.0)):
        raise StructureError("separate_grains needs c normal to a and b")
    c = float(m[2, 2])
    below_b, below_a = boundary_planes(cell)
    centre_b = below_b + ((below_a - below_b) % c) / 2  # grain B's middle
    frac = cell.frac_coords.copy()
    frac[:, 2] = (frac[:, 2] - centre_b / c + 0.5) % 1.0  # B mid-cell, A at the edge
    cart = frac @ m
    is_b = np.array(cell.site_properties["grain"]) == "B"
    cart[is_b, 2] += delta
    cart[~is_b & (frac[:, 2] > 0.5), 2] += 2 * delta  # A's part above B
    m[2, 2] += 2 * delta
    out = Structure(
        Lattice(m), cell.species, cart, coords_are_cartesian=True,
        site_properties=cell.site_properties, properties=copy.deepcopy(cell.properties),
    )  # fmt: skip
    if "gb" in out.properties:
        out.properties["gb"]["boundary_z"] = boundary_planes(out)
    return out


# ------------------------------------------------------------- study settings
@dataclass(frozen=True)
class GBSettings:
    """Grain thicknesses, misorientation and matching tolerances of one GB kind."""

    layers_a: int
    layers_b: int
    twist: float | None = None
    flip: bool | None = False
    shift_grid: tuple[int, int] = (2, 2)
    max_area: float = 400.0
    max_strain: float = 0.03
    max_length_tol: float = 0.03
    max_angle_tol: float = 0.01
    max_area_ratio_tol: float = 0.09
    normal_step: float = 0.2
    """Step (A) of the rigid scan of the boundary separation (0: none)."""
    normal_max_steps: int = 8
    """Most steps the scan walks downhill from the contact separation."""


#: Cells for the quick campaign (atom counts in the module docstring).
QUICK: dict[str, GBSettings] = {
    "homo": GBSettings(layers_a=2, layers_b=2, twist=180.0),
    "core": GBSettings(
        layers_a=1, layers_b=1, max_area=420.0, max_strain=0.05,
        max_length_tol=0.05, max_angle_tol=0.05,
    ),
    "hetero": GBSettings(
        layers_a=1, layers_b=1, max_area=320.0, max_strain=0.07,
        max_length_tol=0.08, max_angle_tol=0.08, flip=None,
    ),
}  # fmt: skip


def build_with_settings(
    bulk_a: Structure,
    miller_a: Sequence[int],
    bulk_b: Structure | None,
    miller_b: Sequence[int] | None,
    settings: GBSettings | Mapping[str, Any],
    *,
    shift_grid: Sequence[tuple[float, float]] | None = None,
    kind: str = "",
    parent: Structure | None = None,
) -> GBSet:
    """:func:`build_grain_boundaries` with the fields of a :class:`GBSettings`.

    ``settings`` may be the dataclass or a dict of its fields (missing ones take the
    dataclass defaults); ``shift_grid`` defaults to the settings' ``(n_a, n_b)``
    grid through :func:`~lpsflow.structures.stacking.shifts`.
    """
    s = {**asdict(GBSettings(layers_a=1, layers_b=1)), **(
        asdict(settings) if isinstance(settings, GBSettings) else dict(settings)
    )}  # fmt: skip
    return build_grain_boundaries(
        bulk_a, miller_a, bulk_b, miller_b, layers_a=s["layers_a"],
        layers_b=s["layers_b"], twist=s["twist"], flip=s["flip"],
        shift_grid=shift_grid if shift_grid is not None else shifts(*s["shift_grid"]),
        max_area=s["max_area"], max_strain=s["max_strain"],
        max_length_tol=s["max_length_tol"], max_angle_tol=s["max_angle_tol"],
        max_area_ratio_tol=s["max_area_ratio_tol"], kind=kind, parent=parent,
    )  # fmt: skip


def study_grain_boundaries(
    core: Structure,
    li7p3s11: Structure,
    settings: dict[str, GBSettings] | None = None,
    core_miller: Sequence[int] = (1, 0, 0),
    li7_miller: Sequence[int] = (0, 1, 0),
    kinds: Sequence[str] = ("homo", "core", "hetero"),
) -> dict[str, GBSet]:
    """The study's GBs: Li7P3S11 homo, core/core and core/Li7P3S11 hetero."""
    settings = settings or QUICK
    out: dict[str, GBSet] = {}
    for kind in kinds:
        if kind == "homo":
            args: tuple = (li7p3s11, li7_miller, None, None)
        elif kind == "core":
            args = (core, core_miller, None, None)
        else:
            args = (core, core_miller, li7p3s11, li7_miller)
        out[kind] = build_with_settings(*args, settings[kind], kind=kind)
    return out


# ------------------------------------------------------------------- energies
def gb_energy(
    e_gb: float, references: Sequence[tuple[float, float]], area: float
) -> float:
    """GB (interface) energy ``(E_GB - sum_i n_i e_i) / (2 A)`` in eV/A^2.

    ``references`` lists ``(n_i, e_i)``: atoms of bulk i in the cell and that bulk's
    energy per atom (same calculator). A homo GB has one entry, a hetero GB two.
    The factor 2: a periodic bicrystal holds two boundaries.
    """
    if area <= 0:
        raise StructureError(f"GB area must be positive, not {area}")
    if not references:
        raise StructureError("a GB energy needs at least one bulk reference")
    return (e_gb - sum(n * e for n, e in references)) / (2 * area)


def cell_gb_energy(
    cell: Structure,
    e_gb: float,
    e_a_per_atom: float,
    e_b_per_atom: float | None = None,
) -> float:
    """:func:`gb_energy` of a cell from :func:`build_grain_boundaries`.

    Atoms are counted per grain from the ``grain`` site property; ``e_b_per_atom``
    defaults to grain A's (homo GB).
    """
    grains = Counter(cell.site_properties.get("grain", []))
    if not grains:
        raise StructureError("cell has no 'grain' site property")
    e_b = e_a_per_atom if e_b_per_atom is None else e_b_per_atom
    refs = [(grains["A"], e_a_per_atom), (grains["B"], e_b)]
    return gb_energy(e_gb, refs, in_plane_area(cell))


def cell_excess_volume(
    cell: Structure, v_a_per_atom: float, v_b_per_atom: float | None = None
) -> float:
    """GB excess volume per area, ``(V_GB - n_A v_A - n_B v_B) / (2 A)``, in A.

    The free volume the boundaries add (positive: the grains sit apart there),
    with the relaxed bulks' volumes per atom as references; the arithmetic of
    :func:`gb_energy` with volumes for energies. ``v_b_per_atom`` defaults to
    grain A's (homo GB). A strained grain B's elastic (Poisson) volume change is
    part of it, as its elastic energy is part of a hetero gamma.
    """
    grains = Counter(cell.site_properties.get("grain", []))
    if not grains:
        raise StructureError("cell has no 'grain' site property")
    v_b = v_a_per_atom if v_b_per_atom is None else v_b_per_atom
    refs = [(grains["A"], v_a_per_atom), (grains["B"], v_b)]
    return gb_energy(cell.volume, refs, in_plane_area(cell))
