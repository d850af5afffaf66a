"""Selections of the descriptor table and reading exported tables back.

:func:`select` is what ``lpsflow results --accelerant A --descriptor D`` applies to
:func:`lpsflow.results.load`; the API and the command line share it, so they give
the same numbers. A selected descriptor keeps the columns that say where it came
from: accelerant, scheme, calculator, converged, state and its job id(s).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd

from lpsflow.analysis.ranking import FUTURE_COLUMNS
from lpsflow.errors import LpsflowError

#: Columns that identify a row and its provenance (kept by every selection).
IDENTITY = ("accelerant", "scheme", "core", "calculator", "converged", "state")

#: Job-id columns behind each descriptor (default: ``job_<descriptor>``).
JOBS_OF = {
    "dE_core": ("job_core",),
    "dE_Li7P3S11": ("job_Li7P3S11",),
    "dE_Li4P2S6": ("job_Li4P2S6",),
    "dE_Li3PS4": ("job_Li3PS4",),
    "dE_core_minus_Li7P3S11": ("job_core", "job_Li7P3S11"),
    "p2s5_sensitivity_core": ("job_core",),
    "preferred": ("job_core",),
    "x_solubility": ("job_solubility",),
    "solubility": ("job_solubility",),
    "hull_threshold_meV": ("job_solubility",),
    "e_hull_meV_by_x": ("job_solubility",),
    **{
        f"{col}_{kind}": (f"job_binding_{kind}",)
        for kind in ("hetero", "homo")
        for col in (
            "E_bind",
            "area",
            "strain",
            "binding_converged",
            "binding_references",
        )
    },
    **{
        f"E_bind_{k}_{s}": (f"job_binding_{k}",)
        for k in ("hetero", "homo")
        for s in ("n", "by_n")
    },
    "dE_bind": ("job_binding_hetero", "job_binding_homo"),
    "mu_Li_core": ("job_mu_Li_core",),
    "E_v_min_core": ("job_mu_Li_core",),
    "mu_Li_Li7P3S11": ("job_mu_Li_Li7P3S11",),
    "E_v_min_Li7P3S11": ("job_mu_Li_Li7P3S11",),
    "dmu_Li": ("job_mu_Li_core", "job_mu_Li_Li7P3S11"),
    "mu_Li_gb": ("job_mu_Li_gb",),
    "E_v_min_gb": ("job_mu_Li_gb",),
    **{
        f"{col}_GB_{kind}": (f"job_gb_{kind}",)
        for kind in ("homo", "core", "hetero")
        for col in ("gamma", "sigma", "misorientation", "strain", "atoms")
    },
    **{
        f"{p}_{path}{sfx}": (f"job_Ea_{path}{sfx}",)
        for p in ("Ea", "neb_reason")
        for path in ("gb", "bulk")
        for sfx in ("", "_Li7P3S11")
    },
}


class NotComputedError(LpsflowError):
    """A descriptor, structure kind or plot the campaign has not computed."""


class UnknownDescriptorError(LpsflowError):
    """A descriptor name that is no column of the results table."""


def descriptors(df: pd.DataFrame) -> list[str]:
    """Descriptor columns of a results table (not identity, not job ids)."""
    return [c for c in df.columns if c not in IDENTITY and not c.startswith("job_")]


def _has_value(value: object) -> bool:
    if value is None:
        return False
    try:
        return not pd.isna(value)
    except (TypeError, ValueError):  # dicts and lists
        return True


def select(
    df: pd.DataFrame,
    campaign: str,
    accelerants: list[str] | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Rows of the given accelerants and the given descriptor columns.

    Raises :class:`UnknownDescriptorError` for a name that is no descriptor and
    :class:`NotComputedError` for one that is known but has no value in the
    selected rows (a later issue's descriptor, or jobs pending/failed).
    """
    out = df
    if accelerants:
        from lpsflow.structures.accelerant import parse_accelerant

        wanted = [parse_accelerant(a).formula for a in accelerants]
        have = sorted(set(df["accelerant"]))
        missing = [a for a in wanted if a not in have]
        if missing:
            raise NotComputedError(
                f"campaign '{campaign}' has no accelerant {', '.join(missing)} "
                f"(it screened: {', '.join(have)})"
            )
        out = out[out["accelerant"].isin(wanted)]
    if not columns:
        return out.reset_index(drop=True)
    keep = [c for c in IDENTITY if c in out.columns]
    for name in columns:
        if name not in out.columns:
            if name in FUTURE_COLUMNS:
                raise NotComputedError(
                    f"descriptor '{name}' was not computed in campaign '{campaign}': "
                    f"it comes from {FUTURE_COLUMNS[name]}, not in lpsflow yet"
                )
            raise UnknownDescriptorError(
                f"unknown descriptor '{name}'; the results table has: "
                + ", ".join(descriptors(df) + list(FUTURE_COLUMNS))
            )
        jobs = [j for j in JOBS_OF.get(name, (f"job_{name}",)) if j in out.columns]
        if jobs and not any(_has_value(v) for j in jobs for v in out[j]):
            raise NotComputedError(
                f"descriptor '{name}' was not computed in campaign '{campaign}': "
                "its branch (or kind) is not enabled in the campaign file"
            )
        if not any(_has_value(v) for v in out[name]):
            states = ", ".join(sorted(set(map(str, out.get("state", [])))))
            raise NotComputedError(
                f"descriptor '{name}' has no value in campaign '{campaign}' "
                f"(job states: {states or 'unknown'}): not finished, or not converged "
                "(see 'lpsflow status' and the *_converged / *_reason columns)"
            )
        jobs = JOBS_OF.get(name, (f"job_{name}",))
        keep += [name] + [j for j in jobs if j in out.columns]
    keep = list(dict.fromkeys(keep))
    return out[keep].reset_index(drop=True)


def to_text(df: pd.DataFrame) -> str:
    """Plain table of a selection (job ids shortened to 8 characters)."""
    view = df.copy()
    for col in view.columns:
        if col.startswith("job_"):
            view[col] = view[col].map(lambda u: str(u)[:8] if _has_value(u) else "-")
    return view.to_string(index=False, float_format=lambda v: f"{v:+.4f}")


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a table written by ``lpsflow results -f csv|json`` back into a DataFrame.

    The per-x energies above hull (a dict per row) are restored from their CSV text.
    """
    path = Path(path)
    if path.suffix == ".json":
        return pd.DataFrame(json.loads(path.read_text()))
    df = pd.read_csv(path)
    if "e_hull_meV_by_x" in df:
        df["e_hull_meV_by_x"] = [
            ast.literal_eval(v) if isinstance(v, str) else None
            for v in df["e_hull_meV_by_x"]
        ]
    return df
