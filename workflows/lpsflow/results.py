"""Query API: a campaign's descriptors as a pandas DataFrame.

Every number comes from a job output in the store and carries the job id it came
from and whether the calculations behind it converged.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pymatgen.core import Structure

from lpsflow.errors import LpsflowError

if TYPE_CHECKING:
    from lpsflow.store import Stores

SHARED_PRODUCTS = ("Li7P3S11", "Li4P2S6", "Li3PS4")


class NoResultsError(LpsflowError):
    """The campaign does not exist or has nothing to show."""


def campaign_names(stores: Stores) -> list[str]:
    """Campaigns recorded in the store."""
    return sorted(d["campaign"] for d in stores.campaigns.query({}, ["campaign"]))


def manifest(stores: Stores, campaign: str) -> dict[str, Any]:
    """The campaign's manifest (definition, job roles, failures)."""
    doc = stores.campaigns.query_one({"campaign": campaign})
    if doc is None:
        known = campaign_names(stores)
        hint = f"; campaigns in this store: {', '.join(known)}" if known else ""
        raise NoResultsError(
            f"no campaign named '{campaign}' in {stores.location}{hint}"
        )
    return doc


def _outputs(stores: Stores, uuids: list[str]) -> dict[str, dict]:
    docs = stores.jobs.query(
        {"uuid": {"$in": uuids}}, properties=["uuid", "index", "output"]
    )
    best: dict[str, dict] = {}
    for d in docs:
        if d["uuid"] not in best or d["index"] > best[d["uuid"]]["index"]:
            best[d["uuid"]] = d
    return {u: d["output"] for u, d in best.items()}


def _state(uuid: str, outputs: dict, failures: dict) -> str:
    if uuid in outputs:
        return "done"
    return "failed" if uuid in failures else "pending"


def load(campaign: str, stores: Stores) -> pd.DataFrame:
    """Descriptor table: one row per accelerant and charge-compensation scheme.

    Columns: accelerant, scheme, core (formula), dE_core, dE_Li7P3S11, dE_Li4P2S6,
    dE_Li3PS4 (eV/atom, dG_r ~ dE_r), dE_core_minus_Li7P3S11, preferred (lowest
    dE_core among the accelerant's schemes), converged, state, calculator, and the
    job ids of each reaction-energy job; the solubility series (x_solubility,
    e_hull_meV_by_x); binding energies (E_bind_hetero/homo at the thickest converged
    film, dE_bind = hetero - homo, per-n values, area and strain of each cell,
    binding_references_* where the film and substrate references started);
    mu_Li of the core, Li7P3S11 and the hetero-GB sites, dmu_Li; GB energies
    gamma_GB_homo/core/hetero (J/m^2) with Sigma, misorientation and misfit; NEB
    barriers Ea_gb (along the accelerant's hetero GB), Ea_bulk (across its core
    grain) and the Li7P3S11 references Ea_gb_Li7P3S11, Ea_bulk_Li7P3S11 (from the
    lower endpoint, :func:`hop_barrier`; None where no band converged, with the
    reason in neb_reason_*).
    """
    man = manifest(stores, campaign)
    roles = {j["role"]: j["uuid"] for j in man["jobs"]}
    outputs = _outputs(stores, list(roles.values()))
    failures = man.get("failures", {})
    calculator = man["definition"]["calculator"]
    calc_label = (
        f"mlip:{calculator['model']}" if calculator["backend"] == "mlip" else "vasp"
    )

    shared = {}
    for product in SHARED_PRODUCTS:
        uuid = roles.get(f"reaction:{product}")
        out = outputs.get(uuid) if uuid else None
        shared[product] = (uuid, out)

    rows = []
    for role, uuid in roles.items():
        if not role.startswith("reaction:core:"):
            continue
        _, _, accelerant, scheme = role.split(":")
        out = outputs.get(uuid)
        row: dict[str, Any] = {
            "accelerant": accelerant,
            "scheme": scheme,
            "core": out["product"] if out else None,
            "dE_core": out["energy_per_atom"] if out else None,
        }
        for product, (_, p_out) in shared.items():
            row[f"dE_{product}"] = p_out["energy_per_atom"] if p_out else None
        row["dE_core_minus_Li7P3S11"] = (
            row["dE_core"] - row["dE_Li7P3S11"]
            if row["dE_core"] is not None and row["dE_Li7P3S11"] is not None
            else None
        )
        used = [out, *(o for _, o in shared.values())]
        row["converged"] = all(o is not None and o["converged"] for o in used)
        states = [_state(uuid, outputs, failures)] + [
            _state(u, outputs, failures) for u, _ in shared.values() if u
        ]
        row["state"] = (
            "failed"
            if "failed" in states
            else "pending"
            if "pending" in states
            else "done"
        )
        row["calculator"] = calc_label
        row["job_core"] = uuid
        for product, (p_uuid, _) in shared.items():
            row[f"job_{product}"] = p_uuid
        row["p2s5_sensitivity_core"] = out["p2s5_sensitivity"] if out else None
        sol_uuid = roles.get(f"solubility:{accelerant}:{scheme}")
        sol = outputs.get(sol_uuid) if sol_uuid else None
        row["x_solubility"] = sol["solubility_limit"] if sol else None
        row["solubility"] = sol["limit_label"] if sol else None
        row["hull_threshold_meV"] = sol["threshold"] if sol else None
        row["e_hull_meV_by_x"] = (
            {_frac(p["x"]): round(p["e_above_hull"], 3) for p in sol["points"]}
            if sol
            else None
        )
        row["job_solubility"] = sol_uuid
        row.update(_binding_columns(roles, outputs, accelerant))
        row.update(_mu_li_columns(roles, outputs, accelerant))
        row.update(_gb_columns(roles, outputs, accelerant))
        row.update(_neb_columns(roles, outputs, accelerant))
        rows.append(row)

    df = pd.DataFrame(rows)
    if df.empty:
        raise NoResultsError(f"campaign '{campaign}' defines no doped cores")
    df["preferred"] = False
    for _acc, group in df.groupby("accelerant"):
        valid = group["dE_core"].dropna()
        if not valid.empty:
            df.loc[valid.idxmin(), "preferred"] = True
    return df.reset_index(drop=True)


