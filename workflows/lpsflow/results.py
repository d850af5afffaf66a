"""Query API: a campaign's descriptors as a pandas DataFrame.

Every number comes from a job output in the store and carries the job id it came
from and whether the calculations behind it converged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from lpsflow import roles
from lpsflow.descriptors.base import RowContext
from lpsflow.errors import LpsflowError
from lpsflow.finished import job_outputs
from lpsflow.roles import roles_of

if TYPE_CHECKING:
    from lpsflow.store import Stores


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


def load(campaign: str, stores: Stores) -> pd.DataFrame:
    """Descriptor table: one row per accelerant and charge-compensation scheme.

    Rows come from the doped cores' reaction-energy jobs; each registered
    descriptor (:data:`lpsflow.descriptors.DESCRIPTORS`) adds its columns, with the
    job ids behind them (``job_*``). Columns, in order: accelerant, scheme; the
    reaction energies (core, dE_core, dE_Li7P3S11, dE_Li4P2S6, dE_Li3PS4 in
    eV/atom, dG_r ~ dE_r; dE_core_minus_Li7P3S11; converged, state, calculator;
    dopant_CN, the dopant's S coordination in the lowest cell);
    the solubility series (x_solubility, e_hull_meV_by_x); binding energies
    (E_bind_hetero/homo at the thickest converged film, dE_bind = hetero - homo,
    per-n values, area and strain of each cell, where the references started);
    mu_Li of the core, Li7P3S11 and the hetero-GB sites, dmu_Li; GB energies
    gamma_GB_homo/core/hetero (J/m^2) with Sigma, misorientation and misfit; NEB
    barriers Ea_gb, Ea_bulk and the Li7P3S11 references (None where no band
    converged, with the reason in neb_reason_*); last, ``preferred`` (lowest dE_core
    among the accelerant's schemes). See docs/ for each descriptor's definition.
    """
    from lpsflow.sampling.read import sampled_jobs

    man = manifest(stores, campaign)
    jobs = roles_of(man)
    by_label = sampled_jobs(stores, jobs)  # the last round of adaptive sampling
    uuids = {u for js in [jobs, *by_label.values()] for u in js.values()}
    outputs = job_outputs(stores, list(uuids))
    calc_label = calculator_label(man["definition"]["calculator"])
    df = rows(jobs, outputs, man.get("failures", {}), calc_label, by_label)
    if df.empty:
        raise NoResultsError(f"campaign '{campaign}' defines no doped cores")
    return df


def calculator_label(calculator: dict[str, Any]) -> str:
    """A row's calculator label (``mlip:CHGNet``, ``vasp``) of a ``calculator``."""
    return f"mlip:{calculator['model']}" if calculator["backend"] == "mlip" else "vasp"


def rows(
    jobs: dict[roles.Role, str],
    outputs: dict[str, dict],
    failures: dict[str, str],
    calculator: str,
    by_label: dict[str, dict[roles.Role, str]] | None = None,
) -> pd.DataFrame:
    """The descriptor table of a campaign's jobs (role -> uuid) and their outputs.

    ``by_label``: an accelerant's own jobs (role -> uuid), read instead of
    ``jobs`` for its rows (the jobs its last round of sampling built).
    """
    from lpsflow import descriptors

    out = []
    for role in jobs:
        if role.step != "reaction" or role.branch != "core":
            continue
        own = (by_label or {}).get(role.label, jobs)
        ctx = RowContext(role.label, role.scheme, own, outputs, failures, calculator)
        row: dict[str, Any] = {"accelerant": role.label, "scheme": role.scheme}
        for d in descriptors.DESCRIPTORS:
            if d.columns is not None:
                row.update(d.columns(ctx))
        out.append(row)
    df = pd.DataFrame(out)
    if df.empty:
        return df
    for d in descriptors.DESCRIPTORS:
        if d.finish is not None:
            df = d.finish(df)
    return df.reset_index(drop=True)


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

    jobs = roles_of(manifest(stores, campaign))
    wanted = {p: jobs.get(roles.relax(p)) for p in LIPS_PHASES}
    outputs = job_outputs(stores, [u for u in wanted.values() if u])
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


def failures(stores: Stores, campaign: str) -> dict[str, str]:
    """Failed jobs of the campaign: uuid -> first line of the error."""
    return dict(manifest(stores, campaign).get("failures", {}))
