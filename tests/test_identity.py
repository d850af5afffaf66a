"""Job identities: from declared kinds and canonical inputs, not module paths; a
store written by lpsflow 0.1.0 is reused, not recomputed."""

from __future__ import annotations

import json
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
from lpsflow.jobs.identity import (
    Spec,
    arguments,
    content_key,
    declared_defaults,
    kind,
    kind_of,
    legacy_key,
    stamp,
)

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


#: Ids of the fixture campaign's jobs today: any change to how ids are made (or to
#: a kind's inputs) shows here first. Changing them orphans every stored result
#: (stores of 0.1.0 excepted): only with a reason, and say so in the release notes.
GOLDEN = {
    "relax:Li2S": "e0a09649-8d58-5c4d-a56b-dc798faac3d4",
    "screen:core:Al2S3:Li-site": "ee294865-9904-5cce-aa56-fc9a67b26c82",
    "reaction:core:Al2S3:Li-site": "ec9808bc-4c53-5951-8ff1-15d427cccaed",
    "mu_li:Li7P3S11": "4ea494a0-fd28-5d1f-b763-5fb7fcb9c52f",
}
DEFAULTS = Path(__file__).parent / "data" / "kind-defaults.json"


def test_kind_defaults_are_pinned():
    """A changed default changes what a job computes but not its id (defaults are
    left out): bump the kind's version with it, then update kind-defaults.json."""
    assert declared_defaults() == json.loads(DEFAULTS.read_text())


def _extract_0_1_0(path: Path, pin: bool = True) -> Path:
    """The 0.1.0 store and its campaign file in ``path``.

    ``pin``: the campaign computes only the Li-site scheme and screens one batch
    of arrangements, as 0.1.0 did (the empty-site scheme came later: its cells are
    new jobs, and they join the mu_Li core's host candidates; screening until the
    lowest holds screens other arrangements: new jobs), and no surface energies
    (a descriptor added later: new jobs of their own).
    """
    with tarfile.open(STORE_0_1_0) as tar:
        tar.extractall(path, filter="data")
    if pin:
        yaml = path / "tiny.yaml"
        text = yaml.read_text().replace(
            "doping: {", "doping: {schemes: [Li-site], screen_patience: 0, "
        )
        assert "schemes" in text
        yaml.write_text(text + "surfaces: {enabled: false}\n")
    return path


@pytest.fixture
def store_0_1_0(tmp_path):
    return _extract_0_1_0(tmp_path)


def test_ids_are_stable(store_0_1_0):
    from lpsflow.campaign import load_campaign
    from lpsflow.flows.campaign import build_campaign

    roles = build_campaign(load_campaign(store_0_1_0 / "tiny.yaml")).roles
    assert {r: roles[r] for r in GOLDEN} == GOLDEN


#: numpy's SIMD kernels above AVX2: disabled, numpy computes as on an AVX2 CPU
#: (ignored where the CPU lacks them). Their last bits differ in trigonometry.
_AS_AVX2 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4,AVX512_ICL,AVX512_SPR"}


def test_ids_do_not_depend_on_the_cpu(store_0_1_0):
    """The fixture's ids with numpy's AVX-512 kernels and without (another CPU):
    the same, though structures differ in their last bits (lattices from angles)."""
    import os

    script = (
        "import json, sys\n"
        "from lpsflow.campaign import load_campaign\n"
        "from lpsflow.flows.campaign import build_campaign\n"
        "json.dump(build_campaign(load_campaign('tiny.yaml')).roles, sys.stdout)\n"
    )
    roles = []
    for extra in ({}, _AS_AVX2):
        env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=store_0_1_0,
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        roles.append(json.loads(out.stdout))
    assert roles[0] == roles[1]
    assert {r: roles[0][r] for r in GOLDEN} == GOLDEN


def _nudged(s: Structure, ulps: int = 1) -> Structure:
    """``s`` with its lattice matrix ``ulps`` units in the last place off."""
    import numpy as np

    matrix = s.lattice.matrix.copy()
    for _ in range(ulps):
        matrix = np.nextafter(matrix, np.inf)
    return Structure(matrix, s.species, s.frac_coords)


def _monoclinic() -> Structure:
    lattice = Lattice.from_parameters(9.07, 9.19, 9.18, 92.4, 101.2, 110.5)
    return Structure(lattice, ["P", "S"], [[0.02023779, 0.75150397, 0.84514483],
                                           [0.3, 0.1, 0.2]])  # fmt: skip


