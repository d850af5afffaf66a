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
    from lpsflow.structures.hops import hop_network

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
    assert both.percolation_barrier == pytest.approx(0.2)  # the diagonals span
    assert both.hop_classes == 2 and both.hop_classes_computed == 2
    near = with_percolation(
        doc([_run([0.0, 0.3, 0.05]), _run([0.0, 0.2, 0.0], False)]), 27, 2, network,
        "bulk",
    )  # fmt: skip
    assert near.percolation_barrier == pytest.approx(0.3)  # from the lower end
    assert near.hop_classes_computed == 1
    none = with_percolation(doc([_run([0.0, 1.0, 0.0], False)]), 27, 2, network, "gb")
    assert none.percolation_barrier is None and none.percolation_axes == []
