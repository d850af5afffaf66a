"""Rounds of adaptive sampling: per accelerant, a job that decides what to add.

Round 1 of an accelerant reads every output of the accelerant's jobs (the
campaign built for it alone), builds its rows of the results table as
``lpsflow results`` does and evaluates the ranking criteria. Each criterion left
undecided whose spread is not known to be final raises the settings that sample
it (:attr:`~lpsflow.descriptors.base.Criterion.samples`) by one, up to
``sampling.max_samples``; the campaign built again with those settings brings
new jobs (the next arrangements, registries, Li sites; jobs it shares with the
last build keep their ids and are not added, and a calculation reached another
way is copied: :mod:`lpsflow.dispatch.same`), which the round adds with the next
round after them (:func:`next_round`). The rounds stop when every criterion is
decided, none can be sampled further, ``sampling.max_rounds`` ran or the
rounds' force calls reached ``sampling.budget``; the last round's decision says
which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobflow import Flow, job
from pydantic import BaseModel, Field

from lpsflow.dispatch.expansion import as_stored, expands
from lpsflow.jobs.identity import kind, stamp
from lpsflow.roles import Role, RoleError

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import CriterionResult
    from lpsflow.campaign import Campaign
    from lpsflow.flows.campaign import CampaignBuild, CampaignFlow

#: Metadata key of the campaign file's directory (structure overrides), which a
#: round's id leaves out.
BASE_DIR_KEY = "lpsflow_base_dir"
#: Sections of a campaign that do not change what a round computes.
_NOT_COMPUTED = {"name", "description", "store", "workdir"}


class RoundDecision(BaseModel):
    """What one round of adaptive sampling found and added for an accelerant."""

    accelerant: str = Field(..., description="Accelerant formula.")
    round: int = Field(..., description="1: the campaign's settings; then +1.")
    verdicts: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Scheme -> criterion key -> pass, fail, undecided or not "
        "computed, from this round's samples.",
    )
    undecided: list[str] = Field(
        default_factory=list, description="Criteria undecided in some scheme."
    )
    why: list[str] = Field(
        default_factory=list,
        description="Per undecided criterion: what was raised, or why nothing was.",
    )
    raised: dict[str, int] = Field(
        default_factory=dict,
        description="Settings raised for the next round (section:field -> value; "
        "a store's keys hold no dots).",
    )
    stop: str = Field(
        "", description="Why no round follows (empty: the next round was added)."
    )
    spent: int = Field(
        0,
        description="Force calls (relaxation steps) of the jobs the rounds after "
        "the first added, up to this round.",
    )
    settings: dict[str, int] = Field(
        default_factory=dict,
        description="This round's sampled settings (section:field -> value).",
    )
    definition: dict[str, Any] = Field(
        ..., description="The accelerant's campaign at this round (file form)."
    )
    next_definition: dict[str, Any] | None = Field(
        None, description="The next round's campaign (None: no next round)."
    )
    base_dir: str = Field(".", description="Directory structure files refer to.")
    roles: dict[str, str] = Field(
        default_factory=dict,
        description="Role -> uuid of this round's jobs: what results read.",
    )
    values: dict[str, dict[str, list]] = Field(
        default_factory=dict,
        description="Scheme -> criterion key -> [value, spread] this round.",
    )


# --- the sampled settings --------------------------------------------------------


def setting(campaign: Campaign, knob: str) -> int:
    """The value of a sampled setting (``section.field``)."""
    section, name = knob.split(".")
    return int(getattr(getattr(campaign, section), name))


def cap(campaign: Campaign, knob: str) -> int:
    """The highest value a round raises ``knob`` to."""
    top = campaign.sampling.max_samples
    if knob == "interfaces.relax_top":  # no more registries than rigid shifts
        grids = [
            campaign.interfaces.hetero.shift_grid,
            campaign.interfaces.homo.shift_grid,
        ]
        top = min(top, *(math.prod(g) for g in grids))
    return min(top, 6)  # every relax_top's limit


def with_settings(campaign: Campaign, values: dict[str, int]) -> Campaign:
    """``campaign`` with sampled settings changed (validated again)."""
    data = campaign.model_dump(mode="json")
    for knob, value in values.items():
        section, name = knob.split(".")
        data[section][name] = value
    out = type(campaign).model_validate(data)
    return out.model_copy(update={"base_dir": campaign.base_dir})


# --- building rounds -------------------------------------------------------------


def definition(campaign: Campaign) -> dict[str, Any]:
    """What a round's id reads of a campaign: all it computes, nothing else."""
    return campaign.model_dump(mode="json", exclude=_NOT_COMPUTED)


