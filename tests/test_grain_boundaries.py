"""Periodic bicrystal GB cells built from the bundled Li7P3S11 and beta-Li3PS4 cells.

No relaxations: geometry, misorientation, composition and error checks only.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from pymatgen.core import Composition, Structure

from lpsflow.errors import StructureError
from lpsflow.structures import grain_boundaries as gb
from lpsflow.structures.gb_match import gb_match
from lpsflow.structures.library import load_structure
from lpsflow.structures.slab_geometry import (
    BOND_CUTOFF,
    broken_units,
    in_plane_area,
    min_distance,
    unit_counts,
)


@pytest.fixture(scope="module")
def core() -> Structure:
    return load_structure("Li3PS4")


@pytest.fixture(scope="module")
def li7() -> Structure:
    return load_structure("Li7P3S11")


@pytest.fixture(scope="module")
def gbs(core, li7) -> dict[str, gb.GBSet]:
    return gb.study_grain_boundaries(core, li7)


def _grain(cell: Structure, tag: str) -> Structure:
    return Structure.from_sites(
        [
            s
            for s, g in zip(cell, cell.site_properties["grain"], strict=True)
            if g == tag
        ]
    )


def _bond_vectors(cell: Structure, tag: str) -> np.ndarray:
    """P->S bond vectors (Cartesian) of the units of one grain."""
    grains = np.array(cell.site_properties["grain"])
    sym = np.array([s.specie.symbol for s in cell])
    i, j, img, _ = cell.get_neighbor_list(BOND_CUTOFF)
    keep = (sym[i] == "P") & (sym[j] == "S") & (grains[i] == tag) & (grains[j] == tag)
    frac = cell.frac_coords[j[keep]] + img[keep] - cell.frac_coords[i[keep]]
    return cell.lattice.get_cartesian_coords(frac)


def _same_set(a: np.ndarray, b: np.ndarray, tol: float = 0.05) -> bool:
    if len(a) != len(b):
        return False
    dist = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    return bool((dist.min(axis=1) < tol).all() and (dist.min(axis=0) < tol).all())


def test_quick_cells_sizes_and_matches(gbs):
    homo, core, hetero = gbs["homo"], gbs["core"], gbs["hetero"]
    assert homo.atom_counts() == [168] * 4
    assert homo.match.sigma == pytest.approx(1.0)
    assert homo.match.match.von_mises_strain < 1e-6
    assert core.atom_counts() == [256] * 4
    assert core.match.sigma == pytest.approx(8.0)
    assert core.match.match.von_mises_strain < 0.03
    assert hetero.atom_counts() == [180] * 4
    assert hetero.match.sigma == pytest.approx(6.0)
    assert hetero.match.match.von_mises_strain < 0.07
    for s in gbs.values():
        assert max(s.atom_counts()) < 260


@pytest.mark.parametrize("kind", ["homo", "core"])
def test_homo_grains_have_the_recorded_misorientation(gbs, kind):
    gset = gbs[kind]
    for cell in gset.cells:
        info = cell.properties["gb"]
        m = np.asarray(info["misorientation_matrix"])
        assert np.allclose(m @ m.T, np.eye(3), atol=1e-8)
        assert np.linalg.det(m) == pytest.approx(1.0)
        a, b = _bond_vectors(cell, "A"), _bond_vectors(cell, "B")
        assert len(a) > 0
        # grain B's units are grain A's turned by M, and not grain A's as they are
        assert _same_set(b, a @ m.T)
        assert not _same_set(b, a)
        # a pure twist about the normal (z) by the recorded angle
        axis = np.asarray(info["misorientation_axis"])
        assert abs(axis[2]) == pytest.approx(1.0, abs=1e-6)
        assert info["misorientation_angle"] == pytest.approx(
            abs(info["twist_angle"]), abs=1e-6
        )
    if kind == "homo":
        assert gset.match.misorientation_angle == pytest.approx(180.0, abs=1e-6)
    else:
        assert gset.match.misorientation_angle == pytest.approx(75.5, abs=0.5)


def test_cells_have_no_overlaps_and_whole_units(gbs, core, li7):
    bulks = {"homo": (li7, li7), "core": (core, core), "hetero": (core, li7)}
    for kind, gset in gbs.items():
        bulk_a, bulk_b = bulks[kind]
        for cell in gset.cells:
            assert min_distance(cell) >= 1.5
            part_a, part_b = _grain(cell, "A"), _grain(cell, "B")
            assert broken_units(part_a, bulk_a) is None
            assert broken_units(part_b, bulk_b) is None
            assert unit_counts(cell) == unit_counts(part_a) + unit_counts(part_b)


def test_composition_is_grain_a_plus_grain_b(gbs, core, li7):
    for kind, gset in gbs.items():
        for cell in gset.cells:
            part_a, part_b = _grain(cell, "A"), _grain(cell, "B")
            assert cell.composition == part_a.composition + part_b.composition
            assert part_a.composition.reduced_formula == (
                "Li7P3S11" if kind == "homo" else "Li3PS4"
            )
            assert part_b.composition.reduced_formula == (
                "Li3PS4" if kind == "core" else "Li7P3S11"
            )
            info = cell.properties["gb"]
            assert (info["n_atoms_a"], info["n_atoms_b"]) == (
                len(part_a),
                len(part_b),
            )
    # homo: exactly 4 Li7P3S11 cells' worth (2 layers per grain, 1 cell per layer)
    assert gbs["homo"].cells[0].composition == Composition("Li7P3S11") * 4 * 2


def test_grains_lie_between_the_boundary_planes(gbs):
    for gset in gbs.values():
        for cell in gset.cells:
            c = cell.lattice.c
            z = cell.cart_coords[:, 2] % c
            start, end = cell.properties["gb"]["boundary_z"]  # below B, above B
            rel, width = (z - start) % c, (end - start) % c
            grains = np.array(cell.site_properties["grain"])
            assert (grains[rel < width] == "B").all()
            assert (grains[rel >= width] == "A").all()
            assert 0 < width < c


def test_rigid_shifts_are_distinct(gbs):
    cells = gbs["homo"].cells
    shifts = [c.properties["gb"]["shift"] for c in cells]
    assert len({tuple(s) for s in shifts}) == 4
    b0 = _grain(cells[0], "B").frac_coords[:, :2]
    b1 = _grain(cells[1], "B").frac_coords[:, :2]
    diff = (b1 - b0) % 1.0
    spread = (diff - diff[0] + 0.5) % 1.0 - 0.5
    assert np.abs(spread).max() < 1e-6  # grain B moved rigidly in plane
    assert np.abs((diff[0] + 0.5) % 1.0 - 0.5).max() > 0.05


def test_custom_grid_and_twist(li7):
    gset = gb.build_grain_boundaries(
        li7, (0, 1, 0), layers_a=1, layers_b=1, twist=180.0,
        shift_grid=[(0.0, 0.0), (0.5, 0.0), (0.0, 0.5)],
    )  # fmt: skip
    assert len(gset.cells) == 3
    assert gset.atom_counts() == [84, 84, 84]
    assert gset.match.twist_angle == pytest.approx(180.0)


def test_gb_energy():
    # (E_GB - n e) / (2 A)
    assert gb.gb_energy(-100.0, [(10, -9.0)], 5.0) == pytest.approx(-1.0)
    assert gb.gb_energy(-95.0, [(4, -10.0), (6, -10.0)], 2.5) == pytest.approx(1.0)
    with pytest.raises(StructureError):
        gb.gb_energy(-1.0, [(1, -1.0)], 0.0)


def test_cell_gb_energy_counts_grains(gbs):
    cell = gbs["hetero"].cells[0]
    n_a, n_b = (cell.properties["gb"][k] for k in ("n_atoms_a", "n_atoms_b"))
    e = -4.0 * n_a - 5.0 * n_b + 2.0
    gamma = gb.cell_gb_energy(cell, e, -4.0, -5.0)
    assert gamma == pytest.approx(2.0 / (2 * in_plane_area(cell)))


def test_no_coincidence_is_a_clear_error(li7, core):
    with pytest.raises(StructureError, match="no CSL/coincidence within"):
        gb_match(li7, (0, 1, 0), twist=37.0, angle_tol=0.5, max_area=200.0)
    # the rectangular core (100) net: all small matches are symmetry operations
    with pytest.raises(StructureError, match="no CSL/coincidence within area <= 300"):
        gb_match(core, (1, 0, 0), max_area=300.0)


def test_no_coincidence_names_the_area_that_would_do(core):
    with pytest.raises(StructureError) as err:
        gb_match(core, (1, 0, 0), max_area=300.0)
    assert "smallest match within" not in str(err.value)  # none up to 450 A^2
    with pytest.raises(StructureError) as err:
        gb_match(core, (1, 0, 0), max_area=600.0)
    area = float(re.search(r"within 1.5x that area: (\d+) A\^2", str(err.value))[1])
    assert 600 < area <= 900
    assert gb_match(core, (1, 0, 0), max_area=area + 1).match.area == (
        pytest.approx(area, abs=0.5)
    )  # the advice works


def test_the_advised_area_covers_both_grains_of_a_hetero_match(li7, core):
    """ZSL bounds both grains' areas: the advice is the larger of the two."""
    kw = {"max_strain": 0.07, "max_length_tol": 0.08, "max_angle_tol": 0.08}
    with pytest.raises(StructureError) as err:
        gb_match(core, (1, 0, 0), li7, (0, 1, 0), flip=None, max_area=250.0, **kw)
    needs = int(re.search(r"needs max_area >= (\d+)", str(err.value))[1])
    found = gb_match(core, (1, 0, 0), li7, (0, 1, 0), flip=None, max_area=needs, **kw)
    assert max(found.match.area, found.match.film_area) <= needs


def test_a_termination_whose_grain_does_not_build_is_passed_over(core, monkeypatch):
    """A relaxed cell a tiny displacement made split unevenly: the first polyhedral
    termination gives no stoichiometric 1-layer grain (as a 1e-4 A perturbed start
    of the x = 1/4 Al2S3 core did), so the next that does is taken; none: one
    clear error naming the layer counts."""
    real = gb.layered_slab
    first = gb.polyhedral_slabs(core, (0, 1, 0))[0]

    def uneven(bulk, cand, n, vacuum, **kw):
        if cand.shift == first.shift:
            raise StructureError("1-layer slab ... is not usable: non-stoichiometric")
        return real(bulk, cand, n, vacuum, **kw)

    monkeypatch.setattr(gb, "layered_slab", uneven)
    chosen = gb._termination(core, (0, 1, 0), (1, 2))
    assert chosen.shift != first.shift
    monkeypatch.setattr(
        gb,
        "layered_slab",
        lambda *a, **k: (_ for _ in ()).throw(StructureError("non-stoichiometric")),
    )
    with pytest.raises(StructureError, match=r"gives stoichiometric grains of 1 and 2"):
        gb._termination(core, (0, 1, 0), (1, 2, 2))
