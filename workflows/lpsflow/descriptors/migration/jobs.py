"""NEB of automatically selected Li vacancy hops in a relaxed host (SCIENCE.md item 8).

``neb_hop_job`` runs after the host is relaxed: it takes the relaxed cell (a bulk
relaxation, or the
:class:`~lpsflow.descriptors.grain_boundaries.jobs.GBEnergyDoc` of a relaxed GB
cell, whose ``relaxed_cell`` keeps the grain labels and boundary planes), picks
the hop(s) with :func:`~lpsflow.structures.hops.select_hops`, builds the endpoints
with :func:`~lpsflow.structures.hops.hop_endpoints` and runs
:func:`~lpsflow.descriptors.migration.neb.run_neb` with the shared MLIP calculator.
Paths:

* ``gb``: hops with both Li within ``window`` of a boundary plane (the GB core
  region, in one grain or from one into the other), in the relaxed GB cell;
  transport *along* the GB is a path of such hops spanning an in-plane axis;
* ``bulk``: the shortest Li-Li hops of a relaxed bulk cell (a jump *across a
  grain*).

The lowest converged barrier of the selected hops is reported with its full
profile; if none converged, ``converged`` is False and ``barrier`` None.
"""

from __future__ import annotations

from typing import Any

from jobflow import job
from pydantic import BaseModel, Field
from pymatgen.core import Structure

from lpsflow.analysis.percolation import Edge, percolation_barrier, spanning_classes
from lpsflow.calculators.outputs import as_plain
from lpsflow.descriptors.migration.neb import NebDoc, run_neb
from lpsflow.descriptors.mu_li.jobs import host_structure, supercell_for
from lpsflow.descriptors.reactions.jobs import pick_lowest
from lpsflow.errors import StructureError
from lpsflow.jobs.identity import Spec, kind
from lpsflow.structures.hops import Hop, hop_endpoints, hop_network, reversed_pairs

#: Hop selection per path: select_hops region and the grain filter.
NEB_PATHS: dict[str, dict[str, Any]] = {
    "gb": {"region": "gb", "across": None},
    "bulk": {"region": "bulk", "across": None},
}


class HopInfo(BaseModel):
    """One selected hop (indices refer to the host cell)."""

    i: int = Field(..., description="Host index of the Li that moves.")
    j: int = Field(..., description="Host index of the vacant site it moves into.")
    distance: float = Field(..., description="Jump length (A).")
    multiplicity: int = Field(
        1, description="Equivalent pairs (same length and environments) it stands for."
    )
    hop_class: int | None = Field(
        None,
        description="Its class among the path region's hop classes (shortest "
        "first; the network's class index).",
    )


class SelectedHops(BaseModel):
    """The host of one NEB path and the hops selected in it."""

    label: str = Field(..., description="Name of the host in results.")
    path: str = Field(..., description="'gb' (along the GB) or 'bulk' (in a grain).")
    host_formula: str = Field(..., description="Reduced formula of the host cell.")
    host_atoms: int = Field(..., description="Atoms in the host cell.")
    host_job: str = Field(..., description="Job id of the host relaxation.")
    host_converged: bool = Field(
        ..., description="The host relaxation reached its tolerance."
    )
    hops: list[HopInfo] = Field(..., description="Selected hops, shortest first.")


def selected_hops(
    label: str,
    path: str,
    host: dict,
    cell: Structure,
    host_ok: bool,
    hops: list[Hop],
    class_ids: list[int] | None = None,
) -> dict[str, Any]:
    """The :class:`SelectedHops` fields (for the documents that extend it).

    ``class_ids``: each hop's class index (default: the first classes in order).
    """
    ids = list(range(len(hops))) if class_ids is None else class_ids
    return {
        "label": label,
        "path": path,
        "host_formula": cell.composition.reduced_formula,
        "host_atoms": len(cell),
        "host_job": host["uuid"],
        "host_converged": host_ok,
        "hops": [
            HopInfo(
                i=h.i,
                j=h.j,
                distance=h.distance,
                multiplicity=h.multiplicity,
                hop_class=c,
            )
            for h, c in zip(hops, ids, strict=True)
        ],
    }


