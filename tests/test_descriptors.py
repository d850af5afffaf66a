"""The descriptor registry: every column has an owner, and a new descriptor plugs in
to results, query, ranking, report and the CLI text without touching them."""

from __future__ import annotations

import pandas as pd
import pytest
from jobflow import job

from lpsflow import descriptors, roles
from lpsflow.analysis import ranking as rk
from lpsflow.descriptors.base import (
    FAIL,
    PASS,
    Criterion,
    Descriptor,
    Headline,
    RowContext,
    number,
)
from lpsflow.jobs.identity import kind
from lpsflow.query import IDENTITY, select
from lpsflow.report import ReportData, build
from lpsflow.report_render import Section, Table, Text, to_html
from lpsflow.roles import Role
from lpsflow.store import embedded_stores


def _empty_row() -> dict:
    ctx = RowContext("Al2S3", "Li-site", {}, {}, {}, "mlip:CHGNet")
    row: dict = {"accelerant": "Al2S3", "scheme": "Li-site"}
    for d in descriptors.DESCRIPTORS:
        if d.columns:
            row.update(d.columns(ctx))
    return row


def test_every_column_has_an_owner_and_its_jobs():
    """Each descriptor column belongs to one descriptor, whose job-id columns are
    in the table (so a selection keeps where its numbers came from)."""
    row = _empty_row()
    for column in row:
        if column in IDENTITY or column.startswith("job_") or column == "scheme":
            continue
        owner = descriptors.descriptor_of(column)
        assert owner is not None, column
        assert set(descriptors.jobs_of(column)) <= set(row), column
    names = [d.name for d in descriptors.DESCRIPTORS]
    assert len(set(names)) == len(names)
    keys = [c.key for c in descriptors.criteria()]
    assert keys == [
        "formation",
        "solution",
        "solubility",
        "binding",
        "mu_li",
        "migration",
        "migration_Li7P3S11",
    ]
    assert rk.RankingConfig().weights == {
        "formation": 2.0,
        "solution": 1.0,
        "solubility": 2.0,
        "binding": 1.0,
        "mu_li": 1.0,
        "migration": 1.0,
        "migration_Li7P3S11": 0.0,
    }


# --- a descriptor added by a test ------------------------------------------------


#: Role of the new descriptor's job (a made-up step, as a new descriptor brings).
def _strain_role(acc: str) -> Role:
    return Role("strain", acc, branch="core", scheme="Li-site")


def _columns(ctx: RowContext) -> dict:
    uuid, out = ctx.job(_strain_role(ctx.accelerant))
    return {"E_strain": out["e"] if out else None, "job_strain": uuid}


def _small(row, cfg) -> tuple:
    e = number(row, "E_strain")
    if e is None:
        return None, "-", "not computed", "no strain energy"
    return e, f"{e:+.3f}", PASS if e < 0.1 else FAIL, f"E_strain {e:.3f} eV"


STRAIN = Descriptor(
    name="strain",
    title="Strain energy of the doped core",
    doc="docs/strain.md",
    columns=_columns,
    jobs={"E_strain": ("job_strain",)},
    headline=(Headline("E_strain", "E_strain"),),
    criteria=(
        Criterion(
            key="strain",
            title="small strain energy",
            columns=("E_strain",),
            unit="eV",
            weight=1.5,
            test=_small,
        ),
    ),
    summary=lambda df: Section(
        "strain", "Strain energy", [Text(", ".join(map(str, df["E_strain"])))]
    ),
    section=lambda df, points: Section(
        "strain", "Strain energy", [Table(["E"], [[str(v)] for v in df["E_strain"]])]
    ),
)


@pytest.fixture
def store_with_strain(tmp_path):
    """A store whose campaign has two doped cores, the shared reactions and the
    new descriptor's job for one of them."""
    jobs = {
        str(roles.core_reaction("Al2S3", "Li-site")): "r-al",
        str(roles.core_reaction("Ga2S3", "Li-site")): "r-ga",
        **{str(roles.reaction(p)): f"r-{p}" for p in ("Li7P3S11", "Li4P2S6", "Li3PS4")},
        str(_strain_role("Al2S3")): "s-al",
    }
    s = embedded_stores(tmp_path / "store").connect()
    s.campaigns.update(
        [
            {
                "campaign": "c",
                "definition": {"calculator": {"backend": "mlip", "model": "CHGNet"}},
                "jobs": [{"role": r, "uuid": u, "name": r} for r, u in jobs.items()],
                "failures": {},
            }
        ],
        key="campaign",
    )

    def reaction(e: float, product: str = "") -> dict:
        return {
            "product": product,
            "energy_per_atom": e,
            "converged": True,
            "p2s5_sensitivity": 0.0,
        }

    outputs = {
        "r-al": reaction(-0.13, "LiAlPS4"),
        "r-ga": reaction(-0.12, "LiGaPS4"),
        "r-Li7P3S11": reaction(-0.117),
        "r-Li4P2S6": reaction(-0.06),
        "r-Li3PS4": reaction(-0.12),
        "s-al": {"e": 0.04},
    }
    s.jobs.docs_store.update(
        [{"uuid": u, "index": 1, "output": o} for u, o in outputs.items()],
        key=["uuid", "index"],
    )
    yield s
    s.close()


