"""GB excess volume: its formula, and a relaxation that lets it relax.

A periodic bicrystal's height normal to the boundaries comes from a contact
construction; the GB relaxation (``relax_cell="normal"``) relaxes it with the atoms,
and the excess volume per area is read from the relaxed cell.
"""

from __future__ import annotations

import numpy as np
import pytest
from jobflow import run_locally
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from lpsflow.calculators.base import GRAIN_BOUNDARY, NORMAL
from lpsflow.calculators.mlip import ZZ_ONLY, MLIPBackend
from lpsflow.campaign import CalculatorSettings
from lpsflow.descriptors.grain_boundaries.jobs import (
    normal_scan,
    restore_gb_properties,
)
from lpsflow.errors import StructureError
from lpsflow.jobs.screening import single_points
from lpsflow.structures.grain_boundaries import (
    boundary_planes,
    build_with_settings,
    cell_excess_volume,
    separate_grains,
)
from lpsflow.structures.library import load_structure
from lpsflow.structures.slab_geometry import in_plane_area


def _bulk_bicrystal(gap: float = 0.0) -> tuple[Structure, float]:
    """Cubic Li2S stacked 4 cells along z, the halves labelled as two grains;
    ``gap`` (A) opened at the cell edge (Cartesian positions kept). Also the bulk
    volume per atom."""
    conv = SpacegroupAnalyzer(
        load_structure("Li2S")
    ).get_conventional_standard_structure()
    cell = conv.make_supercell([1, 1, 4], in_place=False)
    cell.add_site_property(
        "grain", ["A" if f < 0.5 else "B" for f in cell.frac_coords[:, 2]]
    )
    if gap:
        m = cell.lattice.matrix
        cell = Structure(
            Lattice([m[0], m[1], m[2] + [0, 0, gap]]), cell.species, cell.cart_coords,
            coords_are_cartesian=True, site_properties=cell.site_properties,
        )  # fmt: skip
    return cell, conv.volume / len(conv)


def test_excess_volume_of_a_bulk_cut_is_zero_and_half_an_opened_gap():
    cell, v = _bulk_bicrystal()
    assert cell_excess_volume(cell, v) == pytest.approx(0.0, abs=1e-9)
    opened, v = _bulk_bicrystal(gap=0.8)
    # one gap of 0.8 A over two boundaries per cell: 0.4 A per boundary
    assert cell_excess_volume(opened, v) == pytest.approx(0.4, abs=1e-6)
    # grain B's own reference counts for its atoms only
    n_b = opened.site_properties["grain"].count("B")
    expect = 0.4 - n_b * 0.1 / (2 * in_plane_area(opened))
    assert cell_excess_volume(opened, v, v + 0.1) == pytest.approx(expect)
    with pytest.raises(StructureError, match="grain"):
        cell_excess_volume(Structure(cell.lattice, cell.species, cell.frac_coords), v)


def test_relaxed_planes_follow_the_normal_and_the_in_plane_cell_is_held():
    cell, _ = _bulk_bicrystal(gap=0.5)
    cell.properties["gb"] = {"boundary_z": [5.0, 0.0]}
    longer = Structure(
        Lattice(cell.lattice.matrix * [[1], [1], [1.1]]), cell.species, cell.frac_coords
    )
    out = restore_gb_properties(longer, cell)
    # midway across each gap of the relaxed cell (below grain B first)
    z = out.frac_coords[:, 2] * out.lattice.c
    grain = np.array(out.site_properties["grain"])
    below_b = (z[grain == "A"].max() + z[grain == "B"].min()) / 2
    assert out.properties["gb"]["boundary_z"][0] == pytest.approx(below_b)
    assert out.properties["gb"]["boundary_z"] == pytest.approx(boundary_planes(out))
    assert cell.properties["gb"]["boundary_z"] == [5.0, 0.0]  # screened one kept
    assert out.site_properties["grain"] == cell.site_properties["grain"]
    wider = Structure(
        Lattice(cell.lattice.matrix * [[1.02], [1], [1]]),
        cell.species,
        cell.frac_coords,
    )
    with pytest.raises(StructureError, match="in-plane"):
        restore_gb_properties(wider, cell)


def test_mlip_maker_masks_the_cell_strain_to_zz():
    backend = MLIPBackend(CalculatorSettings())
    normal = backend.relax_maker(GRAIN_BOUNDARY, relax_cell=NORMAL)
    assert normal.relax_cell is True
    assert normal.relax_kwargs["filter_kwargs"] == {"mask": list(ZZ_ONLY)}
    fixed = backend.relax_maker(GRAIN_BOUNDARY, relax_cell=False)
    assert fixed.relax_cell is False and "filter_kwargs" not in fixed.relax_kwargs


def _homo_gb() -> Structure:
    """The homo Li7P3S11 (010) 180-degree GB, 1 + 1 layers (84 atoms)."""
    li7 = load_structure("Li7P3S11")
    gb = build_with_settings(
        li7, (0, 1, 0), None, None, {"layers_a": 1, "layers_b": 1, "twist": 180.0},
        shift_grid=[(0.0, 0.0)], kind="homo",
    ).cells[0]  # fmt: skip
    m = gb.lattice.matrix
    assert np.allclose(m[:2, 2], 0) and np.allclose(m[2, :2], 0)  # c normal to a, b
    return gb


