"""Li vacancy hops for NEB: selection and endpoint cells (SCIENCE.md item 8).

A hop moves one Li from site ``i`` into a vacancy at a neighbouring Li site ``j``.
:func:`select_hops` picks the shortest Li-Li pairs of a host cell:

* ``region="bulk"`` (a bulk cell, or anywhere in a GB cell): all Li;
* ``region="gb"``: both Li within ``window`` (A along the normal) of a boundary
  plane of a GB cell (planes from ``properties["gb"]["boundary_z"]``, see
  :mod:`lpsflow.structures.grain_boundaries`), i.e. hops in the GB region;
* ``region="grain"``: both Li farther than ``window`` from every plane (the grain
  interior of a GB cell, the "across a grain" reference).

In a GB cell (site property ``grain``), ``across=False`` keeps only hops whose two
ends are in the same grain (a jump along the boundary), ``across=True`` only hops
from one grain into the other (a jump through the boundary); ``None`` keeps both.

Pairs are sorted by length; pairs with the same length (within 0.01 A) and the
same pair of endpoint environments are counted once (``distinct``). No pair within
``max_distance`` raises :class:`StructureError`.

:func:`hop_endpoints` gives the two endpoint cells with the same atom order:
initial = host without Li ``j`` (vacancy at j, Li at i); final = the same cell with
that Li moved to site ``j`` (vacancy at i). The moved Li's final position is the
image of ``j`` nearest to ``i`` (fractional coordinates unwrapped), so a linear or
IDPP interpolation follows the short path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from monty.json import MSONable
from pymatgen.core import Structure

from lpsflow.errors import StructureError
from lpsflow.structures.vacancies import (
    FP_CUTOFF,
    boundary_planes,
    distance_to_planes,
    same_fingerprint,
    site_fingerprint,
)

Region = Literal["bulk", "gb", "grain"]


@dataclass
class Hop(MSONable):
    """A Li jump from site ``i`` into a vacancy at site ``j`` of a host cell."""

    i: int
    """Index (host) of the Li that moves."""
    j: int
    """Index (host) of the vacant site it moves into."""
    distance: float
    """Jump length (A)."""
    image: list[int]
    """Lattice image of ``j`` nearest to ``i``."""
    region: str
    """``bulk``, ``gb`` or ``grain`` (see :func:`select_hops`)."""
    multiplicity: int = 1
    """Pairs of the same length and endpoint environments it stands for."""


def select_hops(
    host: Structure, n: int = 1, region: Region = "bulk", **options: Any
) -> list[Hop]:
    """The ``n`` shortest (distinct) Li-Li hops of ``host`` in ``region``.

    ``options`` as :func:`hop_network`'s: ``max_distance`` (A) bounds the jump
    length; ``window`` (A) the distance from a boundary plane for ``gb``/``grain``
    (``planes`` default to the cell's stored boundary planes); ``across`` filters
    on the grains of the two ends (GB cells); ``species``, ``distinct``, ``fp_tol``.
    """
    if n < 1:
        raise StructureError(f"ask for at least one hop, not {n}")
    return hop_network(host, region, **options)[0][:n]


def hop_network(
    host: Structure,
    region: Region = "bulk",
    *,
    max_distance: float = 4.5,
    window: float = 3.0,
    planes: list[float] | None = None,
    species: str = "Li",
    distinct: bool = True,
    fp_tol: float = 0.1,
    across: bool | None = None,
    reference: Structure | None = None,
) -> tuple[list[Hop], list[tuple[int, int, tuple[int, int, int], int]]]:
    """Every hop class of ``region`` (as :func:`select_hops`) and every pair in it.

    Returns the classes (one :class:`Hop` each, shortest first, with its
    multiplicity) and the network: (i, j, image of j, class index) for every Li-Li
    pair of the region within ``max_distance``, each once. ``reference``: the same
    atoms in the same order before relaxation; pairs are classed by their length
    and end environments there, so a relaxation's small distortions do not split
    a class of the unrelaxed cell (the pairs and hops stay those of ``host``, and
    the classes are numbered by their hop's length in ``host``).
    """
    if reference is not None and [s.species_string for s in reference] != [
        s.species_string for s in host
    ]:
        raise StructureError("the reference cell holds other atoms than the host")
    is_li = np.array([s.species_string == species for s in host])
    allowed = is_li.copy()
    if region in ("gb", "grain"):
        planes = boundary_planes(host) if planes is None else planes
        near = distance_to_planes(host, planes) <= window
        allowed &= near if region == "gb" else ~near
    elif region != "bulk":
        raise StructureError(f"hop region must be bulk, gb or grain, not {region!r}")
    ii, jj, images, dd = host.get_neighbor_list(max_distance)
    keep = allowed[ii] & allowed[jj] & (ii < jj) & (dd > 1e-6)
    if across is not None:
        if "grain" not in host.site_properties:
            raise StructureError("across= needs a GB cell (site property 'grain')")
        grain = np.asarray(host.site_properties["grain"])
        keep &= (grain[ii] != grain[jj]) == across
    ref = host if reference is None else reference
    kd = (
        dd[keep]
        if reference is None
        else _reference_lengths(host, reference, ii[keep], jj[keep], images[keep])
    )  # the length a pair is classed by
    rows = sorted(
        zip(kd, ii[keep], jj[keep], images[keep], dd[keep], strict=True),
        key=lambda r: (round(float(r[0]), 4), int(r[1]), int(r[2])),
    )
    if not rows:
        where = {
            "bulk": "",
            "gb": f" with both ends within {window:g} A of a boundary plane",
            "grain": f" with both ends farther than {window:g} A from the boundaries",
        }[region]
        if across is not None:
            where += " in different grains" if across else " in the same grain"
        raise StructureError(
            f"no {species}-{species} pair within {max_distance:g} A{where} in "
            f"{host.composition.reduced_formula} ({int(allowed.sum())} {species} "
            "eligible)"
        )
    hops: list[Hop] = []
    network: list[tuple[int, int, tuple[int, int, int], int]] = []
    fps: list[tuple[float, dict, dict]] = []
    cache: dict[int, dict] = {}

    def fp(k: int) -> dict:
        if k not in cache:
            cache[k] = site_fingerprint(ref, k, FP_CUTOFF)
        return cache[k]

    for d, i, j, im, length in rows:
        if distinct:
            a, b = fp(int(i)), fp(int(j))
            hit = next(
                (
                    k
                    for k, (dk, fa, fb) in enumerate(fps)
                    if abs(dk - d) < 0.01
                    and (
                        (
                            same_fingerprint(a, fa, fp_tol)
                            and same_fingerprint(b, fb, fp_tol)
                        )
                        or (
                            same_fingerprint(a, fb, fp_tol)
                            and same_fingerprint(b, fa, fp_tol)
                        )
                    )
                ),
                None,
            )
            if hit is not None:
                hops[hit].multiplicity += 1
                network.append((int(i), int(j), tuple(int(x) for x in im), hit))
                continue
            fps.append((float(d), a, b))
        network.append((int(i), int(j), tuple(int(x) for x in im), len(hops)))
        hops.append(
            Hop(
                i=int(i),
                j=int(j),
                distance=float(length),
                image=[int(x) for x in im],
                region=region,
            )
        )
    if reference is None:
        return hops, network
    # judged on the start, numbered by the relaxed length of each class's hop:
    # "shortest first" is the relaxed cell's, where the hops run
    order = sorted(range(len(hops)), key=lambda k: (round(hops[k].distance, 4), k))
    new = {old: k for k, old in enumerate(order)}
    return [hops[k] for k in order], [(i, j, im, new[c]) for i, j, im, c in network]


def _reference_lengths(
    host: Structure,
    reference: Structure,
    ii: np.ndarray,
    jj: np.ndarray,
    images: np.ndarray,
) -> np.ndarray:
    """Length in ``reference`` of each pair (i, j + image) of ``host``.

    The same pair, not the nearest image: two pairs of one site to two images
    of another stay apart. An atom that a relaxation moved across a cell face
    (its fractional coordinate wrapped) keeps its pair: the image is shifted
    by the wrap.
    """
    wrap = np.rint(host.frac_coords - reference.frac_coords).astype(int)
    image = images + wrap[jj] - wrap[ii]
    frac = reference.frac_coords[jj] + image - reference.frac_coords[ii]
    return np.linalg.norm(reference.lattice.get_cartesian_coords(frac), axis=1)


def reversed_pairs(
    host: Structure,
    classes: list[Hop],
    network: list[tuple[int, int, tuple[int, int, int], int]],
    fp_tol: float = 0.1,
    reference: Structure | None = None,
) -> list[bool]:
    """Per network pair ``(i, j, image, class)``: matched the other way round.

    True where ``i`` is like the class's hop's ``j`` (and ``j`` like its ``i``).
    :func:`hop_network` files a pair under a class whichever way its endpoint
    environments match; a class's band gives the energy of a vacancy at its hop's
    ``j`` (initial) and ``i`` (final), so this says which end of each pair gets
    which. ``reference``: as :func:`hop_network`'s (the cell the classes were
    judged on).
    """
    cache: dict[int, dict] = {}
    ref = host if reference is None else reference

    def fp(k: int) -> dict:
        if k not in cache:
            cache[k] = site_fingerprint(ref, k, FP_CUTOFF)
        return cache[k]

    out = []
    for i, j, _, c in network:
        hop = classes[c]
        same = same_fingerprint(fp(i), fp(hop.i), fp_tol) and same_fingerprint(
            fp(j), fp(hop.j), fp_tol
        )
        out.append(not same)
    return out


def hop_endpoints(host: Structure, hop: Hop) -> tuple[Structure, Structure]:
    """(initial, final) cells of ``hop``: one Li fewer than ``host``, same order.

    Initial: vacancy at ``j``. Final: the Li of site ``i`` moved onto site ``j``
    (its nearest image), so only that atom differs between the two cells.
    """
    if host[hop.i].species_string != host[hop.j].species_string:
        raise StructureError(f"hop {hop.i}->{hop.j} joins different species")
    initial = host.copy()
    initial.remove_sites([hop.j])
    k = hop.i if hop.i < hop.j else hop.i - 1  # index of the mover after removal
    start = host.frac_coords[hop.i]
    target = host.frac_coords[hop.j] + np.asarray(hop.image, float)
    final = initial.copy()
    final.replace(
        k, final[k].species, coords=start + (target - start), coords_are_cartesian=False
    )
    moved = float(np.linalg.norm(host.lattice.get_cartesian_coords(target - start)))
    if abs(moved - hop.distance) > 1e-3:
        raise StructureError(
            f"hop endpoints inconsistent: moved {moved:.3f} A, hop {hop.distance:.3f} A"
        )
    info = {"i": hop.i, "j": hop.j, "mover": k, "distance": hop.distance}
    base = dict(host.properties or {})
    initial.properties = {**base, "hop": {**info, "vacancy_at": hop.j}}
    final.properties = {**base, "hop": {**info, "vacancy_at": hop.i}}
    return initial, final
