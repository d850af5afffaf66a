"""The percolation barrier of periodic toy hop networks."""

from __future__ import annotations

import pytest

from lpsflow.analysis.percolation import Edge, percolation_barrier


def test_a_chain_spans_at_its_highest_hop():
    # two sites per cell along a: 0 -> 1 cheap, 1 -> 0 of the next cell dear
    edges = [Edge(0, 1, (0, 0, 0), 0.2), Edge(1, 0, (1, 0, 0), 0.5)]
    perc = percolation_barrier(2, edges)
    assert perc.barrier == 0.5 and perc.axes == (0,) and perc.winding == (1, 0, 0)


def test_the_cheapest_direction_and_the_allowed_axes():
    # one site per cell: hops along a at 0.3, along b at 0.1, along c at 0.05
    edges = [
        Edge(0, 0, (1, 0, 0), 0.3),
        Edge(0, 0, (0, 1, 0), 0.1),
        Edge(0, 0, (0, 0, 1), 0.05),
    ]
    assert percolation_barrier(1, edges).barrier == 0.05
    along_gb = percolation_barrier(1, edges, axes=(0, 1))  # c: the boundary normal
    assert along_gb.barrier == 0.1 and along_gb.axes == (1,)
    assert percolation_barrier(1, edges, axes=(0,)).barrier == 0.3


def test_closed_loops_do_not_span():
    # a cheap triangle inside the cell, then one dear hop that winds
    edges = [
        Edge(0, 1, (0, 0, 0), 0.05),
        Edge(1, 2, (0, 0, 0), 0.05),
        Edge(2, 0, (0, 0, 0), 0.05),
        Edge(2, 3, (0, 0, 0), 0.1),
        Edge(3, 0, (0, 1, 0), 0.4),
    ]
    perc = percolation_barrier(4, edges)
    assert perc.barrier == 0.4 and perc.winding == (0, 1, 0)
    # a path that leaves the cell and comes back through the same face: no span
    back = [Edge(0, 1, (1, 0, 0), 0.1), Edge(1, 0, (-1, 0, 0), 0.2)]
    assert percolation_barrier(2, back).barrier is None


def test_offsets_survive_long_chains():
    # ten sites in a row across the cell, shuffled barriers: spans at the highest
    n = 10
    edges = [
        Edge(k, k + 1, (0, 0, 0), 0.1 + 0.01 * ((7 * k) % n)) for k in range(n - 1)
    ]
    edges.append(Edge(n - 1, 0, (0, 0, 1), 0.12))
    perc = percolation_barrier(n, edges)
    assert perc.barrier == max(e.barrier for e in edges)
    assert perc.winding == (0, 0, 1)


def _run(energies, converged=True):
    from lpsflow.descriptors.migration.neb import NebDoc

    return NebDoc(
        energies=energies, relative_energies=energies, converged=converged,
        barrier=max(energies) - energies[0] if converged else None,
        endpoints_converged=True, n_steps=1, n_images=1, fmax=0.1, max_steps=10,
        images=[],
    )  # fmt: skip