def test_content_keys_ignore_the_last_bits_of_a_structure():
    """A lattice one ulp off (another CPU's trigonometry) keeps today's id, which
    identity version 2 did not; a real difference (1e-6 A) is another id."""
    from lpsflow.calculators.mlip import MLIPRelaxMaker

    s = _monoclinic()
    assert not (s.lattice.matrix == _nudged(s).lattice.matrix).all()

    def key(structure, **kw):
        return content_key(MLIPRelaxMaker(steps=10).make(structure), **kw)

    assert key(_nudged(s)) == key(s)
    assert key(_nudged(s), version=2) != key(s, version=2)
    moved = s.copy()
    moved.translate_sites([0], [1e-6, 0, 0], frac_coords=False)
    assert key(moved) != key(s)
    assert '"xyz"' not in key(s) and '"volume"' not in key(s)  # derived: left out


def test_an_earlier_id_of_another_machine_is_recognised_by_its_stored_input():
    """A stored relaxation keyed on another CPU (its lattice one ulp off) stores its
    input after a round trip through Cartesian coordinates; with that stored
    lattice our key hashes to its id, and never for another structure."""
    from lpsflow.calculators.mlip import MLIPRelaxMaker
    from lpsflow.jobs.identity import Snap, uuid_of

    s, other = _monoclinic(), _nudged(_monoclinic())
    stored_id = uuid_of(legacy_key(MLIPRelaxMaker().make(other), None, {}))
    round_trip = Structure(other.lattice, other.species, other.cart_coords,
                           coords_are_cartesian=True)  # fmt: skip
    stored = round_trip.as_dict()
    ours = MLIPRelaxMaker().make(s)
    assert uuid_of(legacy_key(ours, None, {})) != stored_id
    assert uuid_of(legacy_key(ours, None, {}, snap=Snap(stored, True))) == stored_id
    moved = s.copy()
    moved.translate_sites([0], [1e-6, 0, 0], frac_coords=False)
    for derive in (True, False):
        snap = Snap(stored, derive)
        assert (
            uuid_of(legacy_key(MLIPRelaxMaker().make(moved), None, {}, snap=snap))
            != stored_id
        )


def test_new_defaults_leave_the_rest_of_a_0_1_0_store_adopted(tmp_path):
    """Unpinned, the 0.1.0 campaign file gets today's doping defaults (the
    empty-site scheme, screening until the lowest holds): the doped cells and every
    job that reads them, directly or not, are new, as are the surface energies
    (a later descriptor); every other stored job is adopted."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.adopt import legacy_to_adopt
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import open_stores

    campaign = load_campaign(_extract_0_1_0(tmp_path, pin=False) / "tiny.yaml")
    cflow = build_campaign(campaign)
    with open_stores(campaign.store, campaign.base_dir, create=False) as stores:
        want = legacy_to_adopt(stores, cflow)
    adopted = {r for r, u in cflow.roles.items() if u in want}
    role_of = {u: r for r, u in cflow.roles.items()}
    reads = {j.uuid: {ref.uuid for ref in j.input_references} for j in cflow.jobs}
    doped = {u for r, u in cflow.roles.items() if r.startswith("screen:core:")}
    assert {role_of[u] for u in doped} == {
        "screen:core:Al2S3:Li-site", "screen:core:Al2S3:empty-site"
    }  # fmt: skip
    while True:  # every job downstream of a doped-cell screen
        more = {u for u, refs in reads.items() if refs & doped} - doped
        if not more:
            break
        doped |= more
    assert "mu_li:core:Al2S3" in {role_of[u] for u in doped}
    surfaces = {u for r, u in cflow.roles.items() if ":surface:" in f":{r}"}
    assert {role_of[u] for u in surfaces} >= {"surface:010:Li7P3S11"}
    assert adopted == {r for r, u in cflow.roles.items() if u not in doped | surfaces}
    assert {"relax:Li2S", "relax:Li7P3S11", "mu_li:Li7P3S11"} <= adopted


def test_a_parent_computed_afresh_is_not_paired_with_adopted_children(store_0_1_0):
    """Li7P3S11's relaxation stored under today's id as a fresh result (not
    adopted): what reads it is computed again, the rest adopted."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.adopt import earlier_ids, legacy_to_adopt
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import open_stores

    campaign = load_campaign(store_0_1_0 / "tiny.yaml")
    cflow = build_campaign(campaign)
    li7 = cflow.roles["relax:Li7P3S11"]
    with open_stores(campaign.store, campaign.base_dir, create=False) as stores:
        old = earlier_ids(cflow, stores)["lpsflow 0.1.0"]
        doc = stores.jobs.docs_store.query_one({"uuid": old[li7]})
        fresh = {k: v for k, v in doc.items() if k != "_id"} | {"uuid": li7}
        stores.jobs.docs_store.update([fresh], key=["uuid", "index"])
        want = legacy_to_adopt(stores, cflow)
    readers = {  # read Li7P3S11's relaxation, or what was computed from it
        "reaction:Li7P3S11",
        "solubility:Al2S3:Li-site",
        "screen:vacancy:Li7P3S11",
        "static:vacancy:Li7P3S11:host",
        "relax:vacancy:Li7P3S11:0",
        "mu_li:Li7P3S11",
        "solution:core:Al2S3:Li-site",  # also new since 0.1.0: never adopted
    }
    adopted = {r for r, u in cflow.roles.items() if u in want}
    assert adopted == set(cflow.roles) - readers - {"relax:Li7P3S11"}
    assert "reaction:core:Al2S3:Li-site" in adopted  # reads no Li7P3S11


