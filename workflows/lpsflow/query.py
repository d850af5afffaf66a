"""Selections of the descriptor table and reading exported tables back.

:func:`select` is what ``lpsflow results --accelerant A --descriptor D`` applies to
:func:`lpsflow.results.load`; the API and the command line share it, so they give
the same numbers. A selected descriptor keeps its spread and sample count
(``<name>_spread``, ``<name>_samples``, :mod:`lpsflow.descriptors.spread`) and the
columns that say where it came from: accelerant, scheme, calculator, converged,
state and its job id(s).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd

from lpsflow.descriptors import descriptor_of, jobs_of
from lpsflow.descriptors.base import has_value
from lpsflow.errors import LpsflowError

#: Columns that identify a row and its provenance (kept by every selection).
IDENTITY = ("accelerant", "scheme", "core", "calculator", "converged", "state")


class NotComputedError(LpsflowError):
    """A descriptor, structure kind or plot the campaign has not computed."""


class UnknownDescriptorError(LpsflowError):
    """A descriptor name that is no column of the results table."""


def descriptors(df: pd.DataFrame) -> list[str]:
    """Descriptor columns of a results table (not identity, not job ids)."""
    return [c for c in df.columns if c not in IDENTITY and not c.startswith("job_")]


def select(
    df: pd.DataFrame,
    campaign: str,
    accelerants: list[str] | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Rows of the given accelerants and the given descriptor columns.

    Raises :class:`UnknownDescriptorError` for a name that is no descriptor and
    :class:`NotComputedError` for one that is known but has no value in the
    selected rows (its branch off in the campaign file, or jobs pending/failed).
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
            owner = descriptor_of(name)
            if owner is not None:
                raise NotComputedError(
                    f"descriptor '{name}' ({owner.name}: {owner.title}) is not in "
                    f"this table of campaign '{campaign}' (a table written before "
                    "it was computed, or without its columns)"
                )
            raise UnknownDescriptorError(
                f"unknown descriptor '{name}'; the results table has: "
                + ", ".join(descriptors(df))
            )
        jobs = [j for j in jobs_of(name) if j in out.columns]
        if jobs and not any(has_value(v) for j in jobs for v in out[j]):
            raise NotComputedError(
                f"descriptor '{name}' was not computed in campaign '{campaign}': "
                "its branch (or kind) is not enabled in the campaign file"
            )
        if not any(has_value(v) for v in out[name]):
            states = ", ".join(sorted(set(map(str, out.get("state", [])))))
            raise NotComputedError(
                f"descriptor '{name}' has no value in campaign '{campaign}' "
                f"(job states: {states or 'unknown'}): not finished, or not converged "
                "(see 'lpsflow status' and the *_converged / *_reason columns)"
            )
        stats = [f"{name}{s}" for s in ("_spread", "_samples") if f"{name}{s}" in out]
        keep += [name, *stats, *jobs]
    keep = list(dict.fromkeys(keep))
    return out[keep].reset_index(drop=True)


def to_text(df: pd.DataFrame) -> str:
    """Plain table of a selection (job ids shortened to 8 characters)."""
    view = df.copy()
    for col in view.columns:
        if col.startswith("job_"):
            view[col] = view[col].map(lambda u: str(u)[:8] if has_value(u) else "-")
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
