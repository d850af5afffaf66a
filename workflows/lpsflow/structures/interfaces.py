"""Lattice-matched film/substrate cells for heterogeneous-nucleation binding energies.

The study compares n layers of Li7P3S11(010) bound to the doped core's (100)
surface (hetero) with the same film on Li7P3S11(010) (homo):
``E_bind(n) = (E_interface - E_film - E_substrate) / A``.

* :func:`~lpsflow.structures.lattice_match.match_interface` finds the coincidence
  cell with pymatgen's
  :class:`~pymatgen.analysis.interfaces.zsl.ZSLGenerator` (the matcher inside
  ``CoherentInterfaceBuilder``, with the same defaults) on the in-plane lattices of
  the two polyhedral slabs, keeps the matches whose von Mises strain (Green-Lagrange
  strain of ``ZSLMatch.match_transformation``, as ``CoherentInterfaceBuilder``
  reports it) is within ``max_strain`` and returns the one with the smallest area.
  No match raises ``StructureError("no lattice match ...")``.
* :func:`build_interfaces` stacks the film (:mod:`lpsflow.structures.stacking`;
  strained onto the substrate's in-plane
  cell; heights unchanged) on the substrate for n = 1..N film layers and a grid of
  in-plane rigid shifts. It does not use ``CoherentInterfaceBuilder.get_interfaces``:
  those terminations come from SlabGenerator without the P-S check, the film is
  mirrored (z -> -z) and atoms overlapped at the boundary. Here the slabs are the
  checked ones of :mod:`lpsflow.structures.slabs`, the film is only translated (or
  turned over by a proper 180-degree rotation when the match needs it), and for every
  shift the film is lowered onto the substrate until the first film-substrate pair
  reaches its contact distance (``contact_scale`` x the shortest such distance in the
  bulks, P-S bonds excluded), so nothing overlaps and no atom is removed: the
  interface is exactly film + substrate. A final check rejects pairs < 1.5 A.
* For E_bind, the film and substrate references must be in the interface's strained
  in-plane cell (:mod:`lpsflow.structures.interface_energies`):
  :func:`strained_references` cuts them from the interface cell itself
  (same lattice, same fixed atoms); relax all three with the cell fixed.
  :func:`relaxed_references` cuts them from the *relaxed* interface instead, so each
  reference relaxes into the minimum next to its state in the interface (the
  relaxed work of separation; see ``InterfaceSettings.references``).
  :func:`consistent_binding_energy` refuses references in another cell.

Cells carry the site properties ``interface_label`` (``substrate``/``film``),
``layer`` (0 = bottom substrate layer) and ``selective_dynamics`` (the bottom
``fixed_layers`` substrate layers fixed); ``AseAtomsAdaptor`` maps the latter to ASE
``FixAtoms``. Do not combine with ``fix_symmetry`` in atomate2's relaxer: it replaces
the constraint.

Matches and atom counts with the bundled cells. Li7P3S11 (010) is its a x c plane
(oblique, 149 A^2), beta-Li3PS4 (100) its b x c plane (rectangular, 50.5 A^2). A film
layer is one b repeat of Li7P3S11 (42 atoms per 149 A^2), a core layer half an a
repeat (16 atoms per 50.5 A^2); see :func:`~lpsflow.structures.slab_geometry.layers`.

* quick hetero: 2 film on 6 core cells, 303 A^2, von Mises strain 6.3% (the smallest
  coincidence cell at all); 1 substrate layer (96 atoms, fixed);
  n = 1, 2, 3: 180, 264, 348 atoms.
* quick homo: 1 on 1, 149 A^2, 0%; 2 substrate layers (84 atoms, 1 fixed);
  126, 168, 210 atoms.
* study hetero: 5 film on 14 core cells, 707 A^2, 1.96% (the smallest with <= 3%);
  4 substrate layers (896 atoms, 2 fixed); 1106, 1316, 1526 atoms.
* study homo: 1 on 1; 3 substrate layers (126 atoms, 1 fixed); 168, 210, 252 atoms.
* doped 1x2x2 core cell (quick tolerances): 3 film on 2 doped cells, 404 A^2, 5.3%;
  2 substrate layers = one doped cell thick (252 atoms); 378, 504, 630 atoms.

A 151.6 A^2, 1.0% match exists for Li7P3S11 (100) (b x c) of this cell, not (010).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from monty.json import MSONable
from pymatgen.core import Structure
from pymatgen.core.interface import Interface

from lpsflow.errors import StructureError
from lpsflow.structures.lattice_match import (
    LatticeMatch,
    default_slab,
    in_plane_vectors,
    int_matrix,
    match_interface,
)
from lpsflow.structures.slab_geometry import heights, layers
from lpsflow.structures.slabs import (
    SlabCandidate,
    blocks_for,
    layer_height,
    layered_slab,
    polyhedral_slabs,
)
from lpsflow.structures.stacking import CONTACT_SCALE, contact_distances, shifts, stacks


def _layer_offset(
    a: Structure, ia: Sequence[int], b: Structure, ib: Sequence[int]
) -> np.ndarray | None:
    """In-plane fractional t with ``a[ia] + t`` on ``b[ib]`` (same a, b lattice)."""
    ia, ib = list(ia), list(ib)
    if len(ia) != len(ib):
        return None
    basis = in_plane_vectors(a)
    ua, ub = a.frac_coords[ia, :2], b.frac_coords[ib, :2]
    ha, hb = heights(a)[ia], heights(b)[ib]
    ha, hb = ha - ha.min(), hb - hb.min()
    sa = np.array([a[i].species_string for i in ia])
    sb = np.array([b[i].species_string for i in ib])
    k0 = int(np.argmin([np.sum(sa == x) for x in sa]))
    for j in np.flatnonzero((sb == sa[k0]) & (np.abs(hb - ha[k0]) < 0.1)):
        t = ub[j] - ua[k0]
        d = ub[None, :, :] - (ua + t)[:, None, :]
        d -= np.rint(d)
        ok = (
            (np.linalg.norm(d @ basis, axis=-1) < 0.05)
            & (sa[:, None] == sb[None, :])
            & (np.abs(ha[:, None] - hb[None, :]) < 0.1)
        )
        if ok.any(axis=1).all():
            return t % 1.0
    return None


def _registry(
    bulk: Structure,
    termination: SlabCandidate,
    film_ref: SlabCandidate,
    substrate: SlabCandidate,
    vacuum: float,
) -> tuple[float, float] | None:
    """Shift that puts the film where the bulk's next layer would be (homo)."""
    n_sub = substrate.n_layers
    thick = layered_slab(bulk, termination, n_sub + 1, vacuum)
    groups = layers(thick.slab)
    sub_groups = layers(substrate.slab)
    o = _layer_offset(thick.slab, groups[0], substrate.slab, sub_groups[0])
    t = _layer_offset(
        film_ref.slab, range(len(film_ref.slab)), thick.slab, groups[n_sub]
    )
    if o is None or t is None:
        return None
    reg = (t + o) % 1.0
    return (float(reg[0]), float(reg[1]))