def test_a_new_descriptor_plugs_in_everywhere(store_with_strain, monkeypatch):
    from lpsflow.cli.results import Format, render
    from lpsflow.results import load

    monkeypatch.setattr(descriptors, "DESCRIPTORS", (*descriptors.DESCRIPTORS, STRAIN))
    df = load("c", store_with_strain)
    al = df[df["accelerant"] == "Al2S3"].iloc[0]
    ga = df[df["accelerant"] == "Ga2S3"].iloc[0]
    assert al["E_strain"] == 0.04 and al["job_strain"] == "s-al"
    assert pd.isna(ga["E_strain"]) and pd.isna(ga["job_strain"])
    assert al["dE_core_minus_Li7P3S11"] == pytest.approx(-0.013)
    # query: its job ids come with it
    sel = select(df, "c", ["Al2S3"], ["E_strain"])
    assert list(sel.columns)[-2:] == ["E_strain", "job_strain"]
    # ranking: its criterion counts with its own weight
    ranked = {r.accelerant: r for r in rk.rank(df)}
    assert ranked["Al2S3"].status("strain") == PASS
    assert ranked["Ga2S3"].status("strain") == "not computed"
    assert ranked["Al2S3"].total == 9.5  # 8 + 1.5
    # report: a column of the overview table and a section of its own
    data = ReportData("c", "here", {}, df, rk.rank(df), {})
    _, sections = build(data)
    assert "strain" in [s.id for s in sections]
    assert "E_strain" in sections[0].blocks[0].headers
    assert "Strain energy" in to_html("t", sections)
    # lpsflow results: its summary lines
    assert "Strain energy:\n  0.04, nan" in render(df, Format.table)


def test_without_the_new_descriptor_nothing_of_it_shows(store_with_strain):
    from lpsflow.results import load

    df = load("c", store_with_strain)
    assert "E_strain" not in df and "strain" not in [
        c.key for c in rk.evaluate(df.iloc[0])
    ]
    assert isinstance(df, pd.DataFrame) and len(df) == 2


# --- the compute side: a descriptor adds its own jobs to a campaign ------------


@job
@kind("test_strain")
def _strain_job(formula: str, relaxes: list) -> dict:
    return {"e": 0.0}


def _build_strain(b) -> None:
    """The new descriptor's build step: one job per accelerant on its core cells."""
    for acc in b.accelerants:
        scheme = b.schemes(acc)[0]
        formula, relaxes = b.doped_cells(acc, scheme, b.campaign.doping.x)
        b.book.add(_strain_job(formula, relaxes), _strain_role(acc.formula))


def test_a_new_descriptor_adds_its_jobs_to_the_campaign(monkeypatch):
    """Its folder's build step is all a descriptor needs to get jobs: the campaign
    builder wires it from the registry, on the shared doped cells."""
    from dataclasses import replace

    from lpsflow.campaign import load_campaign
    from lpsflow.flows.campaign import build_campaign

    campaign = load_campaign("configs/quick.yaml")
    before = build_campaign(campaign, check=False)
    strain = replace(STRAIN, build=_build_strain, needs=("reactions",))
    monkeypatch.setattr(descriptors, "DESCRIPTORS", (*descriptors.DESCRIPTORS, strain))
    after = build_campaign(campaign, check=False)
    added = set(after.roles) - set(before.roles)
    assert added == {str(_strain_role(a)) for a in ("Al2S3", "Ga2S3", "SiS2")}
    # the same calculations as without it, and its jobs on the core relaxations
    assert {r: after.roles[r] for r in before.roles} == before.roles
    core = before.roles[str(roles.core_reaction("Al2S3", "Li-site"))]
    job = next(
        j for j in after.jobs if j.uuid == after.roles[str(_strain_role("Al2S3"))]
    )
    core_job = next(j for j in after.jobs if j.uuid == core)
    relaxes = {r.uuid for r in job.input_references}
    assert relaxes and relaxes <= {r.uuid for r in core_job.input_references}


def test_build_order_puts_what_a_descriptor_needs_first(monkeypatch):
    order = [d.name for d in descriptors.build_order()]
    assert order.index("grain_boundaries") < order.index("mu_li")
    assert order.index("grain_boundaries") < order.index("migration")
    assert sorted(order) == sorted(d.name for d in descriptors.DESCRIPTORS)
    a = Descriptor(name="a", title="", doc="", needs=("b",))
    b = Descriptor(name="b", title="", doc="", needs=("a",))
    monkeypatch.setattr(descriptors, "DESCRIPTORS", (a, b))
    with pytest.raises(ValueError, match="need each other"):
        descriptors.build_order()