def test_percolation_of_a_neb_path_from_its_hop_classes():
    """A simple cubic Li lattice: nearest-neighbour hops span along every axis,
    face diagonals too; classes not computed give no edges."""
    from pymatgen.core import Lattice, Structure

    from lpsflow.descriptors.migration.jobs import NebHopsDoc, with_percolation
    from lpsflow.structures.hops import hop_network, reversed_pairs

    cell = Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]])
    cell.make_supercell([3, 3, 3])
    classes, network = hop_network(cell, max_distance=4.5)
    assert [round(c.distance, 2) for c in classes] == [3.0, 4.24]
    assert len(network) == 27 * (6 + 12) // 2  # every pair once

    def doc(runs):
        fields = {"label": "x", "path": "bulk", "host_formula": "Li", "host_atoms": 27,
                  "host_job": "h", "host_converged": True, "hops": []}  # fmt: skip
        return NebHopsDoc.from_runs(fields, runs, "CHGNet", {})

    both = with_percolation(
        doc([_run([0.0, 0.3, 0.05]), _run([0.0, 0.2, 0.0])]), 27, 2, network, "bulk"
    )
    assert both.percolation_hop_barrier == pytest.approx(0.2)  # the diagonals span
    assert both.percolation_barrier is None  # no site energies without flips
    assert both.hop_classes == 2 and both.hop_classes_computed == 2
    near = with_percolation(
        doc([_run([0.0, 0.3, 0.05]), _run([0.0, 0.2, 0.0], False)]), 27, 2, network,
        "bulk",
    )  # fmt: skip
    assert near.percolation_hop_barrier == pytest.approx(0.3)  # from the lower end
    assert near.hop_classes_computed == 1
    none = with_percolation(doc([_run([0.0, 1.0, 0.0], False)]), 27, 2, network, "gb")
    assert none.percolation_hop_barrier is None and none.percolation_axes == []
    # with site energies: every site alike, so the saddle above the sites
    flips = reversed_pairs(cell, classes, network)
    sites = with_percolation(
        doc([_run([-10.0, -9.7, -9.95]), _run([-10.0, -9.8, -10.0])]),
        27, 2, network, "bulk", flips,
    )  # fmt: skip
    # diagonal saddle -9.8 spans; lowest site -10.0 (the diagonals' ends)
    assert sites.percolation_barrier == pytest.approx(0.2)
    assert sites.percolation_hop_barrier == pytest.approx(0.2)


def test_spanning_prefix_counts_the_classes_a_path_needs():
    """Sites in a square net: class 0 joins pairs (no span), class 1 joins the
    pairs along a, class 2 along b."""
    from lpsflow.analysis.percolation import spanning_prefix

    network = [
        (0, 1, (0, 0, 0), 0),  # a closed pair inside the cell
        (1, 0, (1, 0, 0), 1),  # then the pairs chain along a
        (0, 0, (0, 1, 0), 2),  # then along b
    ]
    assert spanning_prefix(2, network) == 2
    assert spanning_prefix(2, network, axes=(1,)) == 3
    assert spanning_prefix(2, network, axes=(2,)) is None
    assert spanning_prefix(2, network[:1]) is None


def test_a_spanning_request_computes_the_shortest_and_the_spanning_classes():
    """Simple cubic Li: nearest-neighbour hops (class 0) span at once."""
    from pymatgen.core import Lattice, Structure

    from lpsflow.descriptors.migration.jobs import HopRequest, classes_needed
    from lpsflow.structures.hops import hop_network

    cell = Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]])
    cell.make_supercell([3, 3, 3])
    classes, network = hop_network(cell, max_distance=4.5)
    span = HopRequest(n_hops=5, spanning=True)
    assert classes_needed(27, network, "bulk", span, len(classes)) == [0]
    assert classes_needed(27, network, "bulk", HopRequest(n_hops=2), 2) == [0, 1]
    assert classes_needed(27, network, "bulk", HopRequest(n_hops=3), 2) == [0, 1]
    diagonals = [row for row in network if row[3] == 1]  # face diagonals only
    relabelled = [(i, j, im, 0) for i, j, im, _ in diagonals]
    assert classes_needed(27, relabelled, "gb", span, 1) == [0]
    # nothing can span: the shortest only (more NEBs would not make a path)
    assert classes_needed(27, relabelled[:1], "bulk", span, 1) == [0]
    assert classes_needed(27, [], "bulk", span, 0) == []  # no class at all
    # a chain that needs classes 0 and 3 (1, 2 are closed pairs): 1 and 2 skipped
    chain = [
        (0, 1, (0, 0, 0), 0),
        (2, 3, (0, 0, 0), 1),
        (3, 2, (0, 0, 0), 2),
        (1, 0, (1, 0, 0), 3),
    ]
    assert classes_needed(4, chain, "bulk", span, 4) == [0, 3]
    two = HopRequest(n_hops=2, spanning=True)
    assert classes_needed(4, chain, "bulk", two, 4) == [0, 3]
    one = HopRequest(n_hops=1, spanning=True)
    assert classes_needed(4, chain, "bulk", one, 4) == [0]  # more than allowed
    # the spanning set fills the cap: the shortest class gives way
    skip = [(0, 1, (0, 0, 0), 1), (1, 0, (1, 0, 0), 2), (2, 3, (0, 0, 0), 0)]
    assert classes_needed(4, skip, "bulk", two, 3) == [1, 2]
    assert classes_needed(4, skip, "bulk", span, 3) == [0, 1, 2]