def _translated(slab: SlabCandidate, t: np.ndarray) -> SlabCandidate:
    moved = slab.slab.copy()
    moved.translate_sites(list(range(len(moved))), [t[0], t[1], 0.0], to_unit_cell=True)
    return replace(slab, slab=moved)


@dataclass
class InterfaceSet(MSONable):
    """Interface cells of one film/substrate pair: every n and shift, one match."""

    kind: str
    """``hetero``, ``homo`` or a caller's label."""
    match: LatticeMatch
    film_termination: SlabCandidate
    substrate_termination: SlabCandidate
    interfaces: list[Interface]
    """One cell per (film layers, shift), n-major order."""
    removed_atoms: int = 0
    """Atoms removed at the boundary: always 0 (the film is lifted instead)."""
    settings: dict = field(default_factory=dict)

    def for_layers(self, n: int) -> list[Interface]:
        """The cells with ``n`` film layers (one per shift)."""
        return [
            i for i in self.interfaces if i.interface_properties["n_film_layers"] == n
        ]

    def atom_counts(self) -> dict[int, int]:
        """Atoms per cell for each number of film layers."""
        return {
            i.interface_properties["n_film_layers"]: len(i) for i in self.interfaces
        }


def build_interfaces(
    film_bulk: Structure,
    substrate_bulk: Structure,
    film_miller: Sequence[int] = (0, 1, 0),
    substrate_miller: Sequence[int] = (1, 0, 0),
    *,
    film_layers: Sequence[int] = (1, 2, 3),
    substrate_layers: int = 2,
    fixed_layers: int = 2,
    vacuum: float = 15.0,
    shift_grid: Sequence[tuple[float, float]] | None = None,
    max_area: float = 400.0,
    max_strain: float = 0.03,
    max_length_tol: float = 0.03,
    max_angle_tol: float = 0.01,
    max_area_ratio_tol: float = 0.09,
    contact_scale: float = CONTACT_SCALE,
    min_gap: float = 0.0,
    film_termination: SlabCandidate | None = None,
    substrate_termination: SlabCandidate | None = None,
    registry: bool | None = None,
    kind: str = "",
    substrate_host: Structure | None = None,
) -> InterfaceSet:
    """Interface cells for n film layers on a ``substrate_layers``-layer substrate.

    With ``substrate_host`` (the undoped phase of a doped substrate),
    ``substrate_layers`` and ``fixed_layers`` count layers of the host, each rounded
    up to whole layers of the substrate (:func:`~lpsflow.structures.slabs.blocks_for`):
    every dopant arrangement then gets the same thickness.

    Terminations default to the first candidate of
    :func:`~lpsflow.structures.slabs.polyhedral_slabs` (pass the lowest-energy one if
    known). ``shift_grid`` defaults to :func:`shifts` (2, 2). ``registry`` adds the
    shift that continues the bulk stacking (default: when film and substrate are the
    same bulk and surface). The caller evaluates every shift and keeps the lowest.
    """
    film_bulk_t = film_termination or default_slab(film_bulk, film_miller)
    sub_bulk_t = substrate_termination or default_slab(substrate_bulk, substrate_miller)
    match = match_interface(
        film_bulk, film_miller, substrate_bulk, substrate_miller, max_area, max_strain,
        max_length_tol=max_length_tol, max_angle_tol=max_angle_tol,
        max_area_ratio_tol=max_area_ratio_tol, film_slab=film_bulk_t,
        substrate_slab=sub_bulk_t,
    )  # fmt: skip
    sub_blocks, fixed_blocks = substrate_layers, fixed_layers
    heights_a: dict[str, float] = {}
    if substrate_host is not None:
        heights_a = {
            "host": layer_height(
                substrate_host, polyhedral_slabs(substrate_host, substrate_miller)[0]
            ),
            "substrate": layer_height(substrate_bulk, sub_bulk_t),
        }
        h_host, h_sub = heights_a["host"], heights_a["substrate"]
        sub_blocks = blocks_for(substrate_layers, h_host, h_sub)
        fixed_blocks = min(sub_blocks, blocks_for(fixed_layers, h_host, h_sub))
    sub = layered_slab(substrate_bulk, sub_bulk_t, sub_blocks, vacuum)
    contacts = contact_distances(film_bulk, substrate_bulk, scale=contact_scale)
    grid = list(shift_grid) if shift_grid is not None else shifts(2, 2)
    homo = _same_surface(film_bulk, film_miller, substrate_bulk, substrate_miller)
    if registry is None:
        registry = homo
    if registry and not homo:
        raise StructureError("a registry shift exists for homo interfaces only")
    ref = layered_slab(film_bulk, film_bulk_t, 1, vacuum)
    extra: list[tuple[float, float]] = []
    if (
        registry
        and not match.film_flipped
        and match.film_vectors == match.substrate_vectors
        and (reg := _registry(film_bulk, film_bulk_t, ref, sub, vacuum)) is not None
    ):
        extra.append(reg)
    ms = int_matrix(
        np.asarray(match.substrate_vectors, float),
        np.asarray(sub.slab.scale_factor, float)[:2],
        "substrate",
    )
    to_iface = np.linalg.inv(ms)  # substrate-cell fractions -> interface fractions
    cells: list[Interface] = []
    for n in film_layers:
        film = layered_slab(film_bulk, film_bulk_t, n, vacuum)
        # put the layer that faces the substrate where the 1-layer slab has it, so a
        # shift means the same registry for every n
        facing = layers(film.slab)[-1 if match.film_flipped else 0]
        t = _layer_offset(film.slab, facing, ref.slab, range(len(ref.slab)))
        if t is not None:
            film = _translated(film, t)
        starts = [*extra, *grid] if t is not None else grid
        cells += stacks(
            film,
            sub,
            match,
            [tuple((np.asarray(sh) @ to_iface) % 1.0) for sh in starts],
            fixed_layers=fixed_blocks,
            vacuum=vacuum,
            contacts=contacts,
            min_gap=min_gap,
            properties=[
                {
                    "kind": kind,
                    "registry": t is not None and bool(extra) and k == 0,
                    "shift_substrate_cell": [float(x) for x in sh],
                    "shift_origin": "1-layer film" if t is not None else "slab",
                }
                for k, sh in enumerate(starts)
            ],
        )
    return InterfaceSet(
        kind=kind,
        match=match,
        film_termination=film_bulk_t,
        substrate_termination=sub_bulk_t,
        interfaces=cells,
        settings={
            "film_miller": list(film_miller),
            "substrate_miller": list(substrate_miller),
            "film_layers": list(film_layers),
            "substrate_layers": substrate_layers,
            "fixed_layers": fixed_layers,
            # the substrate's own (neutral-block) layers built and fixed, and the
            # layer heights (A) they were counted with (host layers: see above)
            "substrate_blocks": sub_blocks,
            "fixed_blocks": fixed_blocks,
            "layer_heights": heights_a,
            "vacuum": vacuum,
            "shifts": [list(s) for s in grid],
            "registry": bool(registry),
            "max_area": max_area,
            "max_strain": max_strain,
            "contact_scale": contact_scale,
        },
    )