def test_a_store_of_identity_2_is_adopted(store_0_1_0):
    """A store as identity version 2 left it (each result under its version-2 id,
    the 0.1.0 results adopted there): every result is adopted from its version-2
    id, the newest earlier one."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.adopt import ADOPTED_FROM, earlier_ids, legacy_to_adopt
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import open_stores

    campaign = load_campaign(store_0_1_0 / "tiny.yaml")
    cflow = build_campaign(campaign)
    with open_stores(campaign.store, campaign.base_dir, create=False) as stores:
        ids = earlier_ids(cflow, stores)
        v2, old = ids["identity 2"], ids["lpsflow 0.1.0"]
        assert not set(v2.values()) & (set(old.values()) | set(v2))
        docs = {d["uuid"]: d for d in stores.jobs.docs_store.query({})}
        copies = [
            {k: v for k, v in docs[old[u]].items() if k != "_id"}
            | {
                "uuid": v2[u],
                "metadata": docs[old[u]]["metadata"] | {ADOPTED_FROM: old[u]},
            }
            for u in v2
            if old[u] in docs
        ]
        stores.jobs.docs_store.update(copies, key=["uuid", "index"])
        stores.jobs.docs_store.remove_docs({"uuid": {"$in": list(docs)}})
        want = legacy_to_adopt(stores, cflow)
    new = {
        cflow.roles[f"{r}:Li-site"] for r in ("solution:core:Al2S3", "solubility:Al2S3")
    }
    assert len(copies) == 22
    assert want == {u: v2[u] for u in v2 if u not in new}


def test_submit_refuses_beside_live_fireworks_under_earlier_ids(store_0_1_0):
    """Fireworks of an earlier submission carry the earlier ids of the same jobs:
    while one may still run, a submission would compute it twice."""
    from types import SimpleNamespace

    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.adopt import earlier_ids
    from lpsflow.dispatch.fireworks import UUID_KEY, _check_no_legacy_fireworks
    from lpsflow.flows.campaign import build_campaign

    cflow = build_campaign(load_campaign(store_0_1_0 / "tiny.yaml"))
    v2 = earlier_ids(cflow)["identity 2"][cflow.roles["relax:Li2S"]]
    fw = {"fw_id": 7, "state": "RUNNING", "spec": {"_tasks": [{"job": {"uuid": v2}}]}}

    def find(query, fields):
        return [fw] if v2 in query[UUID_KEY]["$in"] else []

    lp = SimpleNamespace(fireworks=SimpleNamespace(find=find))
    with pytest.raises(LpsflowError, match=r"earlier submission.*defuse_fws -i 7"):
        _check_no_legacy_fireworks(lp, cflow)
    fw["state"] = "COMPLETED"
    _check_no_legacy_fireworks(lp, cflow)


def _values(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if not c.startswith("job_")]]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-8
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (pd.isna(a) and pd.isna(b))


def test_a_store_of_lpsflow_0_1_0_is_reused_not_recomputed(tmp_path):
    """Every job of the 0.1.0 store is found under today's id (adopted), only what
    0.1.0 did not have or has since changed is computed (the solution energy, the
    solubility from the free energy of mixing: analysis jobs on the stored
    relaxations), and the other descriptors are the stored ones (1e-8)."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.local import run_campaign
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    _extract_0_1_0(tmp_path)
    check = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "validate", "tiny.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "22 already in its store" in check.stderr + check.stdout, check.stderr
    campaign = load_campaign(tmp_path / "tiny.yaml")
    with open_stores(campaign.store, campaign.base_dir, create=False) as stores:
        before = load("tiny", stores)  # read through 0.1.0's manifest
        old_ids = set(before["job_core"])
        lines: list[str] = []
        report = run_campaign(campaign, stores, tmp_path / "work", echo=lines.append)
        roles = build_campaign(campaign, check=False).roles
        new = {
            roles[f"{r}:Li-site"] for r in ("solution:core:Al2S3", "solubility:Al2S3")
        }
        assert (set(report.completed), report.reused, report.failed) == (new, 22, {})
        assert any("22 results stored under earlier job ids reused" in x for x in lines)
        after = load("tiny", stores)
        again = run_campaign(campaign, stores, tmp_path / "work", echo=lambda _: None)
    assert again.completed == [] and again.reused == 24
    assert set(after["job_core"]).isdisjoint(old_ids)  # today's ids
    assert list(after.columns) == list(before.columns)
    assert before["E_sol"].isna().all() and after["E_sol"].notna().all()
    new_columns = ["E_sol", "E_sol_Li2S_rich", "E_sol_by_x", "x_solubility"]
    new_columns += [f"{c}_{s}" for c in new_columns[:2] for s in ("spread", "samples")]
    new_columns += ["solubility", "solubility_bounds", "synthesis_T", "dF_meV_by_x"]
    before, after = before.drop(columns=new_columns), after.drop(columns=new_columns)
    for (_, a), (_, b) in zip(
        _values(before).iterrows(), _values(after).iterrows(), strict=True
    ):
        for col in a.index:
            assert _same(a[col], b[col]), col
    assert after["mu_Li_core"].notna().all() and after["dE_core"].notna().all()