def _binding_columns(
    roles: dict[str, str], outputs: dict[str, dict], accelerant: str
) -> dict[str, Any]:
    """E_bind columns of one accelerant (hetero on its core, homo shared)."""
    row: dict[str, Any] = {}
    for kind, label in (("hetero", accelerant), ("homo", "Li7P3S11")):
        uuid = roles.get(f"binding:{kind}:{label}")
        doc = outputs.get(uuid) if uuid else None
        row[f"E_bind_{kind}"] = doc["e_bind"] if doc else None
        row[f"E_bind_{kind}_n"] = doc["n_summary"] if doc else None
        row[f"E_bind_{kind}_by_n"] = (
            {p["n_layers"]: p["e_bind"] for p in doc["points"]} if doc else None
        )
        row[f"binding_starts_{kind}"] = (
            max(max(len(p.get("e_interface_starts") or []), 1) for p in doc["points"])
            if doc and doc["points"]
            else None
        )
        row[f"E_bind_{kind}_start_by_n"] = (  # 1: the lowest single point's cell
            {p["n_layers"]: p.get("interface_start", 0) + 1 for p in doc["points"]}
            if doc
            else None
        )
        row[f"area_{kind}"] = doc["area"] if doc else None
        row[f"strain_{kind}"] = doc["von_mises_strain"] if doc else None
        row[f"binding_converged_{kind}"] = (
            all(p["converged"] for p in doc["points"]) if doc else None
        )
        row[f"binding_references_{kind}"] = (
            doc["points"][0].get("references", "screened_cell")
            if doc and doc["points"]
            else None
        )
        row[f"job_binding_{kind}"] = uuid
    het, hom = row["E_bind_hetero"], row["E_bind_homo"]
    row["dE_bind"] = het - hom if het is not None and hom is not None else None
    return row


def _mu_li_columns(
    roles: dict[str, str], outputs: dict[str, dict], accelerant: str
) -> dict[str, Any]:
    """mu_Li of the accelerant's core and of Li7P3S11, and their difference."""
    row: dict[str, Any] = {}
    for col, tag in (
        ("core", f"core:{accelerant}"),
        ("Li7P3S11", "Li7P3S11"),
        ("gb", f"gb:{accelerant}"),
    ):
        uuid = roles.get(f"mu_li:{tag}")
        doc = outputs.get(uuid) if uuid else None
        row[f"mu_Li_{col}"] = doc["mu_li"] if doc else None
        row[f"E_v_min_{col}"] = doc["e_v_min"] if doc else None
        row[f"job_mu_Li_{col}"] = uuid
    core, li7 = row["mu_Li_core"], row["mu_Li_Li7P3S11"]
    row["dmu_Li"] = core - li7 if core is not None and li7 is not None else None
    return row