def _same_surface(
    a: Structure, ma: Sequence[int], b: Structure, mb: Sequence[int]
) -> bool:
    return (
        tuple(ma) == tuple(mb)
        and a.composition == b.composition
        and np.allclose(a.lattice.matrix, b.lattice.matrix, atol=1e-6)
        and np.allclose(a.frac_coords, b.frac_coords, atol=1e-6)
    )


# ----------------------------------------------------------------- study settings
@dataclass(frozen=True)
class InterfaceSettings:
    """Sizes and matching tolerances of one interface series."""

    substrate_layers: int
    fixed_layers: int
    film_layers: tuple[int, ...] = (1, 2, 3)
    vacuum: float = 15.0
    shift_grid: tuple[int, int] = (2, 2)
    max_area: float = 400.0
    max_strain: float = 0.03
    max_length_tol: float = 0.03
    max_angle_tol: float = 0.01
    max_area_ratio_tol: float = 0.09


#: Thin cells for the quick campaign. Li7P3S11(010) (a x c, oblique) has no small
#: low-strain coincidence with the rectangular core(100): the smallest cell, 2 film
#: on 6 substrate cells (303 A^2), carries 6.3% von Mises strain.
QUICK: dict[str, InterfaceSettings] = {
    "hetero": InterfaceSettings(
        substrate_layers=1, fixed_layers=1, vacuum=12.0, max_area=320.0,
        max_strain=0.07, max_length_tol=0.08, max_angle_tol=0.08,
    ),
    "homo": InterfaceSettings(substrate_layers=2, fixed_layers=1, vacuum=12.0),
}  # fmt: skip
#: Study-size cells: <= 3% strain (707 A^2 hetero), the study's fixed layers (2
#: hetero, 1 homo).
STUDY: dict[str, InterfaceSettings] = {
    "hetero": InterfaceSettings(
        substrate_layers=4, fixed_layers=2, shift_grid=(3, 3), max_area=750.0,
        max_strain=0.03, max_length_tol=0.04, max_angle_tol=0.04,
    ),
    "homo": InterfaceSettings(
        substrate_layers=3, fixed_layers=1, shift_grid=(3, 3), max_area=400.0
    ),
}  # fmt: skip


