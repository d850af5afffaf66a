"""The ``lpsflow`` command line."""

from __future__ import annotations

import json
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lpsflow.cli_phase import phase
from lpsflow.errors import LpsflowError

if TYPE_CHECKING:
    from lpsflow.campaign import Campaign
    from lpsflow.status import StoreStatus

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Screen nucleation accelerants for Li2S-P2S5 glass-ceramic electrolytes.",
)


class Format(StrEnum):
    """Output formats of tables."""

    table = "table"
    csv = "csv"
    json = "json"


CampaignArg = Annotated[Path, typer.Argument(help="Campaign YAML file.")]


def _open(campaign_path: Path | None, store: Path | None):
    """The campaign (None without a file) and its stores, to read: none is created."""
    from lpsflow.campaign import StoreSettings, load_campaign
    from lpsflow.store import open_stores

    if campaign_path is not None and campaign_path.suffix in {".yaml", ".yml"}:
        campaign = load_campaign(campaign_path)
        settings = campaign.store
        if store is not None:
            settings = StoreSettings(type="embedded", path=str(store.resolve()))
        return campaign, open_stores(settings, campaign.base_dir, create=False)
    settings = StoreSettings(type="embedded", path=str(store or "lpsflow-store"))
    return None, open_stores(settings, Path.cwd(), create=False)


