"""Job identities: from declared kinds and canonical inputs, not module paths; a
store written by lpsflow 0.1.0 is reused, not recomputed."""

from __future__ import annotations

import math
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest
from jobflow import job
from pymatgen.core import Lattice, Structure

from lpsflow.errors import LpsflowError
from lpsflow.jobs.identity import content_key, kind, kind_of, stamp

#: A store lpsflow 0.1.0 wrote: campaign 'tiny' (tiny.yaml beside it), 23 jobs
#: (bulk relaxations, one doped core, reaction energies, solubility, mu_Li).
STORE_0_1_0 = Path(__file__).parent / "data" / "store-0.1.0-tiny.tar.gz"


@job
@kind("test_sum")
def _sum(a: float, b: float = 1.0, *, scale: float = 1.0) -> float:
    return scale * (a + b)


@job
@kind("test_sum")
def _sum_with_more(a: float, b: float = 1.0, *, scale: float = 1.0, offset=0.0):
    """The same kind, later given a parameter with a default."""
    return scale * (a + b) + offset


def test_defaults_left_out_and_new_parameters_keep_ids():
    base = content_key(_sum(2.0))
    assert content_key(_sum(2.0, 1.0)) == base  # a default, given
    assert content_key(_sum(2.0, scale=1.0)) == base
    assert content_key(_sum(a=2.0)) == base  # by name or position
    assert content_key(_sum_with_more(2.0)) == base  # new parameter at its default
    assert content_key(_sum(2.0, 3.0)) != base
    assert content_key(_sum_with_more(2.0, offset=0.5)) != base


def test_moving_a_function_keeps_its_id():
    before = content_key(_sum(2.0))
    function = _sum(2.0).function
    module, qualname = function.__module__, function.__qualname__
    try:
        function.__module__, function.__qualname__ = "elsewhere.jobs", "renamed"
        assert content_key(_sum(2.0)) == before
    finally:
        function.__module__, function.__qualname__ = module, qualname


def test_a_job_without_a_kind_is_a_clear_error():
    @job
    def undeclared(a):
        return a

    with pytest.raises(LpsflowError, match="declares no identity kind"):
        kind_of(undeclared(1))


def test_maker_ids_ignore_the_display_name_and_structure_modules():
    from lpsflow.calculators.mlip import MLIPRelaxMaker

    s = Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]])
    a = stamp(MLIPRelaxMaker(name="relax a", steps=10).make(s))
    b = stamp(MLIPRelaxMaker(name="relax b", steps=10).make(s))
    c = stamp(MLIPRelaxMaker(name="relax a", steps=11).make(s))
    assert a.uuid == b.uuid != c.uuid
    assert "@module" not in content_key(a)  # classes by name only


def _values(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if not c.startswith("job_")]]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-8
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (pd.isna(a) and pd.isna(b))


def test_a_store_of_lpsflow_0_1_0_is_reused_not_recomputed(tmp_path):
    """Every job of the 0.1.0 store is found under today's id (adopted), nothing is
    computed, and the descriptors are the stored ones (1e-8)."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.local import run_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    with tarfile.open(STORE_0_1_0) as tar:
        tar.extractall(tmp_path, filter="data")
    check = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "validate", "tiny.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "23 already in its store" in check.stderr + check.stdout, check.stderr
    campaign = load_campaign(tmp_path / "tiny.yaml")
    with open_stores(campaign.store, campaign.base_dir, create=False) as stores:
        before = load("tiny", stores)  # read through 0.1.0's manifest
        old_ids = set(before["job_core"])
        lines: list[str] = []
        report = run_campaign(campaign, stores, tmp_path / "work", echo=lines.append)
        assert (report.completed, report.reused, report.failed) == ([], 23, {}), lines
        assert any("23 results stored by lpsflow 0.1.0 reused" in x for x in lines)
        after = load("tiny", stores)
        again = run_campaign(campaign, stores, tmp_path / "work", echo=lambda _: None)
    assert again.completed == [] and again.reused == 23
    assert set(after["job_core"]).isdisjoint(old_ids)  # today's ids
    assert list(after.columns) == list(before.columns)
    for (_, a), (_, b) in zip(
        _values(before).iterrows(), _values(after).iterrows(), strict=True
    ):
        for col in a.index:
            assert _same(a[col], b[col]), col
    assert after["mu_Li_core"].notna().all() and after["dE_core"].notna().all()
