"""Ranking, query, report and structure export (issue 7).

First the logic on hand-made tables, then one small real campaign (CHGNet, about a
minute on 2 cores) that the report, the structure export and the query CLI read.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lpsflow.analysis import ranking as rk
from lpsflow.descriptors.phase_model.show import phase_source
from lpsflow.errors import LpsflowError
from lpsflow.query import NotComputedError, UnknownDescriptorError, read_results, select
from lpsflow.report import ReportData, build
from lpsflow.report_render import Figure, Placeholder, to_html


def _bounds(sol, x) -> dict | None:
    """The solubility bounds of a row whose limit is ``x`` under every model."""
    if sol is None or x is None:
        return None
    at_max = sol.startswith(">=")
    one = {"low": x, "low_label": sol, "low_at_max": at_max}
    one |= {"high": x, "high_label": sol, "high_at_max": at_max}
    return {"Li7P3S11": one, "Li2S": dict(one)}


#: Criterion columns given a sampled spread by :func:`_row` (1 meV, 2 samples).
SAMPLED = (
    "dE_core_minus_Li7P3S11",
    "E_sol",
    "E_sol_Li2S_rich",
    "E_bind_hetero",
    "E_bind_homo",
    "mu_Li_core",
    "mu_Li_Li7P3S11",
    *(
        f"{e}_{p}{x}"
        for e in ("Ea", "Ea_perc")
        for p in ("gb", "bulk")
        for x in ("", "_Li7P3S11")
    ),
)


def _row(acc, d_core, sol, x, scheme="Li-site", calc="mlip:CHGNet", **extra):
    """A results row; each criterion column with a value gets spread 0.001 from
    2 samples unless ``extra`` gives its ``_spread`` / ``_samples``."""
    row = _plain_row(acc, d_core, sol, x, scheme, calc, **extra)
    for col in SAMPLED:
        if row.get(col) is not None:
            row.setdefault(f"{col}_spread", 0.001)
            row.setdefault(f"{col}_samples", 2)
    return row


def _plain_row(acc, d_core, sol, x, scheme, calc, **extra):
    li7 = -0.10
    return {
        "accelerant": acc,
        "scheme": scheme,
        "core": f"core-{acc}",
        "dE_core": None if d_core is None else li7 + d_core,
        "dE_Li7P3S11": li7,
        "dE_Li4P2S6": -0.08,
        "dE_Li3PS4": -0.12,
        "dE_core_minus_Li7P3S11": d_core,
        "converged": True,
        "state": "done",
        "calculator": calc,
        "job_core": f"job-core-{acc}",
        "job_Li7P3S11": "job-li7",
        "job_Li4P2S6": "job-li4",
        "job_Li3PS4": "job-li3",
        "x_solubility": x,
        "solubility": sol,
        "solubility_bounds": _bounds(sol, x),
        "synthesis_T": 573.0,
        "e_hull_meV_by_x": {"1/8": 10.0, "1/4": 40.0} if sol else None,
        "dF_meV_by_x": {"1/8": -5.0, "1/4": 3.0} if sol else None,
        "job_solubility": f"job-sol-{acc}",
        "preferred": True,
        **extra,
    }


def _table(*rows):
    return pd.DataFrame(list(rows))


# --- ranking logic ---------------------------------------------------------------


def test_criteria_pass_fail_and_not_computed():
    row = _row("Al2S3", -0.02, "1/8", 0.125)
    res = {c.key: c for c in rk.evaluate(row)}
    assert res["formation"].status == "pass" and res["formation"].value == -0.02
    assert res["solubility"].status == "pass" and res["solubility"].value == 0.125
    for key in ("binding", "mu_li", "migration"):
        assert res[key].status == "not computed"
        assert "absent" in res[key].reason and "no such columns" in res[key].reason
    fail = {c.key: c for c in rk.evaluate(_row("B2S3", +0.01, ">= 1/4", 0.25))}
    assert fail["formation"].status == "fail"
    assert fail["solubility"].status == "fail"  # above LPS7228's 0.143 B per P
    assert "take up all of it" in fail["solubility"].reason
    low = {c.key: c for c in rk.evaluate(_row("Y2S3", -0.01, "0.0042", 0.0042))}
    assert low["solubility"].status == "fail"  # below the 0.01 floor
    assert (
        "0.0042" in low["solubility"].reason and "undoped" in low["solubility"].reason
    )
    pending = {c.key: c for c in rk.evaluate(_row("Sc2S3", None, None, None))}
    assert pending["formation"].status == "not computed"
    assert pending["solubility"].status == "not computed"
    assert "pending or failed" in pending["formation"].reason


def test_future_columns_are_read_when_present():
    row = _row(
        "Al2S3",
        -0.02,
        "1/8",
        0.125,
        E_bind_hetero=-0.030,
        E_bind_homo=-0.020,
        mu_Li_core=-3.00,
        mu_Li_Li7P3S11=-3.02,  # |diff| 0.02 < 0.05: too small
        Ea_gb=0.20,
        Ea_bulk=0.35,
    )
    res = {c.key: c for c in rk.evaluate(row)}
    assert res["binding"].status == "pass"
    assert res["mu_li"].status == "fail" and res["mu_li"].value == pytest.approx(0.02)
    assert res["migration"].status == "pass"
    cfg = rk.RankingConfig(mu_li_min=0.01)
    assert {c.key: c for c in rk.evaluate(row, cfg)}["mu_li"].status == "pass"
    row["E_bind_hetero"] = float("nan")  # column there, value missing
    assert {c.key: c for c in rk.evaluate(row)}["binding"].status == "not computed"


def test_binding_within_the_spread_of_one_start_is_undecided():
    """With one interface start per n, dE_bind inside binding_noise (the spread
    another registry showed on the quick campaign) is undecided, not a verdict;
    sampled spreads, a clear margin or a zero assumed spread decide it."""
    one = {"E_bind_hetero_samples": 1, "E_bind_homo_samples": 1}
    one |= {"E_bind_hetero_spread": None, "E_bind_homo_spread": None}
    row = _row(
        "Al2S3", -0.02, "1/8", 0.125, E_bind_hetero=-0.0069, E_bind_homo=-0.0077, **one
    )
    res = {c.key: c for c in rk.evaluate(row)}["binding"]
    assert res.status == "undecided" and "one sample, spread assumed" in res.reason
    assert "relax_top" in res.reason
    assert rk.rank(_table(row))[0].undecided == 1.0
    row |= {"E_bind_hetero_spread": 2e-4, "E_bind_hetero_samples": 2}
    row |= {"E_bind_homo_spread": 3e-4, "E_bind_homo_samples": 3}
    res2 = {c.key: c for c in rk.evaluate(row)}["binding"]
    assert res2.status == "fail" and "spread 0.0005" in res2.reason  # 0.8 > 0.5 meV
    row |= {"E_bind_homo_spread": 7e-4}  # 0.8 meV apart, 0.9 meV spread
    assert {c.key: c for c in rk.evaluate(row)}["binding"].status == "undecided"
    row |= one | {"E_bind_hetero": -0.0120}  # 4.3 meV/A^2 apart: clear
    assert {c.key: c for c in rk.evaluate(row)}["binding"].status == "pass"
    tight = rk.RankingConfig(binding_noise=0.0)
    row["E_bind_hetero"] = -0.0069
    assert {c.key: c for c in rk.evaluate(row, tight)}["binding"].status == "fail"


def test_unknown_spread_is_undecided_and_never_breaks_a_tie():
    """A criterion resting on one sample (no spread) is undecided; values within
    each other's spread do not order a tie (the next criterion, then the name,
    does), values apart do."""
    a = _row("Al2S3", -0.02, "1/8", 0.125)
    a |= {"dE_core_minus_Li7P3S11_spread": None, "dE_core_minus_Li7P3S11_samples": 1}
    res = {c.key: c for c in rk.evaluate(a)}["formation"]
    assert res.status == "undecided" and "spread unknown" in res.reason
    assert "doping.relax_top" in res.reason and res.spread is None
    # Tied on score; B's formation margin is lower but inside the spreads.
    b = _row("B2S3", -0.05, "1/8", 0.125, dE_core_minus_Li7P3S11_spread=0.03)
    c = _row("Cs2S", -0.10, "1/8", 0.125, dE_core_minus_Li7P3S11_spread=0.03)
    cfg = rk.RankingConfig(order_by=["formation"])
    ranked = rk.rank(_table(c, b), cfg)
    assert [r.status("formation") for r in ranked] == ["pass", "pass"]
    assert [r.accelerant for r in ranked] == ["B2S3", "Cs2S"]  # level: by name
    assert ranked[0].criteria[0].spread == pytest.approx(0.03)
    c["dE_core_minus_Li7P3S11_spread"] = 0.01  # -0.10 +/- 0.01 vs -0.05 +/- 0.03
    assert [r.accelerant for r in rk.rank(_table(b, c), cfg)] == ["Cs2S", "B2S3"]
    # a third row bridging both puts all three on one level
    d = _row("Ag2S", -0.075, "1/8", 0.125, dE_core_minus_Li7P3S11_spread=0.02)
    order = [r.accelerant for r in rk.rank(_table(b, c, d), cfg)]
    assert order == ["Ag2S", "B2S3", "Cs2S"]
    c["dE_core_minus_Li7P3S11_spread"] = None  # one unknown: all level
    order = [r.accelerant for r in rk.rank(_table(c, b), cfg)]
    assert order == ["B2S3", "Cs2S"]


def test_rank_order_score_and_weights():
    df = _table(
        _row("Ga2S3", -0.01, ">= 1/4", 0.25),  # 1 pass (2), 1 fail
        _row("Al2S3", -0.02, "1/8", 0.125),  # 2 passes (4)
        _row("In2S3", +0.03, "1/8", 0.125),  # 1 pass (2), 1 fail, worse margin
        _row("SnS2", None, None, None),  # nothing computed
    )
    ranked = rk.rank(df)
    assert [r.accelerant for r in ranked] == ["Al2S3", "Ga2S3", "In2S3", "SnS2"]
    assert [r.score for r in ranked] == [4.0, 2.0, 2.0, 0.0]
    assert [r.computed for r in ranked] == [4.0, 4.0, 4.0, 0.0]
    assert ranked[0].total == 8.0  # 2 + 1 + 2 + 1 + 1 + 1 (+ 0)
    # weights are configurable: make solubility count 5x -> In2S3 (sol. pass) first
    cfg = rk.RankingConfig(weights={"formation": 1.0, "solubility": 5.0})
    order = [r.accelerant for r in rk.rank(df, cfg)]
    assert order[:3] == ["Al2S3", "In2S3", "Ga2S3"]
    table = rk.ranking_table(ranked)
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert table.loc[0, "formation_status"] == "pass"


def test_compare_flags_disagreements():
    a = _table(_row("Al2S3", -0.02, "1/8", 0.125), _row("Ga2S3", -0.01, "1/8", 0.125))
    b = _table(
        _row("Al2S3", +0.01, "1/8", 0.125, calc="mlip:SevenNet"),  # formation flips
        _row("Ga2S3", -0.03, "1/8", 0.125, calc="mlip:SevenNet"),
    )
    comp = rk.compare(a, b)
    assert comp.calculator_a == "mlip:CHGNet" and comp.calculator_b == "mlip:SevenNet"
    flagged = {(d.accelerant, d.criterion) for d in comp.disagreements}
    assert ("Al2S3", "formation") in flagged
    assert ("Al2S3", "rank") in flagged and ("Ga2S3", "rank") in flagged
    assert ("Al2S3", "solubility") not in flagged
    assert not any(d.criterion == "binding" for d in comp.disagreements)
    both = pd.concat([a, b])
    assert rk.compare_calculators(both).disagreements == comp.disagreements
    assert rk.compare_calculators(a) is None
    same = rk.compare(a, a.assign(calculator="mlip:SevenNet"))
    assert same.disagreements == []


# --- query -----------------------------------------------------------------------


def test_select_filters_and_errors():
    df = _table(_row("Al2S3", -0.02, "1/8", 0.125), _row("Ga2S3", -0.01, "1/8", 0.1))
    one = select(df, "c", ["Al2S3"], ["dE_core"])
    assert list(one["accelerant"]) == ["Al2S3"]
    assert {"dE_core", "job_core", "calculator", "converged"} <= set(one.columns)
    assert "dE_Li4P2S6" not in one.columns
    with pytest.raises(NotComputedError, match="no accelerant SiS2"):
        select(df, "c", ["SiS2"])
    with pytest.raises(UnknownDescriptorError, match="unknown descriptor 'dE_foo'"):
        select(df, "c", None, ["dE_foo"])
    with pytest.raises(NotComputedError, match=r"E_bind_hetero.*binding.*not in"):
        select(df, "c", None, ["E_bind_hetero"])
    empty = df.assign(x_solubility=None)
    with pytest.raises(NotComputedError, match="no value"):
        select(empty, "c", None, ["x_solubility"])
    assert issubclass(NotComputedError, LpsflowError)


# --- report on hand-made data ----------------------------------------------------


def _pngs(page: str) -> list[bytes]:
    return [
        base64.b64decode(m)
        for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    ]


def _non_blank(png: bytes) -> bool:
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png), format="png")
    return img.ndim == 3 and img.shape[0] > 50 and float(np.std(img[..., :3])) > 0.01


def _fake_data(**extras):
    df = _table(_row("Al2S3", -0.02, "1/8", 0.125), _row("Ga2S3", 0.01, "1/8", 0.125))
    return ReportData(
        campaign="fake",
        location="memory",
        definition={"calculator": {"model": "CHGNet"}, "doping": {"x": 0.25}},
        results=df,
        ranked=rk.rank(df),
        failures={},
        extras=extras,
    )


def test_report_placeholders_and_extra_plots():
    title, sections = build(_fake_data())
    ids = [s.id for s in sections]
    for sid in ("binding", "mu-li", "neb"):
        (blocks,) = [s.blocks for s in sections if s.id == sid]
        assert isinstance(blocks[0], Placeholder)
    page = to_html(title, sections)
    assert page.count("not computed in this campaign") >= 3
    assert ids[:2] == ["descriptors", "ranking"]
    # the later descriptors plot as soon as a loader supplies them
    binding = pd.DataFrame(
        {
            "accelerant": ["Al2S3"] * 4,
            "kind": ["hetero", "hetero", "homo", "homo"],
            "n_layers": [1, 2, 1, 2],
            "E_bind": [-0.03, -0.035, -0.02, -0.022],
        }
    )
    mu = pd.DataFrame(
        {
            "accelerant": ["Al2S3"] * 2,
            "phase": ["core", "Li7P3S11"],
            "mu_Li": [-3, -3.1],
        }
    )
    neb = pd.DataFrame(
        {
            "accelerant": ["Al2S3"] * 6,
            "path": ["gb"] * 3 + ["bulk"] * 3,
            "coordinate": [0, 0.5, 1] * 2,
            "energy": [0, 0.2, 0, 0, 0.35, 0],
        }
    )
    _, sections = build(_fake_data(binding=binding, mu_li=mu, migration=neb))
    figs = [b for s in sections for b in s.blocks if isinstance(b, Figure)]
    assert {"binding", "mu_li", "neb"} <= {f.name for f in figs}
    assert all(_non_blank(f.png) for f in figs)


def test_phase_source_prefers_al2s3_and_its_solubility():
    df = _table(_row("Ga2S3", -0.01, "1/4", 0.25), _row("Al2S3", -0.02, "1/8", 0.125))
    assert phase_source(df) == ("Al2S3", "Li-site", 0.125, "1/8")
    low = _table(_row("Al2S3", -0.02, "< 1/8", None))
    assert phase_source(low)[2] is None
    _, sections = build(
        ReportData("f", "m", {}, low, rk.rank(low), {}, extras={})  # no x: no table
    )
    (phase,) = [s for s in sections if s.id == "phase-model"]
    assert isinstance(phase.blocks[0], Placeholder)


# --- one real campaign -----------------------------------------------------------

SECTIONS = (
    "descriptors",
    "ranking",
    "comparison",
    "reaction-energies",
    "solubility",
    "phase-model",
    "binding",
    "mu-li",
    "neb",
    "provenance",
)


@pytest.fixture(scope="module")
def camp(small_campaign):
    """Directory of the shared small campaign (conftest), run to completion."""
    assert small_campaign["report"].ok, small_campaign["report"].failed
    return small_campaign["dir"]


def cli(d, *args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", *args],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_html_report_sections_and_images(camp):
    cli(camp, "report", "c.yaml", "-o", "report.html")
    page = (camp / "report.html").read_text()
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page, sid
    assert "<table>" in page and "Al2S3" in page
    assert page.count("not computed in this campaign") == 0  # NEB fed too
    assert 'src="http' not in page and "src='http" not in page  # self-contained
    binding = page.split('<section id="binding">')[1].split("</section>")[0]
    assert len(_pngs(binding)) == 1  # E_bind vs layers, from the campaign's jobs
    mu_li = page.split('<section id="mu-li">')[1].split("</section>")[0]
    assert len(_pngs(mu_li)) == 1
    neb = page.split('<section id="neb">')[1].split("</section>")[0]
    assert len(_pngs(neb)) == 1  # the converged bands' profiles
    pngs = _pngs(page)
    assert len(pngs) >= 4  # reaction energies, hull vs x, E_bind, mu_Li (+ phases)
    assert all(_non_blank(p) for p in pngs)
    # the numbers shown are the store's
    from lpsflow.campaign import load_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    c = load_campaign(camp / "c.yaml")
    stores = open_stores(c.store, c.base_dir)
    try:
        row = load("e2e", stores).iloc[0]
    finally:
        stores.close()
    assert f"{row['dE_core']:+.4f}" in page
    assert f"{row['dE_core_minus_Li7P3S11']:+.4f}" in page
    assert str(row["job_core"]) in page


def test_html_screenshot_in_chromium(camp):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    if not (camp / "report.html").exists():
        cli(camp, "report", "c.yaml", "-o", "report.html")
    shot = camp / "report.png"
    subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            (camp / "report.html").resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists()
    assert _non_blank(shot.read_bytes())


def test_markdown_report_writes_pngs(camp):
    cli(camp, "report", "c.yaml", "-f", "md", "-o", "md/report.md")
    text = (camp / "md/report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert len(linked) >= 5  # reaction energies, hull, E_bind, mu_Li, NEB (+ phases)
    assert any("neb" in name for name in linked)
    for name in linked:
        assert _non_blank((camp / "md" / name).read_bytes())
    assert "| accelerant |" in text and "not computed in this campaign" not in text


def test_structures_bulk_and_core(camp):
    from pymatgen.core import Structure

    cli(camp, "structures", "c.yaml", "--kind", "bulk", "-o", "bulk")
    cifs = sorted((camp / "bulk").glob("*.cif"))
    names = {p.stem for p in cifs}
    assert {"Li2S", "P2S5", "Li7P3S11", "Li3PS4", "Al2S3"} <= names
    for p in cifs:
        assert len(Structure.from_file(p)) > 0
    index = json.loads((camp / "bulk/index.json").read_text())
    assert {e["name"] for e in index} == names and all(
        len(e["job_uuid"]) == 36 for e in index
    )
    cli(camp, "structures", "c.yaml", "-k", "core", "-f", "poscar", "-o", "core")
    cores = sorted((camp / "core").glob("*.vasp"))
    assert {p.stem for p in cores} == {
        f"core_Al2S3_{scheme}_x1-{n}_0"
        for scheme in ("Li-site", "empty-site")
        for n in (4, 8)
    }
    assert "Al" in Structure.from_file(cores[0]).composition
    cli(camp, "structures", "c.yaml", "-k", "interface", "-o", "iface")
    assert (camp / "iface" / "relax_interface_hetero_Al2S3_n1.cif").exists()
    cli(camp, "structures", "c.yaml", "-k", "gb", "-o", "gb")
    gbs = {p.stem: Structure.from_file(p) for p in (camp / "gb").glob("*.cif")}
    assert set(gbs) == {"relax_gb_homo_Li7P3S11", "relax_gb_hetero_Al2S3"}
    assert len(gbs["relax_gb_homo_Li7P3S11"]) == 84  # 1 + 1 Li7P3S11 layers
    cli(camp, "structures", "c.yaml", "-k", "neb", "-o", "neb")
    index = json.loads((camp / "neb/index.json").read_text())
    bands = {e["role"] for e in index}
    assert bands == {
        f"neb:{p}:{h}" for p in ("gb", "bulk") for h in ("Al2S3", "Li7P3S11")
    }
    images = sorted((camp / "neb").glob("neb_bulk_Li7P3S11_*.cif"))
    assert len(images) == 3  # endpoints + 1 image
    counts = {len(Structure.from_file(p)) for p in images}
    assert len(counts) == 1  # the same vacancy cell along the band


def test_api_and_cli_numbers_agree_and_round_trip(camp):
    from lpsflow.campaign import load_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    c = load_campaign(camp / "c.yaml")
    stores = open_stores(c.store, c.base_dir)
    try:
        api = load("e2e", stores)
    finally:
        stores.close()
    cli(camp, "results", "c.yaml", "-f", "json", "-o", "r.json")
    cli(camp, "results", "c.yaml", "-f", "csv", "-o", "r.csv")
    numbers = ["dE_core", "dE_Li7P3S11", "dE_Li4P2S6", "dE_core_minus_Li7P3S11"]
    for path in ("r.json", "r.csv"):
        back = read_results(camp / path)
        assert list(back["job_core"]) == list(api["job_core"])
        assert list(back["solubility"]) == list(api["solubility"])
        assert back["e_hull_meV_by_x"][0] == api["e_hull_meV_by_x"][0]
        for col in numbers:  # pandas JSON keeps 10 decimals
            assert np.allclose(back[col], api[col].astype(float), atol=1e-9, rtol=0)
    sel = json.loads(
        cli(
            camp, "results", "c.yaml", "-a", "Al2S3", "-d", "dE_core", "-f", "json"
        ).stdout
    )
    assert set(sel[0]) == {
        "accelerant",
        "scheme",
        "core",
        "calculator",
        "converged",
        "state",
        "dE_core",
        "dE_core_spread",  # a selected descriptor keeps its spread
        "dE_core_samples",
        "job_core",
    }
    assert sel[0]["dE_core"] == pytest.approx(api["dE_core"][0], abs=1e-9)
    table = cli(camp, "results", "c.yaml", "-d", "x_solubility").stdout
    assert "x_solubility" in table and "job_solubility" in table


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("results", "nosuch", "--store", "store"), "no campaign named 'nosuch'"),
        (("report", "nosuch", "--store", "store"), "no campaign named 'nosuch'"),
        (("results", "c.yaml", "-d", "dE_foo"), "unknown descriptor 'dE_foo'"),
        (("results", "c.yaml", "-d", "gamma_GB_core"), "not computed in campaign"),
        (("results", "c.yaml", "-a", "Ga2S3"), "no accelerant Ga2S3"),
        (("report", "e2e", "--store", "none"), "no results store at"),
        (("structures", "e2e", "--store", "none"), "no results store at"),
    ],
)
def test_user_errors_exit_2(camp, args, needle):
    proc = cli(camp, *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_api_errors(tmp_path):
    from lpsflow.report import collect
    from lpsflow.results import NoResultsError
    from lpsflow.store import embedded_stores

    stores = embedded_stores(tmp_path / "empty").connect()
    with pytest.raises(NoResultsError, match="is empty"):
        collect("e2e", stores)
    stores.close()


def test_twin_campaign_with_other_calculator_is_compared(camp):
    """Plumbing only: a manifest copy labelled SevenNet (same outputs) is found."""
    from lpsflow.campaign import load_campaign
    from lpsflow.report import collect, twin_campaigns
    from lpsflow.store import open_stores

    c = load_campaign(camp / "c.yaml")
    stores = open_stores(c.store, c.base_dir)
    doc = {
        k: v
        for k, v in stores.campaigns.query_one({"campaign": "e2e"}).items()
        if k != "_id"
    }
    doc["campaign"] = "e2e-twin"
    doc["definition"] = {
        **doc["definition"],
        "name": "e2e-twin",
        "calculator": {**doc["definition"]["calculator"], "model": "SevenNet"},
    }
    stores.campaigns.update([doc], key="campaign")
    try:
        assert twin_campaigns(stores, "e2e") == ["e2e-twin"]
        comp = collect("e2e", stores).comparisons["e2e-twin"]
        assert comp.calculator_b == "mlip:SevenNet"
        assert comp.disagreements == []  # same numbers, same verdicts
        assert collect("e2e", stores, compare=[]).comparisons == {}
    finally:
        stores.campaigns.remove_docs({"campaign": "e2e-twin"})
        stores.close()


def test_rows_of_equal_score_are_ordered_by_the_solution_energy():
    """Equal score and failed weight: the lower E_sol first, then the formation
    margin; a row without E_sol after those with one; an E_sol undecided in any
    of the rows (its sign follows the sample) orders none of them."""
    rows = [
        _row("Ga2S3", -0.01, "1/8", 0.125, E_sol=-0.2, E_sol_Li2S_rich=-0.1),
        _row("Al2S3", -0.02, "1/8", 0.125, E_sol=-0.1, E_sol_Li2S_rich=-0.05),
        _row("In2S3", -0.03, "1/8", 0.125),
    ]
    ranked = rk.rank(_table(*rows))
    assert [r.status("solution") for r in ranked] == ["pass", "pass", "not computed"]
    assert [r.accelerant for r in ranked] == ["Ga2S3", "Al2S3", "In2S3"]  # score
    rows[2] |= {"E_sol": -0.3, "E_sol_Li2S_rich": 0.5}
    rows[2] |= {"E_sol_spread": 0.001, "E_sol_samples": 2}
    rows[2] |= {"E_sol_Li2S_rich_spread": 0.001, "E_sol_Li2S_rich_samples": 2}
    rows[0]["E_sol_Li2S_rich"] = rows[1]["E_sol_Li2S_rich"] = 0.5  # undecided
    ranked = rk.rank(_table(*rows))
    assert {r.status("solution") for r in ranked} == {"undecided"}
    assert [r.accelerant for r in ranked] == ["In2S3", "Al2S3", "Ga2S3"]  # formation
    for r in rows:
        r["E_sol_Li2S_rich"] = -0.01
    by_sol = [r.accelerant for r in rk.rank(_table(*rows))]
    assert by_sol == ["In2S3", "Ga2S3", "Al2S3"]  # -0.3, -0.2, -0.1 apart
    by_margin = rk.rank(_table(*rows), rk.RankingConfig(order_by=["formation"]))
    assert [r.accelerant for r in by_margin] == ["In2S3", "Al2S3", "Ga2S3"]
    assert not any(r.tied for r in by_margin)
