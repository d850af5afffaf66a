"""Polyhedral slabs, layers, fixed atoms, lattice matching and interface cells.

Built on the bundled beta-Li3PS4 (core host) and Li7P3S11 cells; no relaxations.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.calculators.lj import LennardJones
from ase.constraints import FixAtoms
from ase.optimize import BFGS
from monty.json import MontyDecoder, MontyEncoder
from pymatgen.analysis.elasticity.strain import Deformation
from pymatgen.analysis.interfaces.coherent_interfaces import CoherentInterfaceBuilder
from pymatgen.analysis.interfaces.zsl import ZSLGenerator
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Composition, Structure
from pymatgen.core.surface import SlabGenerator
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.vasp import Poscar

from lpsflow.errors import StructureError
from lpsflow.structures import interfaces as itf
from lpsflow.structures import slab_geometry, slabs
from lpsflow.structures.accelerant import parse_accelerant
from lpsflow.structures.arrangement_ranking import enumerate_arrangements
from lpsflow.structures.interface_energies import (
    binding_energy,
    consistent_binding_energy,
    relaxed_references,
    strained_references,
)
from lpsflow.structures.lattice_match import LatticeMatch, match_interface
from lpsflow.structures.library import load_structure
from lpsflow.structures.stacking import shifts, stack

CORE, FILM = (1, 0, 0), (0, 1, 0)
QUICK_HETERO = itf.QUICK["hetero"]
HETERO_TOLS = {
    "max_area": QUICK_HETERO.max_area,
    "max_strain": QUICK_HETERO.max_strain,
    "max_length_tol": QUICK_HETERO.max_length_tol,
    "max_angle_tol": QUICK_HETERO.max_angle_tol,
}


@pytest.fixture(scope="module")
def core() -> Structure:
    return load_structure("Li3PS4")


@pytest.fixture(scope="module")
def li7() -> Structure:
    return load_structure("Li7P3S11")


@pytest.fixture(scope="module")
def core_slabs(core) -> list[slabs.SlabCandidate]:
    return slabs.polyhedral_slabs(core, CORE, keep_asymmetric=True)


@pytest.fixture(scope="module")
def li7_slabs(li7) -> list[slabs.SlabCandidate]:
    return slabs.polyhedral_slabs(li7, FILM, keep_asymmetric=True)


@pytest.fixture(scope="module")
def quick(core, li7) -> dict[str, itf.InterfaceSet]:
    return itf.nucleation_interfaces(core, li7, itf.QUICK)


def _p_coordination(s: Structure) -> list[int]:
    return [
        sum(
            n.specie.symbol == "S"
            for n in s.get_neighbors(site, slab_geometry.BOND_CUTOFF)
        )
        for site in s
        if site.specie.symbol == "P"
    ]


def _layer_comp(s: Structure, idx: list[int]) -> Composition:
    return Composition(sum((s[i].species for i in idx), Composition()))


# ------------------------------------------------------------------------- slabs
@pytest.mark.parametrize(
    ("name", "hkl", "shift", "n_sym"),
    [("Li3PS4", CORE, 0.25, 1), ("Li7P3S11", FILM, 0.5, 1)],
)
def test_polyhedral_slabs(name, hkl, shift, n_sym, core_slabs, li7_slabs):
    bulk = load_structure(name)
    cands = core_slabs if name == "Li3PS4" else li7_slabs
    assert cands[0].symmetric and cands[0].shift == pytest.approx(shift, abs=1e-3)
    assert sum(c.symmetric for c in cands) == n_sym
    assert [c.symmetric for c in cands] == sorted(
        (c.symmetric for c in cands), reverse=True
    )
    assert all(c.dipole < 1e-6 for c in cands if c.symmetric)
    assert any(not c.symmetric for c in cands)  # flagged, kept on request only
    for c in cands:
        s = c.slab
        assert s.composition.reduced_composition == bulk.composition.reduced_composition
        assert set(_p_coordination(s)) == {4}
        assert slab_geometry.broken_units(s, bulk) is None
        assert slab_geometry.min_distance(s) > slabs.MIN_DISTANCE
        # Miller indices of the given cell: a and b are bulk vectors in the plane
        assert np.allclose(np.asarray(s.scale_factor)[:2] @ hkl, 0)
    # by default only the symmetric termination comes back
    assert [c.shift for c in slabs.polyhedral_slabs(bulk, hkl)] == [cands[0].shift]


def test_polyhedral_slabs_are_cut_once_per_process(core, monkeypatch):
    first = slabs.polyhedral_slabs(core, CORE, keep_asymmetric=True)
    first[0].slab.translate_sites([0], [0.1, 0, 0])  # callers may change theirs

    def cut_again(*args, **kwargs):
        raise AssertionError("cut again")

    monkeypatch.setattr(slabs, "cut_polyhedral_slabs", cut_again)
    again = slabs.polyhedral_slabs(core, CORE, keep_asymmetric=True)
    assert [c.shift for c in again] == [c.shift for c in first]
    assert again[0].slab is not first[0].slab
    assert again[0].slab[0].frac_coords == pytest.approx(
        slabs.polyhedral_slabs(core, CORE, keep_asymmetric=True)[0].slab[0].frac_coords
    )
    assert again[0].slab[0].frac_coords != pytest.approx(first[0].slab[0].frac_coords)
    moved = core.copy()
    moved.translate_sites([0], [0.01, 0, 0])
    with pytest.raises(AssertionError, match="cut again"):  # another bulk: cut it
        slabs.polyhedral_slabs(moved, CORE, keep_asymmetric=True)


def test_unit_check_rejects_cut_tetrahedra(core, li7):
    assert slab_geometry.unit_counts(li7) == {"P1S4": 2, "P2S7": 2}
    cut = SlabGenerator(core, CORE, 10, 15).get_slab(shift=0.03)  # through PS4 units
    assert cut.composition.reduced_composition == core.composition.reduced_composition
    assert "P1S3" in slab_geometry.broken_units(cut, core)
    with pytest.raises(StructureError, match=r"tried \d+ shifts"):
        slabs.polyhedral_slabs(li7, (0, 0, 1))  # P2S7 chains cross every plane


def test_layers_and_layered_slabs(core, li7, core_slabs, li7_slabs):
    s = core_slabs[0].slab  # one a repeat = two PS4 sheets
    groups = slab_geometry.layers(s)
    assert [_layer_comp(s, g).formula for g in groups] == ["Li6 P2 S8"] * 2
    units = slab_geometry.polyhedral_units(s)
    assert all(any(set(u) <= set(g) for g in groups) for u in units)
    for bulk, cand, per_layer in ((core, core_slabs[0], 16), (li7, li7_slabs[0], 42)):
        for n in (1, 2, 3):
            sl = slabs.layered_slab(bulk, cand, n, vacuum=12.0)
            assert sl.n_layers == n and len(sl.slab) == n * per_layer
            assert sl.symmetric
            h = slab_geometry.heights(sl.slab)
            c_normal = sl.slab.lattice.matrix[2] @ slab_geometry.surface_normal(sl.slab)
            assert c_normal - (h.max() - h.min()) == pytest.approx(12.0)
            assert set(_p_coordination(sl.slab)) == {4}
    with pytest.raises(StructureError):
        slabs.layered_slab(core, core_slabs[0], 0)


def test_fix_bottom_layers_maps_to_ase(li7, li7_slabs):
    slab = slabs.layered_slab(li7, li7_slabs[0], 3, vacuum=10.0).slab
    fixed = slab_geometry.fix_bottom_layers(slab, 2)
    idx = slab_geometry.fixed_indices(fixed)
    assert sorted(idx) == sorted(i for g in slab_geometry.layers(slab)[:2] for i in g)
    h = slab_geometry.heights(fixed)
    assert h[idx].max() < np.delete(h, idx).min()
    atoms = AseAtomsAdaptor.get_atoms(fixed)
    (con,) = atoms.constraints
    assert isinstance(con, FixAtoms) and sorted(con.get_indices()) == idx
    assert "Selective dynamics" in Poscar(fixed).get_str()
    # the ASE optimiser honours it: fixed atoms stay put, free ones move
    atoms.calc = LennardJones(sigma=2.0, epsilon=0.01, rc=5.0)
    start = atoms.get_positions()
    BFGS(atoms, logfile=None).run(fmax=1e-4, steps=3)
    moved = np.linalg.norm(atoms.get_positions() - start, axis=1)
    assert moved[idx].max() == 0.0 and moved.max() > 1e-4
    with pytest.raises(StructureError, match="only 3"):
        slab_geometry.fix_bottom_layers(slab, 4)


def test_lowest_energy_slab(core, core_slabs):
    e_bulk = -4.0
    planted = {c.shift: 0.01 * (k + 3) for k, c in enumerate(core_slabs)}
    planted[core_slabs[-1].shift] = 0.002  # cheapest by energy, last by criterion

    def energy(s: Structure) -> float:
        cand = next(c for c in core_slabs if c.slab is s)
        return (
            len(s) * e_bulk + 2 * slab_geometry.in_plane_area(s) * planted[cand.shift]
        )

    best = slabs.lowest_energy_slab(core_slabs, energy, e_bulk)
    assert best.shift == core_slabs[-1].shift
    assert best.surface_energy == pytest.approx(0.002)


# ---------------------------------------------------------------------- matching
def test_hetero_match_within_limits(core, li7):
    m = match_interface(li7, FILM, core, CORE, **HETERO_TOLS)
    assert m.area <= HETERO_TOLS["max_area"]
    assert m.von_mises_strain <= HETERO_TOLS["max_strain"]
    assert m.area == pytest.approx(303.2, abs=0.1)
    assert m.von_mises_strain == pytest.approx(0.0633, abs=5e-4)
    assert m.film_area == pytest.approx(2 * 148.95, abs=0.1)  # two film cells
    assert np.linalg.det(np.array(m.substrate_vectors)[:, 1:]) == pytest.approx(6)
    # pymatgen's own builder with the same tolerances agrees on the smallest cell
    zsl = ZSLGenerator(
        max_area=HETERO_TOLS["max_area"],
        max_length_tol=HETERO_TOLS["max_length_tol"],
        max_angle_tol=HETERO_TOLS["max_angle_tol"],
        bidirectional=True,
    )
    cib = CoherentInterfaceBuilder(core, li7, FILM, CORE, zslgen=zsl)
    best = min(
        Deformation(z.match_transformation).green_lagrange_strain.von_mises_strain
        for z in cib.zsl_matches
    )
    assert best == pytest.approx(m.von_mises_strain, abs=1e-6)


def test_too_strict_strain_limit_raises(core, li7):
    with pytest.raises(StructureError, match="no lattice match") as err:
        match_interface(li7, FILM, core, CORE, **{**HETERO_TOLS, "max_strain": 0.02})
    assert "6.33%" in str(err.value)  # says what the least strained candidate had
    with pytest.raises(StructureError, match=r"no lattice match.*found none"):
        match_interface(li7, FILM, core, CORE, max_area=400, max_strain=0.03)
    # too small an area: the error names what a wider search finds
    with pytest.raises(StructureError, match=r"found none.*within 1.5x") as err:
        match_interface(li7, FILM, core, CORE, **{**HETERO_TOLS, "max_area": 250})
    assert "303.2 A^2, von Mises strain 6.33%" in str(err.value)


def test_homo_match_is_identity(li7):
    m = match_interface(li7, FILM, li7, FILM)
    assert m.area == pytest.approx(148.95, abs=0.01)
    assert m.von_mises_strain == pytest.approx(0, abs=1e-9)
    assert m.film_vectors == m.substrate_vectors and not m.film_flipped


# -------------------------------------------------------------------- interfaces
def test_quick_atom_counts(quick):
    assert quick["hetero"].atom_counts() == {1: 180, 2: 264, 3: 348}
    assert quick["homo"].atom_counts() == {1: 126, 2: 168, 3: 210}
    assert len(quick["hetero"].for_layers(1)) == 4  # 2x2 shifts
    assert len(quick["homo"].for_layers(1)) == 5  # + the bulk-registry shift
    summary = itf.interface_summary(quick["hetero"])
    assert summary["area"] == pytest.approx(303.2, abs=0.1)
    assert summary["removed_atoms"] == 0


@pytest.mark.parametrize("kind", ["hetero", "homo"])
def test_interfaces_conserve_composition_and_units(kind, quick, core, li7):
    iset = quick[kind]
    sub_bulk = core if kind == "hetero" else li7
    st = itf.QUICK[kind]
    ratio = iset.match.area / slab_geometry.in_plane_area(
        iset.substrate_termination.slab
    )
    sub_slab = slabs.layered_slab(
        sub_bulk, iset.substrate_termination, st.substrate_layers
    ).slab
    for cell in iset.interfaces:
        p = cell.interface_properties
        film, sub = strained_references(cell)
        assert film.composition + sub.composition == cell.composition
        n_f = p["n_film_layers"]
        assert (
            film.composition.reduced_composition == li7.composition.reduced_composition
        )
        assert len(film) == n_f * 42 * round(iset.match.film_area / 148.95)
        assert (
            sub.composition.reduced_composition
            == sub_bulk.composition.reduced_composition
        )
        assert len(sub) == round(ratio) * len(sub_slab)
        # no overlap, no cut and no new P-S bond at the boundary
        assert slab_geometry.min_distance(cell) >= slabs.MIN_DISTANCE
        assert set(_p_coordination(cell)) == {4}
        assert slab_geometry.unit_counts(cell) == slab_geometry.unit_counts(
            film
        ) + slab_geometry.unit_counts(sub)
        # fixed atoms: the bottom substrate layers, nothing of the film
        fixed = set(slab_geometry.fixed_indices(cell))
        layer = np.array(cell.site_properties["layer"])
        labels = np.array(cell.site_properties["interface_label"])
        assert fixed == set(np.flatnonzero(layer < st.fixed_layers).tolist())
        assert set(labels[list(fixed)]) == {"substrate"}
        assert p["n_fixed_layers"] == st.fixed_layers
        # in-plane cell = substrate superlattice, with the match's area
        assert slab_geometry.in_plane_area(cell) == pytest.approx(
            iset.match.area, abs=1e-3
        )


def test_relaxed_references_pair_atoms_in_any_order(quick):
    """The relaxed interface's parts get the screened labels, also from relaxations
    without site properties in a species-sorted or any other order."""
    cell = Structure.from_sites(quick["hetero"].for_layers(2)[0])
    rng = np.random.default_rng(0)
    moved = cell.copy()
    for i in range(len(moved)):
        moved.translate_sites([i], rng.normal(0, 0.3, 3), frac_coords=False)
    expected = strained_references(moved)  # labels kept in order
    plain = Structure(moved.lattice, moved.species, moved.frac_coords)
    shuffled = Structure.from_sites([plain[i] for i in rng.permutation(len(plain))])
    for relaxed in (moved, plain, plain.get_sorted_structure(), shuffled):
        got_refs = relaxed_references(cell, relaxed)
        for got, want in zip(got_refs, expected, strict=True):
            assert got.composition == want.composition
            assert np.allclose(got.frac_coords, want.frac_coords)
            assert got.site_properties == want.site_properties
    assert len(slab_geometry.fixed_indices(expected[1])) == len(
        slab_geometry.fixed_indices(cell)
    )
    # one atom into the middle of the vacuum: recognised in the same or the sorted
    # order, refused in any other (the closest-pairing would be a guess)
    far = plain.copy()
    top = far.frac_coords[:, 2].max()
    far.replace(0, far[0].species, [*far[0].frac_coords[:2], (top + 1) / 2])
    for relaxed in (far, far.get_sorted_structure()):
        film, sub = relaxed_references(cell, relaxed)
        assert np.allclose([*sub.frac_coords, *film.frac_coords][0], far[0].frac_coords)
    with pytest.raises(StructureError, match="cannot be paired"):
        relaxed_references(cell, Structure.from_sites(list(far)[::-1]))
    with pytest.raises(StructureError, match="is not the screened cell"):
        relaxed_references(cell, Structure.from_sites(plain[1:]))


def test_strained_references_and_binding_energy(quick, li7):
    cell = quick["hetero"].for_layers(2)[0]
    film, sub = strained_references(cell)
    for ref in (film, sub):
        assert np.allclose(ref.lattice.matrix, cell.lattice.matrix)
    assert len(slab_geometry.fixed_indices(sub)) == len(
        slab_geometry.fixed_indices(cell)
    )
    assert slab_geometry.fixed_indices(film) == []
    e_bind = consistent_binding_energy(cell, -10.0, film, -4.0, sub, -5.0)
    assert e_bind == pytest.approx(-1.0 / slab_geometry.in_plane_area(cell))
    assert binding_energy(-10.0, -4.0, -5.0, 2.0) == -0.5
    # an unstrained film (its own bulk cell) is refused
    free = slabs.layered_slab(li7, quick["hetero"].film_termination, 2).slab
    with pytest.raises(StructureError, match="in-plane cell"):
        consistent_binding_energy(cell, -10.0, free, -4.0, sub, -5.0)


def test_homo_registry_continues_the_bulk(quick, li7):
    cell = next(
        c for c in quick["homo"].for_layers(1) if c.interface_properties["registry"]
    )
    thick = slabs.layered_slab(li7, quick["homo"].substrate_termination, 3).slab
    matcher = StructureMatcher(
        primitive_cell=False, scale=False, attempt_supercell=False
    )
    assert matcher.fit(Structure.from_sites(cell), Structure.from_sites(thick))


def test_shifts_are_substrate_cell_fractions(quick):
    assert shifts(2, 3)[:2] == [(0.0, 0.0), (0.0, 1 / 3)]
    with pytest.raises(StructureError):
        shifts(0, 1)
    gaps = {
        round(c.interface_properties["gap"], 3) for c in quick["hetero"].for_layers(1)
    }
    assert len(gaps) > 1  # the grid samples different registries


def test_interface_set_round_trip(quick):
    iset = quick["homo"]
    back = json.loads(json.dumps(iset, cls=MontyEncoder), cls=MontyDecoder)
    assert isinstance(back, itf.InterfaceSet)
    assert back.match == iset.match
    first = back.interfaces[0]
    assert first.composition == iset.interfaces[0].composition
    assert slab_geometry.fixed_indices(first) == slab_geometry.fixed_indices(
        iset.interfaces[0]
    )


def test_strict_match_prefers_an_unturned_film(core, li7):
    m = match_interface(li7, FILM, core, CORE, max_area=900, max_strain=0.03)
    assert m.area == pytest.approx(859.0, abs=0.1)
    assert m.von_mises_strain == pytest.approx(0.0147, abs=5e-4)
    assert not m.film_flipped  # a turned-over film with the same strain exists too


def test_turned_over_film(core, core_slabs):
    """A mirror correspondence is built by a proper 180-degree turn of the film."""
    one = slabs.layered_slab(core, core_slabs[0], 1, vacuum=10.0)
    mirror = LatticeMatch(
        film_vectors=[[0, 1, 0], [0, 0, -1]],
        substrate_vectors=[[0, 1, 0], [0, 0, 1]],
        area=one.area, film_area=one.area, von_mises_strain=0.0,
        principal_strains=[0.0, 0.0], length_mismatch=[0.0, 0.0], angle_mismatch=0.0,
        film_flipped=True, n_candidates=1, n_within_strain=1,
    )  # fmt: skip
    cell = stack(one, one, mirror, (0.25, 0.5), fixed_layers=1, vacuum=10.0)
    assert cell.interface_properties["film_flipped"]
    film, sub = strained_references(cell)
    assert film.composition == sub.composition == one.slab.composition
    assert slab_geometry.min_distance(cell) >= slabs.MIN_DISTANCE
    assert set(_p_coordination(cell)) == {4}
    # the turned film is the same symmetric slab (congruent, not mirrored)
    h = slab_geometry.heights(film)
    assert np.allclose(
        np.sort(h - h.min()), np.sort(slab_geometry.heights(one.slab)), atol=1e-6
    )


def test_builder_on_doped_supercell(core, li7):
    al = parse_accelerant("Al2S3")
    host = core.make_supercell((1, 2, 2), in_place=False)
    arr = enumerate_arrangements(
        host, al, al.scheme("Li-site"), 1, max_enumerate=1000, keep=1, n_starts=10
    )
    doped = arr[0].apply(host, "Al")
    assert doped.composition.formula == "Li45 Al1 P16 S64"
    cands = slabs.polyhedral_slabs(doped, CORE)
    assert all(c.slab.composition == doped.composition for c in cands)
    with pytest.raises(StructureError, match="no lattice match"):  # quick max_area
        itf.build_interfaces(li7, doped, FILM, CORE, **HETERO_TOLS)
    iset = itf.build_interfaces(
        li7, doped, FILM, CORE, film_layers=(1,), substrate_layers=2, fixed_layers=1,
        shift_grid=[(0.0, 0.0)], substrate_termination=cands[0],
        **{**HETERO_TOLS, "max_area": 450.0},
    )  # fmt: skip
    assert iset.match.area == pytest.approx(404.2, abs=0.1)
    cell = iset.interfaces[0]
    film, sub = strained_references(cell)
    assert sub.composition == 2 * doped.composition  # two doped cells, one thick
    assert film.composition + sub.composition == cell.composition
    assert len(cell) == 378 and cell.composition["Al"] == 2
    assert slab_geometry.min_distance(cell) >= slabs.MIN_DISTANCE
    assert set(_p_coordination(cell)) == {4}


# ------------------------------------------------------- substrate thickness
def test_blocks_for_counts_host_layers_in_whole_blocks():
    assert slabs.blocks_for(4, 6.45, 12.9) == 2  # a block of two host layers
    assert slabs.blocks_for(4, 6.45, 6.45) == 4
    assert slabs.blocks_for(2, 6.45, 12.9) == 1
    assert slabs.blocks_for(1, 6.45, 12.9) == 1  # rounded up: never thinner
    assert slabs.blocks_for(1, 6.45, 4.33) == 2  # blocks thinner than a host layer
    assert slabs.blocks_for(4, 6.52, 12.7) == 2  # relaxed heights: within 15 %
    assert slabs.blocks_for(0, 6.45, 12.9) == 0
    with pytest.raises(StructureError):
        slabs.blocks_for(2, 6.45, 0.0)


def _al_doped(vacancies: tuple[int, int]) -> Structure:
    """x = 1/16 Al on beta-Li3PS4 (1x2x2): Al on the first Li, two Li removed."""
    cell = load_structure("Li3PS4")
    cell.make_supercell([1, 2, 2])
    li = cell.indices_from_symbol("Li")
    cell.replace(li[0], "Al")
    cell.remove_sites([li[k] for k in vacancies])
    return cell


def test_substrates_of_two_arrangements_are_equally_thick_in_host_layers():
    """Vacancies beside the Al: a neutral block is one host layer (half the a axis);
    in the other half of the cell: the whole a axis. Counted in host layers, both
    substrates have 4 of them with 2 fixed; counted in blocks, the second is twice
    as thick."""
    host = load_structure("Li3PS4")
    film = load_structure("Li7P3S11")
    near, apart = _al_doped((1, 2)), _al_doped((5, 9))
    h_host = slabs.layer_height(host, slabs.polyhedral_slabs(host, (1, 0, 0))[0])
    for cell, blocks in ((near, 1), (apart, 2)):
        cand = slabs.polyhedral_slabs(cell, (1, 0, 0))[0]
        assert slabs.layer_height(cell, cand) == pytest.approx(blocks * h_host)
    kw = dict(
        film_layers=[1], substrate_layers=4, fixed_layers=2, vacuum=10.0,
        shift_grid=[(0.0, 0.0)], max_area=500.0, max_strain=0.08,
        max_length_tol=0.08, max_angle_tol=0.08,
    )  # fmt: skip
    built = {}
    for name, cell in (("near", near), ("apart", apart)):
        for by_host in (True, False):
            iset = itf.build_interfaces(
                film, cell, (0, 1, 0), (1, 0, 0),
                substrate_host=host if by_host else None, **kw,
            )  # fmt: skip
            c = iset.interfaces[0]
            built[name, by_host] = (len(c), len(slab_geometry.fixed_indices(c)))
            if by_host:
                assert iset.settings["layer_heights"]["host"] == pytest.approx(h_host)
    assert built["near", True] == built["apart", True]
    assert built["near", True] == built["near", False]  # one block = one host layer
    n_sub = built["near", True][1] * 2  # 2 of 4 host layers fixed
    assert built["apart", False][0] - built["near", False][0] == n_sub