def test_separating_the_grains_opens_both_boundaries_rigidly():
    gb = _homo_gb()
    v = load_structure("Li7P3S11").volume / 42
    for delta in (-0.3, 0.5):
        moved = separate_grains(gb, delta)
        assert moved.lattice.c == pytest.approx(gb.lattice.c + 2 * delta)
        assert np.allclose(moved.lattice.matrix[:2], gb.lattice.matrix[:2])
        ev = cell_excess_volume(moved, v) - cell_excess_volume(gb, v)
        assert ev == pytest.approx(delta)
        # each grain moved as a whole: its own distances are the same
        for grain in "AB":
            idx = [i for i, g in enumerate(gb.site_properties["grain"]) if g == grain]
            before = gb.distance_matrix[np.ix_(idx, idx)]
            assert np.allclose(moved.distance_matrix[np.ix_(idx, idx)], before)
        planes = sorted(boundary_planes(moved))
        gaps = _gaps(moved)
        assert np.allclose(gaps, np.array(_gaps(gb)) + delta, atol=1e-6)
        assert 0 <= planes[0] < planes[1] < moved.lattice.c


def _gaps(cell: Structure) -> list[float]:
    """Height of the empty layer at each boundary (A), below grain B first."""
    g = np.array(cell.site_properties["grain"])
    z = (cell.frac_coords[:, 2] % 1.0) * cell.lattice.c
    order = np.argsort(z)
    g, z = g[order], z[order]
    gaps = {
        g[i]: (z[i] - z[i - 1]) % cell.lattice.c
        for i in range(len(g))
        if g[i] != g[i - 1]
    }
    return [float(gaps["B"]), float(gaps["A"])]


def test_the_separation_scan_walks_back_to_the_lowest_energy():
    """Both boundaries opened by 0.6 A: the scan walks downhill, closer, and
    stops where the energy rises."""
    opened = separate_grains(_homo_gb(), 0.6)
    e0 = single_points([opened], "CHGNet", "cpu")[0]
    scan = normal_scan(opened, e0, 0.2, 8, "CHGNet", "cpu")
    offsets = [d for d, _, _ in scan]
    assert offsets[:3] == [0.0, -0.2, 0.2]
    best = min(scan, key=lambda t: t[1])
    assert best[0] <= -0.4 and best[1] < e0
    walked = [t for t in scan[3:]]
    assert [d for d, _, _ in walked] == pytest.approx(
        [-0.2 * k for k in range(2, 2 + len(walked))]
    )
    assert walked[-1][1] >= best[1] or len(walked) == 7  # stopped going up
    assert scan[offsets.index(best[0])][2].lattice.c == pytest.approx(
        opened.lattice.c + 2 * best[0]
    )
    assert normal_scan(opened, e0, 0.0, 8, "CHGNet", "cpu") == [(0.0, e0, opened)]


def test_the_normal_relaxation_changes_only_the_normal_length(tmp_path, monkeypatch):
    """From the contact cell, the relaxation with the normal free shortens c
    (the contact construction leaves the grains too far apart for this model);
    the in-plane cell stays, and the fixed-cell relaxation keeps the cell."""
    gb = _homo_gb()
    settings = CalculatorSettings(fmax=0.1, max_steps=40)
    monkeypatch.chdir(tmp_path)
    out = {}
    for relax_cell in (NORMAL, False):
        maker = MLIPBackend(settings).relax_maker(GRAIN_BOUNDARY, relax_cell)
        job = maker.make(gb)
        res = run_locally(job, ensure_success=True, log=False)
        out[relax_cell] = res[job.uuid][1].output.structure
    relaxed = restore_gb_properties(out[NORMAL], gb)
    m = gb.lattice.matrix
    assert np.allclose(relaxed.lattice.matrix[:2], m[:2], atol=1e-6)
    assert np.allclose(relaxed.lattice.matrix[2, :2], 0, atol=1e-6)
    assert gb.lattice.c - relaxed.lattice.c > 0.1
    assert np.allclose(out[False].lattice.matrix, m)
    v = load_structure("Li7P3S11").volume / 42
    assert cell_excess_volume(relaxed, v) < cell_excess_volume(gb, v) - 0.05


def test_grains_that_interleave_are_not_scanned():
    """A contact cell whose grains interleave along the normal has no two
    boundaries to open: the scan keeps the contact cell (no crash)."""
    gb = _homo_gb()
    grain = list(gb.site_properties["grain"])
    z = gb.frac_coords[:, 2]
    a_mid = min(
        (k for k, g in enumerate(grain) if g == "A"),
        key=lambda k: abs(z[k] - np.mean(z[np.array(grain) == "A"])),
    )
    grain[a_mid] = "B"  # one B atom inside grain A
    mixed = gb.copy(site_properties={"grain": grain})
    with pytest.raises(StructureError, match="interleave"):
        boundary_planes(mixed)
    assert normal_scan(mixed, -1.0, 0.2, 8, "CHGNet", "cpu") == [(0.0, -1.0, mixed)]
