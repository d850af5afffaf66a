"""CHGNet's crystal graph built from ASE arrays with numpy, not edge by edge.

chgnet's ``CrystalGraphConverter`` turns the ASE atoms into a pymatgen Structure,
then builds its atom graph one directed edge at a time (a Python or Cython loop
that makes an object per edge) and its bond (angle) graph by walking those
objects. For the 126-348 atom cells of a campaign that is 12-20 % of every force
call on a CPU (60 ms of 500 ms for a 348-atom interface). :func:`crystal_graph`
builds the same :class:`chgnet.graph.CrystalGraph` (same arrays, same order) from
the atoms' positions and cell with a few array operations:

* the neighbour list is pymatgen's ``find_points_in_spheres``, as chgnet calls it
  through ``Structure.get_neighbor_list``;
* each directed edge i->j (image n) is paired with its reverse j->i (image -n);
  the undirected edge takes the index of the pair's first directed edge, in order
  of first appearance, as chgnet's ``Graph.add_edge`` numbers them;
* the angles of each bond shorter than the bond-graph cutoff list the other short
  bonds of the same atom in the order chgnet's ``Node.neighbors`` holds them
  (grouped by neighbour, in order of the neighbour's first appearance).

Anything chgnet's rules would treat differently (a directed edge without its
reverse, say) falls back to chgnet's own converter, so the graph is always the
one chgnet would build; ``tests/test_speedups.py`` checks the arrays are equal.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import torch
from chgnet.graph import CrystalGraph
from pymatgen.core import Composition
from pymatgen.optimization.neighbors import find_points_in_spheres

if TYPE_CHECKING:
    from ase import Atoms
    from chgnet.graph import CrystalGraphConverter

#: chgnet's float dtype for coordinates and images.
TORCH_DTYPE = torch.float32


class GraphMismatch(ValueError):
    """The edges do not pair as this module assumes: use chgnet's converter."""