class NebHopsDoc(SelectedHops):
    """Migration barrier of one path: NEB of the selected hops, lowest reported."""

    runs: list[NebDoc] = Field(..., description="One NEB per selected hop.")
    selected: int | None = Field(
        None, description="Index (in hops/runs) of the lowest converged barrier."
    )
    barrier: float | None = Field(
        None,
        description="Lowest converged forward barrier (eV); None if none. Results "
        "report Ea from the band's lower endpoint (lpsflow.results.hop_barrier).",
    )
    converged: bool = Field(..., description="At least one NEB converged.")
    energies: list[float] | None = Field(
        None, description="Profile of the selected NEB, relative to its start (eV)."
    )
    calculator: str = Field("", description="MLIP of the NEB.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Selection and NEB settings used."
    )
    percolation_barrier: float | None = Field(
        None,
        description="Barrier (eV) of the lowest path through hops of the computed "
        "classes that spans the cell (along the boundary: its in-plane axes; in a "
        "grain: any axis): the saddle energy at which such a path first exists "
        "minus the lowest vacancy-site energy of the cluster it belongs to (site "
        "energies from the bands' endpoints, all in the same cell). Classes not "
        "computed could open lower paths; None: the computed classes do not span.",
    )
    percolation_hop_barrier: float | None = Field(
        None,
        description="The same path with each hop weighted by its own barrier from "
        "its band's lower end (min-max single-hop barrier; no site energies): a "
        "lower bound of percolation_barrier.",
    )
    percolation_axes: list[int] = Field(
        default_factory=list, description="Axes the spanning path runs along."
    )
    hop_classes: int | None = Field(
        None, description="Distinct hop classes of the path's region in the cell."
    )
    hop_classes_computed: int | None = Field(
        None, description="Classes with a converged barrier (the selected hops')."
    )

    @classmethod
    def from_runs(
        cls,
        hops: dict[str, Any],
        runs: list[NebDoc],
        calculator: str,
        settings: dict[str, Any],
    ) -> NebHopsDoc:
        """The document of ``runs`` (one per hop), the lowest converged selected.

        ``hops``: the :class:`SelectedHops` fields (:func:`selected_hops`).
        """
        done = [k for k, r in enumerate(runs) if r.converged]
        best = min(done, key=lambda k: runs[k].barrier) if done else None
        return cls(
            **hops,
            runs=runs,
            selected=best,
            barrier=runs[best].barrier if best is not None else None,
            converged=best is not None,
            energies=runs[best].relative_energies if best is not None else None,
            calculator=calculator,
            settings=settings,
        )


class HopRequest(Spec):
    """Which Li hops a NEB branch computes (see ``select_hops``)."""

    n_hops: int = Field(
        1,
        description="Hops per path (the shortest distinct ones); with ``spanning`` "
        "the most computed.",
    )
    spanning: bool = Field(
        False,
        description="Compute an irreducible set of classes whose hops span the "
        "cell, none longer than the geometric bottleneck "
        "(:func:`~lpsflow.analysis.percolation.spanning_classes`), and the "
        "shortest class, at most ``n_hops``; only the shortest when no classes "
        "within max_distance span or more than n_hops are needed. Pairs are then "
        "classed on the host's unrelaxed start, where its document keeps it.",
    )
    window: float = Field(
        3.0, description="Both Li within this distance of a boundary plane (A; gb)."
    )
    max_distance: float = Field(4.5, description="Longest hop considered (A).")
    supercell: tuple[int, int, int] | None = Field(
        None, description="Supercell of the host before the vacancy is made (bulk)."
    )
    min_length: float | None = Field(
        None,
        description="Else the smallest diagonal supercell with every lattice vector "
        ">= this (A; bulk).",
    )

    def settings(self, supercell: tuple | None) -> dict[str, Any]:
        """As a result document's settings, with the supercell used."""
        return {**self.fields(), "supercell": list(supercell) if supercell else None}


def host_hops(
    path: str, host: dict[str, Any] | list[dict[str, Any]], hops: HopRequest
) -> tuple[dict[str, Any], Structure, bool, tuple | None, list[Hop]]:
    """The host used, its (super)cell, convergence, supercell and selected hops."""
    host, cell, host_ok, supercell, classes, network, _ = host_network(path, host, hops)
    ids = classes_needed(len(cell), network, path, hops, len(classes))
    return host, cell, host_ok, supercell, [classes[k] for k in ids]