def campaign_of(data: dict[str, Any], base_dir: str) -> Campaign:
    """A campaign from a round's definition."""
    from pathlib import Path

    from lpsflow.campaign import Campaign

    camp = Campaign.model_validate({"name": "round", **data})
    return camp.model_copy(update={"base_dir": Path(base_dir)})


def alone(campaign: Campaign, accelerant: str) -> Campaign:
    """The campaign of one accelerant."""
    return campaign.model_copy(update={"accelerants": [accelerant]})


def round_job(
    campaign: Campaign,
    accelerant: str,
    number: int,
    cflow: CampaignFlow,
    spent: int = 0,
    added: list[str] | None = None,
    previous: dict[str, dict[str, list]] | None = None,
) -> Any:
    """The (unstamped) round job over the jobs of ``cflow``, the accelerant's.

    ``previous``: the last round's values (:attr:`RoundDecision.values`).
    """
    from jobflow.core.reference import OnMissing

    made = verdict_round(
        definition(campaign),
        accelerant,
        number,
        dict(cflow.roles),
        {j.uuid: j.output for j in cflow.jobs},
        spent,
        sorted(added or []),
        previous or None,
    )
    made.config.on_missing_references = OnMissing.NONE  # a failed job: no sample
    made.metadata = {**(made.metadata or {}), BASE_DIR_KEY: str(campaign.base_dir)}
    return made


def round_role(accelerant: str, number: int) -> Role:
    """Role of an accelerant's round job."""
    return Role("round", accelerant, index=number)


def first_rounds(b: CampaignBuild) -> None:
    """Add round 1 of every accelerant to a campaign being built."""
    from lpsflow.flows.campaign import build_campaign

    for acc in b.accelerants:
        camp = alone(b.campaign, acc.formula)
        own = build_campaign(camp, check=False, rounds=False)
        made = round_job(camp, acc.formula, 1, own)
        b.book.add(made, round_role(acc.formula, 1), name=f"round 1 {acc.formula}",
                   salt=False)  # fmt: skip


def next_round(decision: dict[str, Any]) -> Flow | None:
    """The jobs a round's decision adds (None: the rounds stop).

    The jobs of the next round's build that the last build lacks, then the next
    round's job. Built by the runner that stores the decision (the round job does
    not build them: what it would build is the runner's to say), so what runs is
    what this function gives there.
    """
    from lpsflow.flows.campaign import build_campaign

    if not decision.get("next_definition"):
        return None
    base = decision.get("base_dir", ".")
    now = campaign_of(decision["definition"], base)
    nxt = campaign_of(decision["next_definition"], base)
    known = {j.uuid for j in build_campaign(now, check=False, rounds=False).jobs}
    built = build_campaign(nxt, check=False, rounds=False)
    new = [j for j in built.jobs if j.uuid not in known]
    acc, number = decision["accelerant"], decision["round"] + 1
    calcs = [j.uuid for j in new if j.uuid not in built.analysis]
    made = round_job(
        nxt, acc, number, built, decision.get("spent", 0), calcs, decision.get("values")
    )
    stamp(made, role=str(round_role(acc, number)))
    made.name = f"round {number} {acc}"
    return Flow([*new, made], name=made.name)


