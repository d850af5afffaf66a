"""``lpsflow results``: a campaign's descriptor table, and its summaries."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lpsflow.cli.application import app, echo
from lpsflow.cli.common import (
    reading,
)


class Format(StrEnum):
    """Output formats of tables."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def results(
    campaign: Annotated[
        str | None,
        typer.Argument(help="Campaign YAML file or campaign name (default: list all)."),
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Embedded store directory.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    accelerant: Annotated[
        list[str] | None,
        typer.Option("--accelerant", "-a", help="Only this accelerant (repeatable)."),
    ] = None,
    descriptor: Annotated[
        list[str] | None,
        typer.Option(
            "--descriptor", "-d", help="Only this descriptor column (repeatable)."
        ),
    ] = None,
) -> None:
    """Show a campaign's descriptor table (dE_r of doped cores, Li7P3S11, Li4P2S6)."""
    from lpsflow import results as res

    with reading(campaign, store) as (camp, stores):
        if campaign is None:
            names = res.campaign_names(stores)
            if not names:
                raise res.NoResultsError(f"no campaigns in {stores.location}")
            echo("\n".join(names))
            return
        name = camp.name if camp else campaign
        df = res.load(name, stores)
        fails = res.failures(stores, name)
    from lpsflow import query

    df = query.select(df, name, accelerant, descriptor)
    text = query.to_text(df) if descriptor and fmt is Format.table else _render(df, fmt)
    if output:
        output.write_text(text)
        echo(f"wrote {output}")
    else:
        typer.echo(text)
    if fmt is Format.table and fails:
        echo(f"{len(fails)} failed job(s):")
        for uuid, msg in fails.items():
            echo(f"  {uuid[:8]}  {msg}")


def _render(df, fmt: Format) -> str:
    if fmt is Format.csv:
        return df.to_csv(index=False)
    if fmt is Format.json:
        return json.dumps(json.loads(df.to_json(orient="records")), indent=2)
    view = df[
        [
            "accelerant",
            "scheme",
            "core",
            "dE_core",
            "dE_Li7P3S11",
            "dE_Li4P2S6",
            "dE_core_minus_Li7P3S11",
            "solubility",
            "preferred",
            "converged",
            "state",
            "job_core",
        ]
    ].copy()
    view["job_core"] = view["job_core"].str[:8]
    lines = [
        "Reaction energies dE_r (~dG_r) in eV/atom, from relaxed precursors "
        "(Li2S, P2S5, MxSy, S):",
        view.to_string(index=False, float_format=lambda v: f"{v:+.4f}"),
        "",
        "Shared products (same for every row): " + ", ".join(_shared_summary(df)),
        *_solubility_summary(df),
        *_binding_summary(df),
        *_mu_li_summary(df),
        *_gb_neb_summary(df),
    ]
    return "\n".join(lines)


def _num(v, fmt: str = "+.3f") -> str:
    return "-" if v is None or v != v else format(v, fmt)


def _gb_neb_summary(df) -> list[str]:
    """gamma_GB per kind and the NEB barriers, per accelerant."""
    out = []
    if any(c in df and df[c].notna().any() for c in ("job_gb_homo", "job_gb_hetero")):
        r0 = df.iloc[0]
        out += [
            "",
            "Grain-boundary energies gamma_GB (J/m^2; '-' = not converged) "
            "[Sigma, misorientation, misfit strain, atoms]:",
            f"  Li7P3S11 homo: {_gb_text(r0, 'homo')}",
        ]
        for acc, r in df.groupby("accelerant").first().iterrows():
            out.append(
                f"  {acc} core/core: {_gb_text(r, 'core')}; "
                f"hetero core/Li7P3S11: {_gb_text(r, 'hetero')}"
            )
    if ("job_Ea_gb" in df and df["job_Ea_gb"].notna().any()) or (
        "job_Ea_bulk" in df and df["job_Ea_bulk"].notna().any()
    ):
        r0 = df.iloc[0]
        out += [
            "",
            "Li vacancy migration barriers Ea = E_max - min(E_initial, E_final) (eV, "
            "climbing-image NEB; '-' = not converged, reason in neb_reason_*): along "
            "the GB / across the grain",
            f"  Li7P3S11 (homo GB / bulk): {_num(r0['Ea_gb_Li7P3S11'])} / "
            f"{_num(r0['Ea_bulk_Li7P3S11'])}",
        ]
        for acc, r in df.groupby("accelerant").first().iterrows():
            gb, bulk = r["Ea_gb"], r["Ea_bulk"]
            verdict = (
                ""
                if _num(gb) == "-" or _num(bulk) == "-"
                else " (faster along the GB)"
                if gb < bulk
                else " (not faster along the GB)"
            )
            out.append(
                f"  {acc} (hetero GB / core bulk): {_num(gb)} / {_num(bulk)}{verdict}"
            )
    if "mu_Li_gb" in df and df["mu_Li_gb"].notna().any():
        out += ["", "mu_Li at the Li sites near each hetero GB (eV):"]
        for acc, r in df.groupby("accelerant").first().iterrows():
            out.append(f"  {acc}: {_num(r['mu_Li_gb'])}")
    return out