def path_axes(path: str) -> tuple[int, ...]:
    """Lattice axes a path must span: a GB's in-plane a, b; in a grain any.

    GB cells have their boundaries normal to c.
    """
    return (0, 1) if path == "gb" else (0, 1, 2)


def classes_needed(
    n_sites: int, network: list, path: str, hops: HopRequest, n_classes: int
) -> list[int]:
    """The hop classes (indices, shortest first) the request computes.

    A number: the first ``n_hops``. ``spanning``: the classes of
    :func:`~lpsflow.analysis.percolation.spanning_classes` and the shortest
    class (when within ``n_hops``); the shortest alone when nothing spans or the
    path needs more than ``n_hops`` classes (a percolation barrier would not
    come of them).
    """
    if n_classes == 0:
        return []
    if not hops.spanning:
        return list(range(min(hops.n_hops, n_classes)))
    span = spanning_classes(n_sites, network, path_axes(path))
    if span is None or len(span) > hops.n_hops:
        return [0]
    return sorted({0, *span}) if len(span) < hops.n_hops else span


def host_network(
    path: str, host: dict[str, Any] | list[dict[str, Any]], hops: HopRequest
) -> tuple[dict[str, Any], Structure, bool, tuple | None, list[Hop], list]:
    """As :func:`host_hops`, with every hop class and the path's hop network.

    Also the unrelaxed cell the classes were judged on (``spanning`` only; else
    None).
    """
    n_hops, window, max_distance = hops.n_hops, hops.window, hops.max_distance
    supercell, min_length = hops.supercell, hops.min_length
    if path not in NEB_PATHS:
        raise StructureError(
            f"NEB path must be one of {sorted(NEB_PATHS)}, not {path!r}"
        )
    if isinstance(host, list):
        host = host[pick_lowest(host)[0]]
    cell, host_ok = host_structure(host["doc"])
    # spanning: classes of the unrelaxed cell, so relaxation noise splits none
    start = unrelaxed(host["doc"], cell) if hops.spanning else None
    if supercell is None and min_length is not None:
        supercell = supercell_for(cell.lattice.abc, min_length)
    if supercell is not None and tuple(supercell) != (1, 1, 1):
        cell = cell.copy()
        cell.make_supercell(list(supercell))
        if start is not None:
            start = start.copy()
            start.make_supercell(list(supercell))
    sel = NEB_PATHS[path]
    if n_hops < 1:
        raise StructureError(f"ask for at least one hop, not {n_hops}")
    classes, network = hop_network(
        cell, region=sel["region"], window=window,
        max_distance=max_distance, across=sel["across"], reference=start,
    )  # fmt: skip
    return host, cell, host_ok, supercell, classes, network, start


def unrelaxed(doc: Any, relaxed: Structure) -> Structure | None:
    """The starting cell of a relaxation (same atoms, same order), else None.

    Read from the task document's input (atomate2's forcefield and VASP
    documents keep it) or a GB energy document's ``start_cell``.
    """
    plain = as_plain(doc)
    given = plain.get("input") or {}
    raw = given.get("mol_or_struct") or given.get("structure")
    raw = raw or plain.get("start_cell")
    if raw is None:
        return None
    start = raw if isinstance(raw, Structure) else Structure.from_dict(raw)
    same = [s.species_string for s in start] == [s.species_string for s in relaxed]
    return start if same else None