def nucleation_interfaces(
    core: Structure,
    li7p3s11: Structure,
    settings: dict[str, InterfaceSettings] | None = None,
    core_miller: Sequence[int] = (1, 0, 0),
    film_miller: Sequence[int] = (0, 1, 0),
    kinds: Sequence[str] = ("hetero", "homo"),
    core_host: Structure | None = None,
) -> dict[str, InterfaceSet]:
    """Li7P3S11(``film_miller``) on the core (hetero) and on itself (homo).

    ``core_host``: the undoped core, whose layers the hetero substrate counts (as a
    campaign does; see :func:`build_interfaces`).
    """
    settings = settings or QUICK
    out: dict[str, InterfaceSet] = {}
    for kind in kinds:
        st = settings[kind]
        substrate, miller = (
            (core, core_miller) if kind == "hetero" else (li7p3s11, film_miller)
        )
        out[kind] = build_interfaces(
            li7p3s11, substrate, film_miller, miller,
            film_layers=st.film_layers, substrate_layers=st.substrate_layers,
            fixed_layers=st.fixed_layers, vacuum=st.vacuum,
            shift_grid=shifts(*st.shift_grid), max_area=st.max_area,
            max_strain=st.max_strain, max_length_tol=st.max_length_tol,
            max_angle_tol=st.max_angle_tol, max_area_ratio_tol=st.max_area_ratio_tol,
            kind=kind, substrate_host=core_host if kind == "hetero" else None,
        )  # fmt: skip
    return out


def interface_summary(iset: InterfaceSet) -> dict[str, object]:
    """Area, strain and atom counts of an :class:`InterfaceSet` (for results)."""
    counts = Counter(i.interface_properties["n_film_layers"] for i in iset.interfaces)
    return {
        "kind": iset.kind,
        "area": iset.match.area,
        "von_mises_strain": iset.match.von_mises_strain,
        "film_vectors": iset.match.film_vectors,
        "substrate_vectors": iset.match.substrate_vectors,
        "atoms": iset.atom_counts(),
        "cells_per_n": dict(counts),
        "removed_atoms": iset.removed_atoms,
    }
