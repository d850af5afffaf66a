"""VASP climbing-image NEB of the automatically selected Li vacancy hops.

The VASP path of :class:`lpsflow.descriptors.grain_boundaries.flow.NebMaker`, per hop:

1. :func:`neb_endpoints_job` selects the hops in the relaxed host (the selection
   of the MLIP path, :func:`~lpsflow.descriptors.migration.jobs.host_hops`) and
   builds the two
   vacancy endpoints of each;
2. the backend's relaxation (cell fixed) relaxes each endpoint;
3. :func:`~lpsflow.descriptors.migration.neb.interpolate_job` interpolates the
   images with IDPP (the
   same ASE interpolation as the MLIP path);
4. atomate2's ``NebFromImagesMaker`` runs VASP's climbing-image NEB (VTST),
   ``collect_neb_output`` joins endpoints and images into an ``NebTaskDoc``;
5. :func:`collect_vasp_neb` turns every hop's documents into the
   :class:`~lpsflow.descriptors.migration.jobs.NebHopsDoc` the MLIP path gives.

These are the steps of atomate2's ``NebFromEndpointsMaker``, added one by one so
that each job gets its content-derived id before the next one refers to it, and with
ASE's IDPP instead of ``pymatgen-analysis-diffusion``'s.

A band is converged when both endpoint relaxations converged, the NEB task
succeeded and VASP stopped before ``NSW`` (it stops when every image's NEB force is
below ``-EDIFFG``); otherwise ``barrier`` is None and ``reason`` says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jobflow import job
from pydantic import Field
from pymatgen.core import Structure

from lpsflow.calculators.outputs import as_plain, summarize
from lpsflow.descriptors.migration.jobs import (
    NEB_PATHS,
    HopRequest,
    NebHopsDoc,
    SelectedHops,
    host_hops,
    selected_hops,
)
from lpsflow.descriptors.migration.neb import NebDoc
from lpsflow.errors import StructureError
from lpsflow.jobs.identity import kind
from lpsflow.structures.hops import hop_endpoints

METHOD = "VASP climbing-image NEB (VTST LCLIMB, IOPT=1), IDPP interpolation"


class NebEndpointsDoc(SelectedHops):
    """Hops selected in a relaxed host and the unrelaxed endpoints of each."""

    endpoints: list[list[Structure]] = Field(
        ..., description="Per hop: [initial, final] vacancy cells (same atom order)."
    )
    settings: dict[str, Any] = Field(default_factory=dict, description="Selection.")


@job
@kind("neb_endpoints")
def neb_endpoints_job(
    label: str,
    path: str,
    host: dict[str, Any] | list[dict[str, Any]],
    hops: HopRequest | None = None,
) -> NebEndpointsDoc:
    """Select exactly ``n_hops`` hops of ``path`` and build their endpoints.

    Arguments as :func:`~lpsflow.descriptors.migration.jobs.neb_hop_job`. The flow
    has one
    NEB branch per requested hop, so fewer distinct hops is an error.
    """
    request = hops or HopRequest()
    host, cell, host_ok, supercell, hops = host_hops(path, host, request)
    if len(hops) < request.n_hops:
        raise StructureError(
            f"only {len(hops)} distinct {path} hop(s) within "
            f"{request.max_distance:g} A in "
            f"{cell.composition.reduced_formula}; lower neb.n_hops or raise "
            "neb.max_distance"
        )
    return NebEndpointsDoc(
        **selected_hops(label, path, host, cell, host_ok, hops),
        endpoints=[list(hop_endpoints(cell, h)) for h in hops],
        settings={**request.settings(supercell), **NEB_PATHS[path]},
    )


def vasp_band(
    neb: Any,
    images: Any,
    ends: list[dict[str, Any]],
    *,
    label: str,
    hop_distance: float,
    fmax: float,
    max_steps: int,
) -> NebDoc:
    """One :class:`NebDoc` from atomate2's NEB documents and the endpoint relaxes.

    ``neb``: the ``NebTaskDoc`` (endpoints + images), ``images``: the
    ``NebIntermediateImagesDoc`` of the NEB run (its calculations give the ionic
    steps), ``ends``: ``{"doc", "uuid"}`` of the two endpoint relaxations.
    """
    neb, images = as_plain(neb), as_plain(images)
    reasons = []
    ends_ok = all(summarize(e["doc"]).converged for e in ends)
    if not ends_ok:
        reasons.append("an endpoint relaxation did not converge")
    calcs = images.get("calculations") or []
    steps = [len(c["output"]["ionic_steps"]) for c in calcs]
    nsw = [int(c["input"]["parameters"].get("NSW", max_steps)) for c in calcs]
    state = str(images.get("state", "")).lower()
    band_ok = bool(calcs) and "success" in state
    if not band_ok:
        reasons.append(f"NEB task state {state or 'unknown'}")
    if calcs and any(s >= n for s, n in zip(steps, nsw, strict=True)):
        band_ok = False
        reasons.append(f"NEB forces above {fmax:g} eV/A after {max(nsw)} steps")
    energies = [float(e) if e is not None else np.nan for e in neb["energies"]]
    if not all(np.isfinite(energies)):
        band_ok = False
        reasons.append("missing image energies")
    converged = ends_ok and band_ok
    e0, e_max = energies[0], max(energies)
    structures = [
        s if isinstance(s, Structure) else Structure.from_dict(s) for s in neb["images"]
    ]
    return NebDoc(
        label=label,
        energies=energies,
        relative_energies=[e - e0 for e in energies],
        barrier=e_max - e0 if converged else None,
        reverse_barrier=e_max - energies[-1] if converged else None,
        climbing_image=1 + int(np.argmax(energies[1:-1])),
        converged=converged,
        endpoints_converged=ends_ok,
        n_steps=max(steps) if steps else 0,
        n_images=len(energies) - 2,
        fmax=fmax,
        max_steps=max_steps,
        hop_distance=hop_distance,
        images=structures,
        method=METHOD,
        calculator="vasp",
        reason="; ".join(reasons),
    )


@job
@kind("collect_vasp_neb")
def collect_vasp_neb(
    selection: Any,
    runs: list[dict[str, Any]],
    fmax: float,
    max_steps: int,
) -> NebHopsDoc:
    """The lowest converged barrier of the hops' VASP NEBs, as a ``NebHopsDoc``.

    ``runs`` (one per hop, in selection order): ``{"neb": NebTaskDoc, "images":
    NebIntermediateImagesDoc, "ends": [two {"doc", "uuid"}]}``.
    """
    sel = as_plain(selection)
    bands = [
        vasp_band(
            r["neb"],
            r["images"],
            r["ends"],
            label=f"{sel['label']} {sel['path']} hop {k}",
            hop_distance=sel["hops"][k]["distance"],
            fmax=fmax,
            max_steps=max_steps,
        )
        for k, r in enumerate(runs)
    ]
    return NebHopsDoc.from_runs(
        {k: sel[k] for k in SelectedHops.model_fields},
        bands,
        calculator="vasp",
        settings={**sel["settings"], "fmax": fmax, "max_steps": max_steps},
    )