def test_spanning_classes_keep_the_bottleneck_and_drop_the_rest():
    """Two sites, classes shortest first: 0 joins them, 1 is a closed loop
    inside the cell, 2 a short detour that does not wind, 3 closes a loop
    along a; 4 (longer) would span along b. The spanning set is {0, 3}: 1 and 2
    are not needed, 4 is longer than the bottleneck."""
    from lpsflow.analysis.percolation import spanning_classes

    network = [
        (0, 1, (0, 0, 0), 0),
        (0, 1, (0, 0, 0), 1),
        (1, 1, (0, 0, 0), 2),
        (1, 0, (1, 0, 0), 3),
        (0, 0, (0, 1, 0), 4),
    ]
    assert spanning_classes(2, network) == [0, 3]
    assert spanning_classes(2, network, axes=(1,)) == [4]  # a self-loop along b
    assert spanning_classes(2, network, axes=(2,)) is None
    # one class can do it alone, though a shorter one joins the sites first
    assert spanning_classes(2, [(0, 1, (0, 0, 0), 0), (0, 0, (1, 0, 0), 1)]) == [1]


def test_neb_settings_take_a_number_or_spanning():
    from lpsflow.campaign_branches import MAX_SPANNING_HOPS, NebSettings
    from lpsflow.descriptors.migration.flow import NebMaker

    assert NebSettings(n_hops="spanning").n_hops == "spanning"
    assert NebSettings(n_hops=3).n_hops == 3
    for bad in (0, 7, "all"):
        with pytest.raises(ValueError):
            NebSettings(n_hops=bad)
    request = NebMaker(n_hops="spanning")._hops()
    assert request.spanning and request.n_hops == MAX_SPANNING_HOPS
    assert not NebMaker(n_hops=2)._hops().spanning


def test_the_migration_criterion_compares_percolation_barriers_when_both_span():
    from lpsflow.descriptors.migration.read import faster_along_gb

    row = {"Ea_gb": 0.20, "Ea_bulk": 0.30, "Ea_perc_gb": 0.45, "Ea_perc_bulk": 0.35}
    for col in list(row):  # every class of each region computed: exact
        row |= {f"{col}_spread": 0.0, f"{col}_samples": 3}
    value, _, status, reason = faster_along_gb(row, None)
    assert value == pytest.approx(0.10) and status == "fail"
    assert reason.startswith("percolation Ea")
    row["Ea_perc_bulk"] = None  # the bulk hops computed do not span
    value, _, status, reason = faster_along_gb(row, None)
    assert value == pytest.approx(-0.10) and status == "pass"
    assert "lowest single-hop" in reason and "neb.n_hops: spanning" in reason
    row["Ea_perc_gb_spread"] = 0.2  # classes left: could fall below the grain's
    row["Ea_perc_bulk"] = 0.35
    value, _, status, reason = faster_along_gb(row, None)
    assert status == "undecided" and "inside the spread 0.2" in reason
    row["Ea_perc_bulk"] = None
    row["hop_classes_gb"], row["hop_classes_bulk"] = "1/22", "1/25"
    assert (
        "classes computed/in region gb 1/22, bulk 1/25" in faster_along_gb(row, None)[3]
    )