def _gb_columns(
    roles: dict[str, str], outputs: dict[str, dict], accelerant: str
) -> dict[str, Any]:
    """gamma_GB of the accelerant's core and hetero GBs and of the homo GB."""
    row: dict[str, Any] = {}
    for kind, label in (
        ("homo", "Li7P3S11"),
        ("core", accelerant),
        ("hetero", accelerant),
    ):
        uuid = roles.get(f"gb:{kind}:{label}")
        doc = outputs.get(uuid) if uuid else None
        row[f"gamma_GB_{kind}"] = doc["gamma"] if doc else None
        row[f"sigma_GB_{kind}"] = doc["sigma"] if doc else None
        row[f"misorientation_GB_{kind}"] = doc["misorientation_angle"] if doc else None
        row[f"strain_GB_{kind}"] = doc["von_mises_strain"] if doc else None
        row[f"atoms_GB_{kind}"] = doc["n_atoms_a"] + doc["n_atoms_b"] if doc else None
        row[f"job_gb_{kind}"] = uuid
    return row


def _neb_columns(
    roles: dict[str, str], outputs: dict[str, dict], accelerant: str
) -> dict[str, Any]:
    """Migration barriers along the GB and across the grain (and references)."""
    row: dict[str, Any] = {}
    for path in ("gb", "bulk"):
        for suffix, label in (("", accelerant), ("_Li7P3S11", "Li7P3S11")):
            col = f"Ea_{path}{suffix}"
            uuid = roles.get(f"neb:{path}:{label}")
            doc = outputs.get(uuid) if uuid else None
            best = hop_barrier(doc) if doc else None
            row[col] = best[1] if best else None
            row[f"neb_reason_{path}{suffix}"] = (
                _neb_reason(doc) if doc and best is None else None
            )
            row[f"job_{col}"] = uuid
    return row


def hop_barrier(doc: dict) -> tuple[int, float] | None:
    """(run index, Ea) of the lowest converged band of a ``NebHopsDoc``.

    Ea = E_max - min(E_initial, E_final): the barrier of the hop taken from its
    lower endpoint (the direction that limits the rate). For a symmetric hop it is
    the forward barrier; for an asymmetric one the forward barrier from the higher
    end would understate it (down to 0 for a downhill band). None if no band
    converged.
    """
    done = [
        (k, max(r["energies"]) - min(r["energies"][0], r["energies"][-1]))
        for k, r in enumerate(doc["runs"])
        if r["converged"]
    ]
    return min(done, key=lambda t: t[1]) if done else None


def _neb_reason(doc: dict) -> str:
    reasons = [r.get("reason") or "not converged" for r in doc["runs"]]
    return "; ".join(reasons) or "no hop computed"


def neb_points(stores: Stores, man: dict[str, Any]) -> pd.DataFrame | None:
    """Energy profiles of the reported NEBs, one row per image.

    Columns: accelerant ("Li7P3S11" for the references), path ('gb'/'bulk'),
    image, coordinate (0..1, cumulative image distance), energy (eV relative to
    the initial image), barrier (eV).
    """
    rows = []
    for role, doc in _role_outputs(stores, man, "neb:"):
        best = hop_barrier(doc)
        if best is None:
            continue
        _, path, label = role.split(":", 2)
        run = doc["runs"][best[0]]
        coords = _band_coordinate(run["images"])
        for k, (x, e) in enumerate(zip(coords, run["relative_energies"], strict=True)):
            rows.append(
                {
                    "accelerant": label,
                    "path": path,
                    "image": k,
                    "coordinate": x,
                    "energy": e,
                    "barrier": best[1],
                }
            )
    return pd.DataFrame(rows) if rows else None