def test_moved_modules_still_decode_stored_documents_and_jobs():
    """Outputs and queued fireworks name the module a class or job function was in
    when they were written; after a move the same names still decode."""
    import importlib

    from monty.json import MontyDecoder

    from lpsflow.descriptors.migration.jobs import neb_hop_job
    from lpsflow.descriptors.reactions.schema import ReactionInput
    from lpsflow.moved import MOVED

    for old, new in MOVED.items():
        module = importlib.import_module(old)
        for target in new:  # everything public of the new modules is there
            held = importlib.import_module(target)
            assert all(
                getattr(module, k) is v
                for k, v in vars(held).items()
                if not k.startswith("_")
            ), (old, target)
    doc = MontyDecoder().process_decoded(
        {
            "@module": "lpsflow.schemas",
            "@class": "ReactionInput",
            "formula": "Li2S",
            "phase": "Li2S",
            "coefficient": -1.0,
            "energy_per_atom": -2.0,
            "converged": True,
            "job_uuid": "u",
        }
    )
    assert isinstance(doc, ReactionInput)
    function = MontyDecoder().process_decoded(
        {"@module": "lpsflow.jobs.neb_hops", "@callable": "neb_hop_job"}
    )
    assert function is neb_hop_job


class _Pair(Spec):
    """A test spec: one required field, one with a default."""

    a: int
    b: float = 2.0


@job
@kind("test_pair")
def _separate(label: str, a: int, b: float = 2.0) -> None:
    """The pair as two arguments."""


@job
@kind("test_pair")
def _grouped(label: str, pair: _Pair) -> None:
    """The pair as one spec."""


def test_a_spec_is_read_as_its_fields():
    """Grouping arguments into a spec keeps the job's id (a field left at its
    default is left out, as a parameter's), and 0.1.0's id reads the spec as the
    separate arguments 0.1.0 passed (positional spec: its fields in order)."""
    for b in (2.0, 3.5):
        one, two = _separate("x", 1, b), _grouped("x", _Pair(a=1, b=b))
        assert content_key(one) == content_key(two)
        assert json.loads(content_key(two))["inputs"] == (
            {"label": "x", "a": 1} | ({"b": b} if b != 2.0 else {})
        )
    old = legacy_key(_grouped("x", _Pair(a=1, b=3.5)), None, {})
    assert json.loads(old)["args"] == ["x", 1, 3.5]
    assert arguments(_grouped("x", _Pair(a=1)))["pair"] == _Pair(a=1, b=2.0)