def test_site_energies_turn_saddles_into_the_path_barrier():
    """Sites 0 (deep, 0.0 eV) and 1, 2 (0.3 eV) in a chain along a: 0-1 and 2-0'
    cross saddles at 0.35 eV, 1-2 at 0.55 eV. Each hop from its lower end is
    at most 0.35 eV, but a carrier leaving the deep site must reach 0.55 eV."""
    edges = [
        Edge(0, 1, (0, 0, 0), 0.35),
        Edge(1, 2, (0, 0, 0), 0.55),
        Edge(2, 0, (1, 0, 0), 0.35),
    ]
    perc = percolation_barrier(3, edges, site_energies=[0.0, 0.3, 0.3])
    assert perc.barrier == pytest.approx(0.55) and perc.lowest_site == 0
    assert perc.saddle == pytest.approx(0.55)
    # the deepest site of the spanning cluster counts, not one left outside it
    trap = [*edges, Edge(3, 0, (0, 0, 0), 0.9)]
    perc = percolation_barrier(4, trap, site_energies=[0.0, 0.3, 0.3, -1.0])
    assert perc.barrier == pytest.approx(0.55) and perc.lowest_site == 0
    deep = [*edges, Edge(3, 1, (0, 0, 0), 0.2)]
    perc = percolation_barrier(4, deep, site_energies=[0.0, 0.3, 0.3, -0.1])
    assert perc.barrier == pytest.approx(0.65) and perc.lowest_site == 3
    with pytest.raises(ValueError, match="site energy"):
        percolation_barrier(3, edges, site_energies=[0.0, None, 0.3])


def test_site_energies_of_a_chain_with_a_deep_site():
    """Li along a at x = 0, 3, 6 A (a = 9 A), an S beside the first: sites A
    (x = 0) and B (3, 6). Classes: A-B (two pairs, one matched the other way
    round) and B-B. A vacancy on A is 0.3 eV deeper; the B-B saddle is the
    highest: the path costs 0.85 eV, though no hop from its lower end exceeds
    0.65 eV."""
    from pymatgen.core import Lattice, Structure

    from lpsflow.descriptors.migration.jobs import NebHopsDoc, with_percolation
    from lpsflow.structures.hops import hop_network, reversed_pairs

    cell = Structure(
        Lattice.orthorhombic(9.0, 6.0, 6.0),
        ["Li", "Li", "Li", "S"],
        [[1 / 3, 0, 0], [0, 0, 0], [2 / 3, 0, 0], [0, 0.42, 0]],
    )  # site 1 is A: pairs are listed i < j, so (0, 1) is B-A and (1, 2) A-B
    classes, network = hop_network(cell, max_distance=4.5)
    assert len(classes) == 2 and [c.multiplicity for c in classes] == [2, 1]
    flips = reversed_pairs(cell, classes, network)
    ab = [(i, j, f) for (i, j, _, c), f in zip(network, flips, strict=True) if c == 0]
    assert sorted(f for _, _, f in ab) == [False, True]
    a_first = classes[0].i == 1  # the class's hop starts on the deep site A
    deep, shallow = -10.3, -10.0
    ends = (shallow, deep) if a_first else (deep, shallow)  # (vac at j, vac at i)
    fields = {"label": "x", "path": "bulk", "host_formula": "Li3S", "host_atoms": 4,
              "host_job": "h", "host_converged": True, "hops": []}  # fmt: skip
    runs = [_run([ends[0], -9.65, ends[1]]), _run([shallow, -9.45, shallow])]
    doc = with_percolation(
        NebHopsDoc.from_runs(fields, runs, "CHGNet", {}), 4, 2, network, "bulk", flips
    )
    assert doc.percolation_barrier == pytest.approx(0.85)
    assert doc.percolation_hop_barrier == pytest.approx(0.65)
    assert doc.percolation_axes == [0]