def _pair_edges(
    center: np.ndarray, neighbor: np.ndarray, image: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed->undirected index, undirected->first directed, reverse partner."""
    n_edges = len(center)
    # one integer key per (center, neighbor, image); images are small integers
    span = int(np.abs(image).max(initial=0)) + 1
    width = 2 * span + 1
    n_atoms = int(max(center.max(initial=0), neighbor.max(initial=0))) + 1

    def key(c: np.ndarray, n: np.ndarray, img: np.ndarray) -> np.ndarray:
        k = c.astype(np.int64) * n_atoms + n
        for axis in range(3):
            k = k * width + (img[:, axis] + span)
        return k

    keys = key(center, neighbor, image)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    if n_edges and np.any(sorted_keys[1:] == sorted_keys[:-1]):
        raise GraphMismatch("repeated directed edge")
    wanted = key(neighbor, center, -image)
    pos = np.searchsorted(sorted_keys, wanted)
    pos = np.minimum(pos, max(n_edges - 1, 0))
    if n_edges and not np.array_equal(sorted_keys[pos], wanted):
        raise GraphMismatch("a directed edge without its reverse")
    partner = order[pos]
    first = np.minimum(np.arange(n_edges), partner)
    firsts = np.flatnonzero(first == np.arange(n_edges))  # one per undirected edge
    directed2undirected = np.searchsorted(firsts, first)
    return directed2undirected, firsts, partner


def _bond_graph(
    center: np.ndarray,
    neighbor: np.ndarray,
    distance: np.ndarray,
    directed2undirected: np.ndarray,
    firsts: np.ndarray,
    partner: np.ndarray,
    cutoff: float,
) -> np.ndarray:
    """The line-graph rows [atom, u1, d1, u2, d2], in chgnet's order."""
    edges = np.arange(len(center))
    # the bonds an atom offers to its angles: directed edges shorter than cutoff,
    # in Node.neighbors order (by neighbour in order of first appearance, then
    # by edge index)
    short = edges[distance < cutoff]
    pair = center * (int(neighbor.max(initial=0)) + 1) + neighbor
    _, first_of_pair, inverse = np.unique(pair, return_index=True, return_inverse=True)
    pair_rank = first_of_pair[inverse]  # first edge of the same (atom, neighbour)
    offers = short[np.lexsort((short, pair_rank[short], center[short]))]
    offer_center = center[offers]
    n_atoms = int(center.max(initial=-1)) + 1
    start = np.searchsorted(offer_center, np.arange(n_atoms))
    count = np.bincount(offer_center, minlength=n_atoms)
    # the anchors: each undirected bond <= cutoff, its first then its second
    # directed edge, each at its own center
    keep = firsts[distance[firsts] <= cutoff]
    anchors = np.stack([keep, partner[keep]], axis=1).ravel()
    anchor_center = center[anchors]
    reps = count[anchor_center]
    rows_anchor = np.repeat(anchors, reps)
    rows_center = np.repeat(anchor_center, reps)
    within = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    other = offers[start[rows_center] + within]
    mask = other != rows_anchor
    rows_anchor, rows_center, other = rows_anchor[mask], rows_center[mask], other[mask]
    return np.stack(
        [
            rows_center,
            directed2undirected[rows_anchor],
            rows_anchor,
            directed2undirected[other],
            other,
        ],
        axis=1,
    )


def crystal_graph(atoms: Atoms, converter: CrystalGraphConverter) -> CrystalGraph:
    """The CrystalGraph ``converter`` makes of the Structure of ``atoms``.

    Raises :class:`GraphMismatch` where the pairing rules above do not hold.
    """
    matrix = np.asarray(atoms.cell.array, dtype=float)
    # coordinates as pymatgen's Structure holds them (fractional first)
    frac = np.dot(atoms.positions, np.linalg.inv(matrix))
    cart = np.ascontiguousarray(np.dot(frac, matrix))
    center, neighbor, image, distance = find_points_in_spheres(
        cart,
        cart,
        r=float(converter.atom_graph_cutoff),
        pbc=np.ascontiguousarray(atoms.pbc, dtype=np.int64),
        lattice=np.ascontiguousarray(matrix),
        tol=1e-8,
    )
    keep = ~((center == neighbor) & (distance <= 1e-8))
    center, neighbor = center[keep].astype(np.int64), neighbor[keep].astype(np.int64)
    image, distance = image[keep].astype(np.int64), distance[keep]
    n_atoms = len(atoms)
    if len(np.unique(center)) < n_atoms:
        raise GraphMismatch("isolated atom")  # chgnet's converter reports these
    d2u, firsts, partner = _pair_edges(center, neighbor, image)
    bonds = _bond_graph(
        center, neighbor, distance, d2u, firsts, partner,
        float(converter.bond_graph_cutoff),
    )  # fmt: skip
    if not len(bonds):
        raise GraphMismatch("no bond angles")  # chgnet keeps an empty 1-d tensor
    symbols = atoms.get_chemical_symbols()
    return CrystalGraph(
        atomic_number=torch.tensor(atoms.numbers, dtype=torch.int32),
        atom_frac_coord=torch.tensor(frac, dtype=TORCH_DTYPE, requires_grad=True),
        atom_graph=torch.tensor(np.stack([center, neighbor], 1), dtype=torch.int32),
        neighbor_image=torch.tensor(image, dtype=TORCH_DTYPE),
        directed2undirected=torch.tensor(d2u, dtype=torch.int32),
        undirected2directed=torch.tensor(firsts, dtype=torch.int32),
        bond_graph=torch.tensor(bonds, dtype=torch.int32),
        lattice=torch.tensor(matrix, dtype=TORCH_DTYPE, requires_grad=True),
        composition=Composition(Counter(symbols)).formula,
        atom_graph_cutoff=converter.atom_graph_cutoff,
        bond_graph_cutoff=converter.bond_graph_cutoff,
    )