@job
@kind("neb_hops")
def neb_hop_job(
    label: str,
    path: str,
    host: dict[str, Any] | list[dict[str, Any]],
    hops: HopRequest | None = None,
    n_images: int = 3,
    fmax: float = 0.1,
    max_steps: int = 100,
    model: str = "CHGNet",
    device: str = "cpu",
    **neb_kwargs: Any,
) -> NebHopsDoc:
    """Select ``n_hops`` hops of ``path`` in the relaxed host and NEB each.

    Parameters
    ----------
    label
        Name of the host in results.
    path
        ``gb`` (along the boundary, in a GB cell) or ``bulk``.
    host
        ``{"doc": output, "uuid": job id}`` of the relaxed host: a relax output, or
        a :class:`~lpsflow.descriptors.grain_boundaries.jobs.GBEnergyDoc` for
        ``gb``; or a
        list of relax candidates, of which the lowest converged is used.
    hops
        Which hops (:class:`HopRequest`; None: its defaults).
    n_images, fmax, max_steps, neb_kwargs
        Passed to :func:`~lpsflow.descriptors.migration.neb.run_neb` (e.g.
        ``endpoint_fmax``, ``endpoint_steps``, ``spring``, ``optimizer``).

    """
    from lpsflow.calculators.mlip import mlip_calculator

    request = hops or HopRequest()
    host, cell, host_ok, supercell, classes, network, start = host_network(
        path, host, request
    )
    ids = classes_needed(len(cell), network, path, request, len(classes))
    hops = [classes[k] for k in ids]
    sel = NEB_PATHS[path]
    calc = mlip_calculator(model, device)
    runs = []
    for k, hop in enumerate(hops):
        initial, final = hop_endpoints(cell, hop)
        runs.append(
            run_neb(
                initial,
                final,
                calc,
                n_images=n_images,
                fmax=fmax,
                max_steps=max_steps,
                label=f"{label} {path} hop class {ids[k]}",
                calculator_name=model,
                **neb_kwargs,
            )
        )
    doc = NebHopsDoc.from_runs(
        selected_hops(label, path, host, cell, host_ok, hops, ids),
        runs,
        calculator=model,
        settings={
            **request.settings(supercell), "n_images": n_images, "fmax": fmax,
            "max_steps": max_steps, **sel,
            **{k: v for k, v in neb_kwargs.items() if k != "label"},
        },
    )  # fmt: skip
    flips = reversed_pairs(cell, classes, network, reference=start)
    return with_percolation(doc, len(cell), len(classes), network, path, flips, ids)


def with_percolation(
    doc: NebHopsDoc,
    n_sites: int,
    n_classes: int,
    network: list,
    path: str,
    flips: list[bool] | None = None,
    class_ids: list[int] | None = None,
) -> NebHopsDoc:
    """``doc`` with the percolation barriers of the classes its runs computed.

    The network's pairs of the converged classes are the edges
    (:mod:`lpsflow.analysis.percolation`); along a GB the path must span an
    in-plane axis (a, b: the boundary planes are normal to c), in a grain any.
    ``percolation_hop_barrier``: each pair weighted by its class's barrier from
    the band's lower end. ``percolation_barrier`` (needs ``flips``,
    :func:`~lpsflow.structures.hops.reversed_pairs`): each pair weighted by its
    class's saddle energy, each site by the energy of a vacancy there (the band
    endpoints: initial = vacancy at the hop's ``j``, final = at its ``i``; the
    lowest where several bands give one), saddle at spanning minus the lowest
    site of the spanning cluster. ``class_ids``: the class of each run (default:
    run k is class k).
    """
    ids = list(range(len(doc.runs))) if class_ids is None else class_ids
    done = {
        ids[k]: r.energies
        for k, r in enumerate(doc.runs)
        if r.converged and r.energies and r.relative_energies
    }
    ea = {k: max(e) - min(e[0], e[-1]) for k, e in done.items()}
    rows = [(i, j, im, c) for i, j, im, c in network if c in done]
    axes = path_axes(path)
    single = percolation_barrier(
        n_sites, [Edge(i, j, im, ea[c]) for i, j, im, c in rows], axes
    )
    perc = single
    if flips is not None:
        sites: list[float | None] = [None] * n_sites
        for (i, j, _, c), flip in zip(network, flips, strict=True):
            if c not in done:
                continue
            e = done[c]
            at_i, at_j = (e[0], e[-1]) if flip else (e[-1], e[0])
            for k, v in ((i, at_i), (j, at_j)):
                sites[k] = v if sites[k] is None else min(sites[k], v)  # type: ignore[type-var]
        saddles = [Edge(i, j, im, max(done[c])) for i, j, im, c in rows]
        perc = percolation_barrier(n_sites, saddles, axes, site_energies=sites)
    return doc.model_copy(
        update={
            "percolation_barrier": perc.barrier if flips is not None else None,
            "percolation_hop_barrier": single.barrier,
            "percolation_axes": list(perc.axes),
            "hop_classes": n_classes,
            "hop_classes_computed": len(ea),
        }
    )