def test_the_percolation_line_shows_with_the_bulk_path_only():
    import pandas as pd

    from lpsflow.descriptors.migration.show import _percolation

    row = {
        "accelerant": "Al2S3", "scheme": "Li-site",
        "hop_classes_gb": None, "hop_classes_gb_Li7P3S11": None,
        "hop_classes_bulk": "12/122", "Ea_perc_bulk": None,
        "hop_classes_bulk_Li7P3S11": "5/22", "Ea_perc_bulk_Li7P3S11": 0.267,
    }  # fmt: skip
    text = _percolation(pd.DataFrame([row])).text
    assert "Li7P3S11 - / +0.267 [5/22]" in text and "Al2S3 - / - [12/122]" in text
    none = {**row, "hop_classes_bulk": None, "hop_classes_bulk_Li7P3S11": None}
    assert _percolation(pd.DataFrame([none])) is None


def test_relaxation_noise_does_not_split_the_unrelaxed_classes():
    """A cell shaken by 0.05 A (a relaxation's small distortions) has many more
    distinct pairs than its unshaken start; judged on the start, the classes
    are the start's, and the pairs and hop lengths stay the shaken cell's."""
    import numpy as np

    from lpsflow.analysis.percolation import spanning_prefix
    from lpsflow.descriptors.migration.jobs import unrelaxed
    from lpsflow.structures.hops import hop_network, reversed_pairs
    from lpsflow.structures.library import load_structure

    start = load_structure("Li3PS4")
    start.make_supercell([1, 2, 2])
    shaken = start.copy()
    rng = np.random.default_rng(7)
    for k in range(len(shaken)):
        shaken.translate_sites([k], rng.normal(0, 0.05, 3), frac_coords=False)
    ref_classes, ref_net = hop_network(start)
    noisy, _ = hop_network(shaken)
    classes, network = hop_network(shaken, reference=start)
    assert len(noisy) > 2 * len(ref_classes)
    assert len(classes) == len(ref_classes)
    lengths = [c.distance for c in classes]  # numbered by the shaken cell's lengths
    assert lengths == sorted(lengths)
    # pairs near the 4.5 A cut-off may come or go (and wrapped atoms change the
    # image): the pairs of both keep the start's class
    ref_class = {(i, j): c for i, j, _, c in ref_net}
    same = [ref_class[(i, j)] == c for i, j, _, c in network if (i, j) in ref_class]
    assert len(same) > 0.9 * len(ref_net) and all(same)
    assert classes[0].distance == pytest.approx(
        shaken.get_distance(classes[0].i, classes[0].j)
    )
    assert spanning_prefix(len(shaken), network) == spanning_prefix(len(start), ref_net)
    assert len(reversed_pairs(shaken, classes, network, reference=start)) == len(
        network
    )
    # the start of a relaxation, read from its task document
    doc = {"structure": shaken, "input": {"mol_or_struct": start.as_dict()}}
    assert unrelaxed(doc, shaken) == start
    assert unrelaxed({"structure": shaken}, shaken) is None
    other = start.copy()
    other.replace(0, "Na")
    assert unrelaxed({"input": {"structure": other}}, shaken) is None


def test_pairs_to_two_images_of_one_site_stay_apart_on_the_start():
    """Li at x = 0 and 1.8 A in a 6 A cell: the 1.8 A and 4.2 A pairs join the
    same two sites (different images). Judged on the start they stay two
    classes, also when the relaxation moved an atom across the cell face."""
    from pymatgen.core import Lattice, Structure

    from lpsflow.structures.hops import hop_network

    start = Structure(
        Lattice.orthorhombic(6.0, 9.0, 9.0), ["Li", "Li"], [[0.01, 0, 0], [0.31, 0, 0]]
    )
    moved = start.copy()
    moved.translate_sites([0], [-0.02, 0, 0], to_unit_cell=True)  # wraps to 0.99
    assert moved.frac_coords[0][0] == pytest.approx(0.99)
    for host in (start, moved):
        classes, network = hop_network(host, max_distance=4.5, reference=start)
        lengths = [round(c.distance, 2) for c in classes]
        assert lengths == ([1.8, 4.2] if host is start else [1.92, 4.08])
        assert sorted(c for *_, c in network) == [0, 1]
