"""Percolation barrier of a periodic hop network.

Li sites joined by hops, each with a barrier Ea; the network is periodic (a hop may
lead into a neighbouring cell, ``image``). Adding hops in order of rising Ea, the
percolation barrier is the Ea of the hop that first closes a loop winding through
the cell along an allowed axis: from then on a path of hops no higher than it
crosses the whole (periodic) cell, so long-range transport needs no higher
barrier. Union-find with each site's offset (in cells) from its cluster's root
tells a loop that winds (a non-zero net offset) from one that does not.

Written here, not taken from a library: pymatgen and ASE have no periodic
percolation on weighted edges (pymatgen-analysis-diffusion's migration graphs
need its own hop analysis and a site-energy model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Edge:
    """A hop from site ``i`` to site ``j`` in the cell ``image`` (lattice units)."""

    i: int
    j: int
    image: tuple[int, int, int]
    barrier: float


@dataclass(frozen=True)
class Percolation:
    """Where the network first spans the cell."""

    barrier: float | None
    """Ea of the hop that first completes a spanning path (None: never spans);
    with site energies, that hop's saddle minus the lowest site of the spanning
    cluster."""
    axes: tuple[int, ...]
    """Lattice axes the first winding loop runs along (0, 1, 2 = a, b, c)."""
    winding: tuple[int, int, int] | None
    """Net lattice translation of that loop."""
    saddle: float | None = None
    """With site energies: the saddle energy at which the cell is first spanned."""
    lowest_site: int | None = None
    """With site energies: the lowest site of the spanning cluster."""


class _Clusters:
    """Union-find over sites; ``offset[k]``: cell of site k relative to its parent."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.offset = [np.zeros(3, dtype=int) for _ in range(n)]

    def find(self, k: int) -> tuple[int, np.ndarray]:
        path = []
        while self.parent[k] != k:
            path.append(k)
            k = self.parent[k]
        root, total = k, np.zeros(3, dtype=int)
        for node in reversed(path):  # compress, keeping offsets to the root
            total = total + self.offset[node]
            self.parent[node], self.offset[node] = root, total.copy()
        return root, total


def percolation_barrier(
    n_sites: int,
    edges: Sequence[Edge],
    axes: Sequence[int] = (0, 1, 2),
    site_energies: Sequence[float | None] | None = None,
) -> Percolation:
    """The lowest Ea at which ``edges`` join into a path spanning the cell.

    Only loops winding along ``axes`` count (the boundary plane's two in-plane
    axes for a path along a GB; all three in a grain). Without ``site_energies``
    each edge's ``barrier`` is its own Ea and the result is the min-max single-hop
    barrier. With them (one per site, eV, the same reference as the edges), each
    edge's ``barrier`` is its saddle energy and the result is the saddle at which
    the cell is first spanned minus the lowest site of the cluster that spans: a
    carrier in that cluster's deepest site must climb that high to cross the
    cell. Raises ``ValueError`` if a site of that cluster has no energy.
    """
    clusters = _Clusters(n_sites)
    allowed = np.zeros(3, dtype=bool)
    allowed[list(axes)] = True
    for e in sorted(edges, key=lambda e: e.barrier):
        ri, oi = clusters.find(e.i)
        rj, oj = clusters.find(e.j)
        # site j's image at oi + image, relative to root ri; j sits at oj from rj
        shift = oi + np.asarray(e.image, dtype=int) - oj
        if ri != rj:
            clusters.parent[rj] = ri
            clusters.offset[rj] = shift
            continue
        if np.any(shift[allowed] != 0):
            axes_hit = tuple(int(a) for a in np.flatnonzero(shift != 0) if allowed[a])
            winding = tuple(int(s) for s in shift)
            if site_energies is None:
                return Percolation(e.barrier, axes_hit, winding)
            members = [k for k in range(n_sites) if clusters.find(k)[0] == ri]
            if any(site_energies[k] is None for k in members):
                raise ValueError("a site of the spanning cluster has no site energy")
            low = min(members, key=lambda k: site_energies[k])  # type: ignore[arg-type,return-value]
            return Percolation(
                e.barrier - site_energies[low],  # type: ignore[operator]
                axes_hit, winding, saddle=e.barrier, lowest_site=low,
            )  # fmt: skip
    return Percolation(None, (), None)


def spanning_prefix(
    n_sites: int,
    network: Sequence[tuple[int, int, tuple[int, int, int], int]],
    axes: Sequence[int] = (0, 1, 2),
) -> int | None:
    """How many classes, shortest first, it takes for their hops to span the cell.

    ``network``: ``(i, j, image, class)`` per hop (classes numbered shortest
    first, :func:`lpsflow.structures.hops.hop_network`). The geometric
    percolation of the hop network: the classes a barrier calculation needs
    before a spanning path can exist at all. None: all of them do not span.
    """
    edges = [Edge(i, j, image, float(c)) for i, j, image, c in network]
    first = percolation_barrier(n_sites, edges, axes).barrier
    return None if first is None else int(first) + 1


def spanning_classes(
    n_sites: int,
    network: Sequence[tuple[int, int, tuple[int, int, int], int]],
    axes: Sequence[int] = (0, 1, 2),
) -> list[int] | None:
    """Few hop classes whose hops span the cell, none longer than it takes.

    The geometric bottleneck first: the classes up to :func:`spanning_prefix`
    (numbered shortest first) hold the spanning paths whose longest hop is as
    short as any can be. Most of those classes are not on such a path; they
    are dropped one at a time, longest first (the bottleneck class itself
    cannot go), while the rest still span. What remains is irreducible: every
    class in it is needed for the path. A GB cell whose 13-14 classes span
    after the shortest-first prefix spans with 4 of them. None: the classes
    never span.
    """
    prefix = spanning_prefix(n_sites, network, axes)
    if prefix is None:
        return None

    def spans(keep: set[int]) -> bool:
        edges = [Edge(i, j, im, 0.0) for i, j, im, c in network if c in keep]
        return percolation_barrier(n_sites, edges, axes).barrier is not None

    keep = set(range(prefix))
    for c in range(prefix - 2, -1, -1):
        if spans(keep - {c}):
            keep.discard(c)
    return sorted(keep)