# --- the round job ---------------------------------------------------------------


def steps(output: Any) -> int:
    """Force calls of a calculation's output, as it reports them (else 1).

    A relaxation's ``output.n_steps``, an NEB's ``n_steps``, a VASP task's ionic
    steps.
    """
    if not isinstance(output, dict):
        return 1
    inner = output.get("output") if isinstance(output.get("output"), dict) else {}
    for n in (inner.get("n_steps"), output.get("n_steps"), output.get("force_calls")):
        if isinstance(n, int | float) and n >= 1:
            return int(n)
    ionic = inner.get("ionic_steps")
    return len(ionic) if isinstance(ionic, list) and ionic else 1


def _keys(values: dict[str, int]) -> dict[str, int]:
    """Settings keyed as a store allows (``doping:relax_top``)."""
    return {k.replace(".", ":"): v for k, v in values.items()}


def _jobs(roles: dict[str, str]) -> dict[Role, str]:
    out = {}
    for text, uuid in roles.items():
        try:
            out[Role.parse(text)] = uuid
        except RoleError:
            continue
    return out


@dataclass
class Plan:
    """What a round's verdicts ask for."""

    undecided: list[str]
    why: list[str]
    raised: dict[str, int]
    """Setting (``section.field``) -> its value in the next round."""
    settings: dict[str, int]
    """This round's value of each setting an undecided criterion samples."""
    stop: str
    """Why no round follows (empty: one does)."""


def plan(
    campaign: Campaign,
    results: dict[str, list[CriterionResult]],
    number: int,
    spent: int,
    previous: dict[str, dict[str, list]] | None = None,
) -> Plan:
    """The next round of round ``number``, from its criteria by scheme.

    ``previous``: the last round's [value, spread] by scheme and criterion; a
    criterion whose value and spread the last round's samples left as they were
    raises nothing more (the samples have stopped moving it).

    A criterion undecided in some scheme raises each setting it samples by one
    (up to :func:`cap`), unless its spread is known to be final (0: every sample
    taken) or nothing samples it.
    """
    from lpsflow.descriptors import criteria
    from lpsflow.descriptors.base import UNDECIDED
    from lpsflow.descriptors.spread import inside_spread

    crits = {c.key: c for c in criteria()}
    spreads: dict[str, list[float | None]] = {}
    other: set[str] = set()  # undecided for a reason more samples cannot change
    for found in results.values():
        for r in found:
            if r.status != UNDECIDED:
                continue
            spreads.setdefault(r.key, []).append(r.spread)
            if not inside_spread(r.reason):
                other.add(r.key)
    undecided = [k for k in crits if k in spreads]
    knobs = sorted({k for c in undecided for k in crits[c].samples})
    settings = {k: setting(campaign, k) for k in knobs}
    why: list[str] = []
    raised: dict[str, int] = {}
    for key in undecided:
        crit = crits[key]
        if not crit.samples:
            why.append(f"{key}: undecided; no setting samples it further")
            continue
        if all(s == 0 for s in spreads[key]):
            why.append(f"{key}: undecided with every sample taken (spread 0)")
            continue
        if key in other:
            why.append(f"{key}: undecided by a condition, not inside its spread")
            continue
        if previous is not None and _unmoved(key, results, previous):
            why.append(f"{key}: undecided; the last round's samples moved neither "
                       "its value nor its spread")  # fmt: skip
            continue
        for knob in crit.samples:
            if knob in raised:
                why.append(f"{key}: {knob} {settings[knob]} -> {raised[knob]} (above)")
            elif settings[knob] < cap(campaign, knob):
                raised[knob] = settings[knob] + 1
                why.append(
                    f"{key}: undecided; {knob} {settings[knob]} -> {raised[knob]}"
                )
            else:
                why.append(f"{key}: undecided; {knob} at its cap ({settings[knob]})")
    smp = campaign.sampling
    stop = ""
    if not undecided:
        stop = "every criterion decided"
    elif not raised:
        stop = "no undecided criterion left to sample (why: per criterion)"
    elif number >= smp.max_rounds:
        stop = f"sampling.max_rounds ({smp.max_rounds}) reached"
    elif smp.budget is not None and spent >= smp.budget:
        stop = f"sampling.budget ({smp.budget} force calls) spent: {spent}"
    return Plan(undecided, why, {} if stop else raised, settings, stop)


