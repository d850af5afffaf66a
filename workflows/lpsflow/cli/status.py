"""``lpsflow status``: how far a campaign is, what it cost, who runs it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lpsflow.cli.application import app
from lpsflow.cli.common import (
    campaign_file,
    reading,
)

if TYPE_CHECKING:
    from lpsflow.campaign import Campaign
    from lpsflow.status import StoreStatus


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

    camp = campaign_file(campaign)
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
    for acc, where in (recorded.rounds if recorded else {}).items():  # the store's
        typer.echo(f"adaptive sampling, {acc}: {where}")
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
        with open_stores(camp.store, camp.base_dir, create=False) as stores:
            return store_status(stores, camp.name)
    except Exception as exc:  # the LaunchPad's figures stand on their own
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        typer.echo(f"(no CPU time or memory: cannot read the results store: {first})")
        return None


def _store_status(campaign: str, store: Path | None) -> None:
    from lpsflow.status import store_status

    with reading(campaign, store) as (camp, stores):  # camp: None unless a file
        name = camp.name if camp else campaign
        # the job directories say what runs now (known from the campaign file)
        workdir = camp.resolve(camp.workdir) if camp else None
        st = store_status(stores, name, workdir=workdir)
    alive = [r for r in st.running if r["alive"] is not False]
    gone = [r for r in st.running if r["alive"] is False]
    typer.echo(
        f"campaign '{name}' in {st.location}: {st.done} of {st.total} jobs done"
        + (f", {len(alive)} running" if alive else "")
        + (f", {st.total - st.done - len(alive)} not run" if st.done < st.total else "")
    )
    _echo_kinds(st.by_kind, st.cost_by_kind)
    for acc, where in st.rounds.items():
        typer.echo(f"adaptive sampling, {acc}: {where}")
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
        typer.echo(
            f"{st.done - st.timed} done jobs have no recorded cost (copies of the "
            "same calculation stored under another id, adopted results, or jobs "
            "finished before costs were recorded)"
        )
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