def _gb_text(r, kind: str) -> str:
    if r.get(f"job_gb_{kind}") is None or r[f"job_gb_{kind}"] != r[f"job_gb_{kind}"]:
        return "not computed"
    if r[f"sigma_GB_{kind}"] is None or r[f"sigma_GB_{kind}"] != r[f"sigma_GB_{kind}"]:
        return "pending"
    return (
        f"{_num(r[f'gamma_GB_{kind}'])} [Sigma {r[f'sigma_GB_{kind}']:.0f}, "
        f"{r[f'misorientation_GB_{kind}']:.1f} deg, "
        f"{100 * r[f'strain_GB_{kind}']:.1f}%, {r[f'atoms_GB_{kind}']:.0f}]"
    )


def _mu_li_summary(df) -> list[str]:
    if "mu_Li_Li7P3S11" not in df or df["mu_Li_Li7P3S11"].isna().all():
        return []

    def f(v) -> str:
        return "-" if v is None or v != v else f"{v:+.3f}"

    out = [
        "",
        "Li chemical potential mu_Li = -min E_v (eV vs bcc Li; E_v = E(defect) + "
        f"mu_Li(bcc) - E(host)): Li7P3S11 {f(df['mu_Li_Li7P3S11'].iloc[0])}",
    ]
    for acc, r in df.groupby("accelerant").first().iterrows():
        d = r["dmu_Li"]
        side = (
            ""
            if d is None or d != d
            else " (the core loses Li+ to Li7P3S11)"
            if d > 0
            else " (Li7P3S11 loses Li+ to the core)"
        )
        out.append(f"  {acc} core: {f(r['mu_Li_core'])}, core - Li7P3S11: {f(d)}{side}")
    return out


#: Where E_bind's film and substrate references started (``interfaces.references``).
REFERENCE_STARTS = {
    "relaxed_interface": "their parts of each relaxed interface",
    "screened_cell": "the unrelaxed interface cell",
    "lowest": "both their parts of each relaxed interface and the unrelaxed cell, "
    "the lowest energy of each used (the substrate's over all n)",
}


def _binding_summary(df) -> list[str]:
    if "E_bind_hetero_by_n" not in df or df["E_bind_hetero_by_n"].isna().all():
        return []
    out = [
        "",
        "Binding of n Li7P3S11(010) layers, E_bind = (E_int - E_film - E_sub)/A in "
        "meV/A^2 (< 0 binds; '-' = not converged); hetero on the core, homo on "
        "Li7P3S11:",
    ]
    starts = {
        v
        for col in ("binding_references_hetero", "binding_references_homo")
        if col in df
        for v in df[col].dropna()
    }
    if starts:
        out.append(
            "  references (film, substrate) relaxed alone, from "
            + " / ".join(REFERENCE_STARTS.get(v, v) for v in sorted(starts))
        )

    n_starts = max(
        (
            int(v)
            for col in ("binding_starts_hetero", "binding_starts_homo")
            if col in df
            for v in df[col].dropna()
        ),
        default=1,
    )
    if n_starts > 1:
        out.append(
            f"  interfaces relaxed from the {n_starts} lowest distinct registries "
            "(rigid shifts) per n, the lowest used: (start k) where not the lowest "
            "single point's"
        )

    def series(by_n, starts=None) -> str:
        if not isinstance(by_n, dict):
            return "pending"
        starts = starts if isinstance(starts, dict) else {}
        return ", ".join(
            f"n={n}: "
            + ("-" if e is None else f"{1000 * e:+.2f}")
            + (f" (start {starts[n]})" if starts.get(n, 1) > 1 else "")
            for n, e in sorted(by_n.items(), key=lambda t: int(t[0]))
        )

    for acc, r in df.groupby("accelerant").first().iterrows():
        area, strain = r["area_hetero"], r["strain_hetero"]
        geom = (
            f" [{area:.0f} A^2, strain {100 * strain:.1f}%]"
            if area is not None and area == area
            else ""
        )
        hetero = series(r["E_bind_hetero_by_n"], r.get("E_bind_hetero_start_by_n"))
        out.append(f"  {acc} hetero: {hetero}{geom}")
    r = df.iloc[0]
    homo = series(r["E_bind_homo_by_n"], r.get("E_bind_homo_start_by_n"))
    out.append(f"  Li7P3S11 homo: {homo}")
    out.append(
        "  dE_bind = hetero - homo at the thickest converged n (< 0: Li7P3S11 "
        "prefers to nucleate on the core): "
        + ", ".join(
            f"{acc} " + ("-" if v is None or v != v else f"{1000 * v:+.2f}")
            for acc, v in df.groupby("accelerant")["dE_bind"].first().items()
        )
    )
    return out


def _solubility_summary(df) -> list[str]:
    rows = df[df["e_hull_meV_by_x"].notna()]
    if rows.empty:
        return []
    out = [
        "",
        f"Solubility: largest x whose doped cell stays below "
        f"{rows['hull_threshold_meV'].iloc[0]:g} meV/atom above the hull of the "
        "undoped phases (negative: below it). E_hull by x, meV/atom:",
    ]
    for _, r in rows.iterrows():
        series = ", ".join(f"x={x}: {e:+.1f}" for x, e in r["e_hull_meV_by_x"].items())
        out.append(f"  {r['accelerant']} {r['scheme']}: {series}")
    return out


def _shared_summary(df) -> list[str]:
    out = []
    for p in ("Li7P3S11", "Li4P2S6", "Li3PS4"):
        value, job = df[f"dE_{p}"].iloc[0], str(df[f"job_{p}"].iloc[0])[:8]
        if value is not None and value == value:  # not None/NaN
            out.append(f"{p} {value:+.4f} eV/atom (job {job})")
    return out