def _band_coordinate(images: list[dict]) -> list[float]:
    """Cumulative minimum-image distance between images, scaled to 0..1."""
    structs = [Structure.from_dict(i) if isinstance(i, dict) else i for i in images]
    steps = [0.0]
    for a, b in itertools.pairwise(structs):
        d = (b.frac_coords - a.frac_coords + 0.5) % 1.0 - 0.5
        steps.append(float(np.linalg.norm(a.lattice.get_cartesian_coords(d))))
    total = np.cumsum(steps)
    return (
        list(total / total[-1])
        if total[-1] > 0
        else list(np.linspace(0, 1, len(total)))
    )


def _role_outputs(
    stores: Stores, man: dict[str, Any], prefix: str
) -> list[tuple[str, dict]]:
    """(role, output) of the finished jobs whose role starts with ``prefix``."""
    roles = {j["role"]: j["uuid"] for j in man["jobs"]}
    wanted = {r: u for r, u in roles.items() if r.startswith(prefix)}
    outputs = _outputs(stores, list(wanted.values()))
    return [
        (r, outputs[u]) for r, u in sorted(wanted.items()) if outputs.get(u) is not None
    ]


def mu_li_points(stores: Stores, man: dict[str, Any]) -> pd.DataFrame | None:
    """mu_Li per phase: accelerant ("shared" for Li7P3S11), phase, mu_Li (eV)."""
    rows = []
    for role, doc in _role_outputs(stores, man, "mu_li:"):
        if doc["mu_li"] is None:
            continue
        tag = role.split(":", 1)[1]
        kind, _, acc = tag.partition(":")
        if kind == "core":
            phase = "core"
        elif kind == "gb":
            phase = "hetero GB"
        else:
            acc, phase = "shared", tag
        rows.append({"accelerant": acc, "phase": phase, "mu_Li": doc["mu_li"]})
    return pd.DataFrame(rows) if rows else None


def binding_points(stores: Stores, man: dict[str, Any]) -> pd.DataFrame | None:
    """E_bind(n) of every series: accelerant, kind, n_layers, E_bind (eV/A^2)."""
    outputs = dict(_role_outputs(stores, man, "binding:"))
    rows = [
        {
            "accelerant": doc["label"],
            "kind": doc["kind"],
            "n_layers": p["n_layers"],
            "E_bind": p["e_bind"],
            "area": doc["area"],
            "strain": doc["von_mises_strain"],
        }
        for doc in outputs.values()
        for p in doc["points"]
        if p["e_bind"] is not None
    ]
    return pd.DataFrame(rows) if rows else None


#: Li-P-S phases whose computed energies decide how a residual Li2S + P2S5 splits.
LIPS_PHASES = ("Li2S", "P2S5", "S", "Li", "Li3PS4", "Li7P3S11", "Li4P2S6")


def lips_phase_diagram(campaign: str, stores: Stores):
    """Pymatgen PhaseDiagram of the campaign's relaxed Li-P-S phases.

    Elemental P is never computed; a placeholder far above every hull (+10 eV/atom
    over the lowest energy) closes the diagram. It cannot appear in the decomposition
    of any composition between Li2S, P2S5 and S, the only ones asked of it.
    """
    from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
    from pymatgen.core import Composition

    from lpsflow.calculators.outputs import summarize

    roles = {j["role"]: j["uuid"] for j in manifest(stores, campaign)["jobs"]}
    wanted = {p: roles.get(f"relax:{p}") for p in LIPS_PHASES}
    outputs = _outputs(stores, [u for u in wanted.values() if u])
    missing = [p for p, u in wanted.items() if u not in outputs]
    if missing:
        raise NoResultsError(
            f"campaign '{campaign}' has no relaxed {', '.join(missing)} yet"
        )
    entries = []
    for phase, uuid in wanted.items():
        s = summarize(outputs[uuid])
        entries.append(PDEntry(s.structure.composition, s.energy, name=phase))
    lowest = min(e.energy_per_atom for e in entries)
    entries.append(PDEntry(Composition("P"), lowest + 10.0, name="P placeholder"))
    return PhaseDiagram(entries)


def _frac(x: float) -> str:
    from fractions import Fraction

    return str(Fraction(x).limit_denominator(1000))


def failures(stores: Stores, campaign: str) -> dict[str, str]:
    """Failed jobs of the campaign: uuid -> first line of the error."""
    return dict(manifest(stores, campaign).get("failures", {}))