def values(results: dict[str, list[CriterionResult]]) -> dict[str, dict[str, list]]:
    """[value, spread] by scheme and criterion."""
    return {s: {r.key: [r.value, r.spread] for r in rs} for s, rs in results.items()}


def _unmoved(
    key: str,
    results: dict[str, list[CriterionResult]],
    previous: dict[str, dict[str, list]],
) -> bool:
    """Whether criterion ``key`` has the value and spread it had last round."""

    def same(a: float | None, b: float | None) -> bool:
        return (a is None and b is None) or (
            a is not None and b is not None and abs(a - b) <= 1e-9 * max(1, abs(a))
        )

    now = values(results)
    return all(
        s in previous
        and key in previous[s]
        and same(now[s][key][0], previous[s][key][0])
        and same(now[s][key][1], previous[s][key][1])
        for s in now
        if key in now[s]
    )


def decide(
    campaign: Campaign,
    accelerant: str,
    number: int,
    roles: dict[str, str],
    outputs: dict[str, Any],
    spent: int,
    previous: dict[str, dict[str, list]] | None = None,
) -> RoundDecision:
    """One round's decision from the outputs (plain dicts) of its jobs."""
    from lpsflow.analysis.ranking import RankingConfig, evaluate
    from lpsflow.results import calculator_label, rows

    label = calculator_label(campaign.calculator.model_dump(mode="json"))
    table = rows(_jobs(roles), outputs, {}, label)
    results = {
        str(row["scheme"]): evaluate(row, RankingConfig())
        for _, row in table.iterrows()
        if row["accelerant"] == accelerant
    }
    p = plan(campaign, results, number, spent, previous)
    nxt = with_settings(campaign, p.raised) if p.raised else None
    return RoundDecision(
        accelerant=accelerant,
        round=number,
        verdicts={s: {r.key: r.status for r in rs} for s, rs in results.items()},
        undecided=p.undecided,
        why=p.why,
        raised=_keys(p.raised),
        stop=p.stop,
        spent=spent,
        settings=_keys(p.settings),
        definition=definition(campaign),
        next_definition=definition(nxt) if nxt is not None else None,
        base_dir=str(campaign.base_dir),
        roles=roles,
        values=values(results),
    )


@job
@kind("verdict_round")
@expands(next_round)
def verdict_round(
    definition: dict[str, Any],
    accelerant: str,
    number: int,
    roles: dict[str, str],
    outputs: dict[str, Any],
    spent: int = 0,
    added: list[str] | None = None,
    previous: dict[str, dict[str, list]] | None = None,
) -> RoundDecision:
    """Decide a round of adaptive sampling (see the module doc).

    ``roles``/``outputs``: the accelerant's jobs (role -> uuid) and their outputs
    (None: failed); ``spent``: force calls the earlier rounds added; ``added``: the
    calculations this round's build added (their steps are added to ``spent``);
    ``previous``: the last round's values (a criterion they left unmoved raises
    nothing more).
    """
    from jobflow import CURRENT_JOB

    meta = (CURRENT_JOB.job.metadata or {}) if CURRENT_JOB.job is not None else {}
    campaign = campaign_of(definition, meta.get(BASE_DIR_KEY, "."))
    plain = {u: as_stored(o) for u, o in outputs.items() if o is not None}
    spent += sum(steps(plain.get(u)) for u in added or [])
    return decide(campaign, accelerant, number, roles, plain, spent, previous)