@app.command()
def run(
    campaign: CampaignArg,
    workdir: Annotated[
        Path | None, typer.Option(help="Job directories (default: the campaign's).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes running independent jobs side by side (default: one per "
            "core for the MLIP, at most 4 on a CPU and 8 sharing a GPU; 1 for VASP).",
        ),
    ] = None,
) -> None:
    """Run a campaign locally; finished calculations in the store are reused."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.processes import auto_workers, start_server

    _stop_on_sigterm()
    camp = load_campaign(campaign)
    camp.calculator.check_device()  # before any store or worker is made
    workers = workers or auto_workers(camp.calculator)
    if workers > 1:  # the workers' imports go on while this process imports
        start_server()

    from lpsflow.dispatch.local import run_campaign
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import open_stores

    _check_interfaces(camp)
    cflow = build_campaign(camp)  # every input is checked before the store is opened
    stores = open_stores(camp.store, camp.base_dir)
    try:
        report = run_campaign(
            camp,
            stores,
            workdir=workdir,
            echo=_echo,
            cflow=cflow,
            workers=workers,
        )
    except Terminated:
        _echo("terminated (SIGTERM)")
        raise typer.Exit(143) from None
    finally:
        stores.close()
    _echo(
        f"finished in {report.wall_s:.1f} s: {len(report.completed)} computed, "
        f"{report.reused} reused, "
        + (
            f"{len(report.elsewhere)} computed by other runners, "
            if report.elsewhere
            else ""
        )
        + f"{len(report.failed)} failed, {len(report.skipped)} skipped"
        + (
            f"; jobs took {sum(report.job_s.values()):.0f} s "
            f"({sum(report.job_cpu_s.values()):.0f} CPU-s)"
            if report.completed
            else ""
        )
        + (
            f"; {report.force_calls} MLIP force calls, "
            f"{report.calculator_s:.0f} s inside the calculator"
            if report.force_calls
            else ""
        )
    )
    if not report.ok:
        _echo("some jobs failed; fix the cause and run again to finish the rest")
        raise typer.Exit(1)
    _echo(f"see the descriptors with: lpsflow results {campaign}")


LaunchpadOpt = Annotated[
    Path,
    typer.Option(
        "--launchpad",
        "-l",
        help="FireWorks my_launchpad.yaml (default: $LPSFLOW_LAUNCHPAD).",
        envvar="LPSFLOW_LAUNCHPAD",
    ),
]


def _campaign_file(campaign: str):
    """The campaign if ``campaign`` is a YAML file, else None (a campaign name)."""
    if campaign.endswith((".yaml", ".yml")):
        from lpsflow.campaign import load_campaign

        return load_campaign(campaign)
    return None


def _campaign_name(campaign: str) -> str:
    camp = _campaign_file(campaign)
    return camp.name if camp else campaign


def _check_interfaces(camp):
    """Lattice matches of the interfaces and GBs, and the NEB hop requests.

    One clear error if a match or a hop does not exist.
    """
    from lpsflow.flows.grain_boundaries import check_grain_boundaries, check_hops
    from lpsflow.flows.interfaces import check_lattice_matches

    matches = {f"{k} interface": m for k, m in check_lattice_matches(camp).items()}
    gbs = check_grain_boundaries(camp)
    check_hops(camp)
    return matches | {f"{k} GB": m for k, m in gbs.items()}


@app.command()
def submit(campaign: CampaignArg, launchpad: LaunchpadOpt) -> None:
    """Submit a campaign to a FireWorks LaunchPad (adds only what is missing)."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.fireworks import load_launchpad, submit_campaign
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import open_stores

    camp = load_campaign(campaign)
    _check_interfaces(camp)
    cflow = build_campaign(camp)
    _note_device(camp)
    lp = load_launchpad(launchpad)
    stores = open_stores(camp.store, camp.base_dir)
    try:
        report = submit_campaign(camp, cflow, lp, stores)
    finally:
        stores.close()
    states = Counter(report.on_launchpad.values())
    if report.on_launchpad:
        _echo(
            f"{len(report.on_launchpad)} of {len(cflow.jobs)} jobs already on the "
            "LaunchPad: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        )
    if report.in_store:
        _echo(f"{len(report.in_store)} jobs already computed (results in the store)")
    if not report.added:
        _echo(f"nothing to add: campaign '{camp.name}' is fully submitted")
        return
    where = (
        f", appended to the workflow of fw_id {report.appended_to}"
        if report.appended_to
        else ""
    )
    _echo(
        f"added {len(report.added)} jobs of campaign '{camp.name}' "
        f"(fw_ids {min(report.fw_ids.values())}-{max(report.fw_ids.values())}{where}); "
        "start workers with rlaunch/qlaunch, follow with: lpsflow status "
        f"{camp.name}"
    )


@app.command()
def status(
    campaign: Annotated[str, typer.Argument(help="Campaign name or YAML file.")],
    launchpad: Annotated[
        Path | None,
        typer.Option(
            "--launchpad",
            "-l",
            help="FireWorks my_launchpad.yaml (default: $LPSFLOW_LAUNCHPAD); "
            "without one, the campaign's results store is read.",
            envvar="LPSFLOW_LAUNCHPAD",
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="Read this embedded store (not the LaunchPad)."),
    ] = None,
) -> None:
    """Show a campaign's jobs by state and kind, the failing ones and the cost.

    With a LaunchPad: the cluster campaign's fireworks. Without (or with --store):
    the results store, which also holds what each locally run job cost.
    """
    if launchpad is None or store is not None:
        _store_status(campaign, store)
        return
    from lpsflow.dispatch.fireworks import campaign_status, load_launchpad

    camp = _campaign_file(campaign)
    name = camp.name if camp else campaign
    st = campaign_status(load_launchpad(launchpad), name)
    total = sum(st.by_state.values())
    typer.echo(
        f"campaign '{name}': {total} jobs: "
        + ", ".join(f"{n} {s}" for s, n in sorted(st.by_state.items()))
    )
    done = st.by_state.get("COMPLETED", 0)
    recorded = _recorded_cost(camp) if camp else None
    if recorded:  # CPU time, force calls, memory per kind, as the workers recorded
        for kind, cost in recorded.cost_by_kind.items():
            if kind in st.cost_by_kind:
                st.cost_by_kind[kind].update(
                    {k: v for k, v in cost.items() if k != "wall_s"}
                )
    _echo_kinds(st.by_kind, st.cost_by_kind)
    if camp and st.definition_hashes - {camp.definition_hash()}:
        typer.echo(
            f"note: {campaign} has changed since it was last submitted: these are "
            f"the jobs of that submission; `lpsflow submit {campaign}` adds what the "
            "file asks for now"
        )
    if done:
        typer.echo(f"job time of the {done} completed jobs: {_hours(st.runtime_s)}")
    if recorded:  # workers and local runs computing its jobs now
        _echo_runners(recorded)
    if recorded and recorded.timed:
        typer.echo(
            f"recorded by the workers in the results store, {recorded.timed} jobs: "
            f"{_hours(recorded.cpu_s)} of CPU time, {recorded.force_calls} MLIP "
            "force calls"
        )
        _echo_peak(recorded)
    if st.left_estimated:
        typer.echo(
            f"left: {total - done} jobs; {st.left_estimated} of them take about "
            f"{_hours(st.left_s)} of job time, as their completed peers on other "
            "accelerants did"
        )
    if st.failed:
        typer.echo(f"failed jobs ({len(st.failed)}):")
        for fw_id, name_, err in st.failed:
            typer.echo(f"  fw_id {fw_id:<6d} {name_}: {err}")
        typer.echo(f"rerun them with: lpsflow rerun {name} --failed")


def _echo_kinds(
    by_kind: dict[str, Counter], costs: dict[str, Counter] | None = None
) -> None:
    """One line per job kind: its counts by state (and the timed jobs' cost)."""
    costs = costs or {}
    width = max((len(k) for k in by_kind), default=0)
    for kind, counts in sorted(by_kind.items()):
        line = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if kind in costs:  # a LaunchPad knows the job time only
            c = costs[kind]
            cost = [f"{_hours(c['wall_s'])} job time"]
            if "cpu_s" in c:
                cost.append(f"{_hours(c['cpu_s'])} CPU")
            if "force_calls" in c:
                cost.append(f"{c['force_calls']} force calls")
            if c.get("peak_mb"):
                cost.append(f"peak {_memory(c['peak_mb'])}")
            line = f"{line:20s} " + ", ".join(cost)
        typer.echo(f"  {kind:{max(width, 10)}s} {line}")


def _echo_running(alive: list[dict], gone: list[dict]) -> None:
    """The jobs a local run has started and not finished: running, or killed."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    if alive:
        typer.echo(f"running now ({len(alive)}):")
    for r in alive:
        try:
            minutes = (now - dt.datetime.fromisoformat(r["started"])).total_seconds()
            minutes /= 60
        except (KeyError, TypeError, ValueError):
            minutes = r.get("seconds", 0.0) / 60
        force = r.get("max_force")
        typer.echo(
            f"  {r.get('name', r['uuid'])}: {minutes:.1f} min, "
            f"{r.get('force_calls', 0)} force calls"
            + (f" (max force {force:.3f} eV/A)" if force is not None else "")
            + f", pid {r.get('pid')} on {r.get('host')}"
        )
    if gone:
        typer.echo(
            f"stopped while running ({len(gone)}; their process is gone, "
            "lpsflow run redoes them):"
        )
    for r in gone:
        typer.echo(
            f"  {r.get('name', r['uuid'])}: started {r.get('started')}, "
            f"pid {r.get('pid')}"
        )


def _echo_runners(st: StoreStatus) -> None:
    """The runners that hold claims on the campaign's jobs (any host, any kind)."""
    runners = st.runners()
    if runners:
        typer.echo(f"runners holding its jobs ({len(runners)}):")
    for claim, names in runners:
        state = "" if claim.alive else "; gone: the next runner takes its jobs over"
        shown = ", ".join(names[:3]) + (
            f" and {len(names) - 3} more" if len(names) > 3 else ""
        )
        typer.echo(
            f"  {claim.who}, running since {claim.started_utc} UTC{state}: "
            f"{len(names)} job{'s' * (len(names) != 1)} ({shown})"
        )


def _hours(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def _memory(mb: float) -> str:
    return f"{mb:.0f} MB" if mb < 1024 else f"{mb / 1024:.1f} GB"


def _echo_peak(st: StoreStatus) -> None:
    if st.peak:
        typer.echo(
            f"  most memory: {st.peak[1]} {_memory(st.peak[0])} (peak resident "
            "memory of the Python process that ran it, an MLIP model included, "
            "VASP's own processes not)"
        )


def _recorded_cost(camp: Campaign) -> StoreStatus | None:
    """What the workers recorded in the campaign's results store (None: unreadable)."""
    from lpsflow.status import store_status
    from lpsflow.store import open_stores

    try:
        stores = open_stores(camp.store, camp.base_dir, create=False)
        try:
            return store_status(stores, camp.name)
        finally:
            stores.close()
    except Exception as exc:  # the LaunchPad's figures stand on their own
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        typer.echo(f"(no CPU time or memory: cannot read the results store: {first})")
        return None


def _store_status(campaign: str, store: Path | None) -> None:
    from lpsflow.status import store_status

    camp, stores = _open(Path(campaign), store)  # None unless a campaign file
    name = camp.name if camp else campaign
    try:  # the job directories say what runs now (known from the campaign file)
        workdir = camp.resolve(camp.workdir) if camp else None
        st = store_status(stores, name, workdir=workdir)
    finally:
        stores.close()
    alive = [r for r in st.running if r["alive"] is not False]
    gone = [r for r in st.running if r["alive"] is False]
    typer.echo(
        f"campaign '{name}' in {st.location}: {st.done} of {st.total} jobs done"
        + (f", {len(alive)} running" if alive else "")
        + (f", {st.total - st.done - len(alive)} not run" if st.done < st.total else "")
    )
    _echo_kinds(st.by_kind, st.cost_by_kind)
    if camp and st.definition_hash not in {"", camp.definition_hash()}:
        typer.echo(
            f"note: {campaign} has changed since these jobs were listed "
            f"({st.updated[:16].replace('T', ' ')} UTC): the counts are of the "
            f"definition run then; `lpsflow validate {campaign}` shows what a run "
            "would compute now"
        )
    _echo_running(alive, gone)
    _echo_runners(st)
    if st.timed:
        typer.echo(
            f"cost of the {st.timed} jobs run by lpsflow (run, or FireWorks workers): "
            f"{_hours(st.wall_s)} of job time, {_hours(st.cpu_s)} of CPU time, "
            f"{st.force_calls} MLIP force calls"
        )
        typer.echo(
            "  longest: " + ", ".join(f"{role} {_hours(t)}" for t, role in st.longest)
        )
    _echo_peak(st)
    if st.done > st.timed:
        typer.echo(f"{st.done - st.timed} done jobs have no recorded cost")
    if st.left_estimated:
        left = st.total - st.done
        typer.echo(
            f"left: {left} jobs; {st.left_estimated} of them cost about "
            f"{_hours(st.left_cpu_s)} of CPU time ({_hours(st.left_wall_s)} of job "
            "time), as their finished peers on other accelerants did"
        )
    if st.failures:
        typer.echo(f"failed jobs ({len(st.failures)}):")
        for uuid, msg in st.failures.items():
            typer.echo(f"  {uuid[:8]}  {st.names.get(uuid, '')}: {msg}")
    if st.done < st.total:
        typer.echo(
            "finish it with: lpsflow run "
            + (campaign if campaign.endswith((".yaml", ".yml")) else "<campaign.yaml>")
        )


@app.command()
def rerun(
    campaign: Annotated[str, typer.Argument(help="Campaign name or YAML file.")],
    launchpad: LaunchpadOpt,
    failed: Annotated[
        bool, typer.Option("--failed", help="Rerun FIZZLED jobs.")
    ] = False,
    lost: Annotated[
        bool, typer.Option("--lost", help="Requeue runs that stopped reporting.")
    ] = False,
    kind: Annotated[
        str | None, typer.Option(help="Only jobs of this kind (relax, screen, ...).")
    ] = None,
    error: Annotated[
        str | None, typer.Option(help="Only failures whose error matches this regex.")
    ] = None,
    expiration_hours: Annotated[
        float,
        typer.Option(help="A running job silent for this long is lost (--lost)."),
    ] = 4.0,
) -> None:
    """Rerun a cluster campaign's failed (--failed) or lost (--lost) jobs."""
    from lpsflow.dispatch.fireworks import load_launchpad, rerun_failed, rerun_lost

    if not (failed or lost):
        raise LpsflowError("say what to rerun: --failed and/or --lost")
    if error:
        import re

        try:
            re.compile(error)
        except re.error as exc:
            raise LpsflowError(
                f"--error is not a valid regular expression: {exc}"
            ) from exc
    name = _campaign_name(campaign)
    lp = load_launchpad(launchpad)
    if lost:
        ids = rerun_lost(lp, name, expiration_hours * 3600)
        _echo(f"requeued {len(ids)} lost job(s)" + (f": fw_ids {ids}" if ids else ""))
    if failed:
        ids = rerun_failed(lp, name, kind=kind, error=error)
        _echo(
            f"rerunning {len(ids)} failed job(s)" + (f": fw_ids {ids}" if ids else "")
        )


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

    path = Path(campaign) if campaign else None
    camp, stores = _open(
        path if path and path.suffix in {".yaml", ".yml"} else None, store
    )
    try:
        if campaign is None:
            names = res.campaign_names(stores)
            if not names:
                raise res.NoResultsError(f"no campaigns in {stores.location}")
            _echo("\n".join(names))
            return
        name = camp.name if camp else campaign
        df = res.load(name, stores)
        fails = res.failures(stores, name)
    finally:
        stores.close()
    from lpsflow import query

    df = query.select(df, name, accelerant, descriptor)
    text = query.to_text(df) if descriptor and fmt is Format.table else _render(df, fmt)
    if output:
        output.write_text(text)
        _echo(f"wrote {output}")
    else:
        typer.echo(text)
    if fmt is Format.table and fails:
        _echo(f"{len(fails)} failed job(s):")
        for uuid, msg in fails.items():
            _echo(f"  {uuid[:8]}  {msg}")


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


def _note_device(camp) -> None:
    """Say (not fail) when this machine cannot use the campaign's device.

    ``validate`` and ``submit`` run where the jobs may not (a login node without
    the GPU its FireWorks workers have); ``run`` fails on it instead.
    """
    from lpsflow.errors import ConfigError

    try:
        camp.calculator.check_device()
    except ConfigError as exc:
        _echo(f"note: {exc} (fine if the jobs run on nodes that have it)")


@app.command()
def validate(campaign: CampaignArg) -> None:
    """Check a campaign file and show what it would compute."""
    from lpsflow.campaign import load_campaign
    from lpsflow.flows.campaign import build_campaign

    camp = load_campaign(campaign)
    matches = _check_interfaces(camp)
    cflow = build_campaign(camp)
    n = len(cflow.flow.jobs)
    done, where = _in_store(camp, list(cflow.roles.values()))
    _echo(
        f"campaign '{camp.name}' is valid: {n} jobs"
        + (
            f"; {len(done)} already in its store ({where}), {n - len(done)} to "
            "compute" + (" (marked +)" if len(done) < n else "")
            if done is not None
            else f" ({where})"
        )
    )
    _note_device(camp)
    for kind, m in matches.items():
        _echo(f"  {kind} (starting structures): {m.describe()}")
    for role, uuid in cflow.roles.items():
        mark = "" if done is None else "  " if uuid in done else "+ "
        _echo(f"  {mark}{role}")


def _in_store(camp, uuids: list[str]) -> tuple[set[str] | None, str]:
    """The ``uuids`` with an output in the campaign's store, and where that is.

    ``None`` (and why) where the store does not exist yet or cannot be reached:
    checking a campaign file needs no store, and creates none.
    """
    from lpsflow.dispatch.local import finished_uuids
    from lpsflow.store import open_stores

    if camp.store.type == "embedded":
        path = camp.resolve(camp.store.path)  # where open_stores would create it
        if not path.exists():
            return None, f"no store at {path} yet: every job to compute"
    try:
        stores = open_stores(camp.store, camp.base_dir, create=False)
    except LpsflowError as exc:
        return None, f"{exc}: cannot say what is already computed"
    try:
        return finished_uuids(stores, uuids), stores.location
    finally:
        stores.close()


@app.command()
def inputs(
    campaign: CampaignArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path(
        "vasp-inputs"
    ),
) -> None:
    """Write VASP inputs (INCAR, KPOINTS, POSCAR, POTCAR.spec) for every relaxation."""
    from lpsflow.campaign import load_campaign
    from lpsflow.flows.inputs import export_vasp_inputs

    for path in export_vasp_inputs(load_campaign(campaign), output):
        _echo(f"wrote {path}")


app.command()(phase)


@app.command()
def phases() -> None:
    """List the bundled starting structures."""
    from lpsflow.structures.library import BUNDLED, data_path

    for name, entry in BUNDLED.items():
        ok = "" if data_path(entry.filename).exists() else "  (missing)"
        _echo(f"{name:10s} {entry.filename:32s} {entry.description}{ok}")


class ReportFormat(StrEnum):
    """Formats of ``lpsflow report``."""

    html = "html"
    md = "md"


StoreOpt = Annotated[
    Path | None, typer.Option(help="Embedded store directory (with a campaign name).")
]
CampaignOrName = Annotated[str, typer.Argument(help="Campaign YAML file or name.")]


def _campaign_stores(campaign: str, store: Path | None):
    path = Path(campaign)
    camp, stores = _open(path if path.suffix in {".yaml", ".yml"} else None, store)
    return (camp.name if camp else campaign), stores


@app.command()
def report(
    campaign: CampaignOrName,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (default: <campaign>-report.<fmt>)."),
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.html,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            help="Campaign (same store) to compare with, e.g. the SevenNet run "
            "(default: every campaign with the same definition and another "
            "calculator)."
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Write a report: descriptors, ranking with reasons, plots (HTML or Markdown)."""
    from lpsflow import report as rep

    name, stores = _campaign_stores(campaign, store)
    try:
        data = rep.collect(name, stores, compare=compare)
    finally:
        stores.close()
    path = output or Path(f"{name}-report.{fmt.value}")
    files = rep.write(data, path, fmt.value)
    _echo(f"wrote {path}" + (f" and {len(files) - 1} PNG(s)" if len(files) > 1 else ""))


class StructureKind(StrEnum):
    """Kinds of structures ``lpsflow structures`` writes."""

    bulk = "bulk"
    core = "core"
    interface = "interface"
    gb = "gb"
    neb = "neb"


class StructureFormat(StrEnum):
    """File formats of ``lpsflow structures``."""

    cif = "cif"
    poscar = "poscar"


@app.command()
def structures(
    campaign: CampaignOrName,
    kind: Annotated[StructureKind, typer.Option("--kind", "-k")] = StructureKind.bulk,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path(
        "structures"
    ),
    fmt: Annotated[
        StructureFormat, typer.Option("--format", "-f")
    ] = StructureFormat.cif,
    store: StoreOpt = None,
) -> None:
    """Write the relaxed structures of a campaign (CIF or POSCAR) and index.json."""
    from lpsflow.export import export
    from lpsflow.report import require_campaign

    name, stores = _campaign_stores(campaign, store)
    try:
        require_campaign(stores, name)
        result = export(stores, name, kind.value, output, fmt.value)
    finally:
        stores.close()
    for w in result.written:
        flag = "" if w.converged else "  (NOT converged)"
        _echo(f"wrote {w.path}  {w.formula}  {w.energy_per_atom:.4f} eV/atom{flag}")
    for role, why in result.missing.items():
        _echo(f"skipped {role}: {why}")


def _echo(msg: str) -> None:
    typer.echo(msg, err=True)


#: Third-party modules whose warnings are noise for users (deprecations, CIF
#: rounding notes, torch internals); lpsflow's own warnings are kept.
_QUIET_MODULES = (
    r"(pymatgen|chgnet|torch|numpy|monty|atomate2|jobflow|maggma|ase|spglib|emmet"
    r"|pydantic|montydb|sevenn|scipy|e3nn|torch_geometric)(\..*)?$"
)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's time limit, ``kill``): stop as Ctrl-C does."""


def _stop_on_sigterm() -> None:
    """Make SIGTERM stop a run as Ctrl-C does: workers stopped, finished work kept."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, handler)


def main() -> None:
    """Entry point: user errors become one line and exit status 2."""
    import warnings

    warnings.filterwarnings("ignore", module=_QUIET_MODULES)
    try:
        # typer returns the status of a typer.Exit (and 130 after Ctrl-C)
        status = app(standalone_mode=False)
    except LpsflowError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # usage errors of click (or the click typer vendors)
        kinds = {c.__name__ for c in type(exc).__mro__}
        if "ClickException" in kinds:
            exc.show()
            sys.exit(exc.exit_code)
        if "Abort" in kinds:
            sys.exit(1)
        raise
    if isinstance(status, int) and status:
        sys.exit(status)


if __name__ == "__main__":
    main()
