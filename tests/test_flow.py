"""The campaign flow: shared work once, content-derived ids, overrides."""

from __future__ import annotations

import pytest

from lpsflow.campaign import campaign_from_dict
from lpsflow.errors import ConfigError
from lpsflow.flows.campaign import SHARED_PHASES, build_campaign
from lpsflow.jobs.identity import arguments
from lpsflow.structures.library import load_structure

BASE = {"name": "f", "accelerants": ["Al2S3"], "doping": {"x": "1/4", "relax_top": 2}}


def roles(data, base_dir="."):
    return build_campaign(campaign_from_dict(data, base_dir=base_dir)).roles


def test_shared_work_is_built_once_for_many_accelerants():
    one = roles(BASE)
    three = roles({**BASE, "accelerants": ["Al2S3", "Ga2S3", "SiS2"]})
    for phase in SHARED_PHASES:
        assert one[f"relax:{phase}"] == three[f"relax:{phase}"]
    n_relax = sum(
        r.startswith("relax:")
        and not any(
            k in r for k in (":core:", ":interface:", ":vacancy:", ":gb:", ":surface:")
        )
        for r in three
    )
    assert n_relax == len(SHARED_PHASES) + 3
    # SiS2 (Si4+) gets both compensation schemes, Al and Ga only the Li site
    assert "reaction:core:SiS2:P-site" in three
    assert "reaction:core:Al2S3:P-site" not in three
    # the Al2S3 branch is the same calculation in both campaigns
    assert one["reaction:core:Al2S3:Li-site"] == three["reaction:core:Al2S3:Li-site"]


def test_ids_are_deterministic_and_follow_the_settings():
    a, b = roles(BASE), roles(BASE)
    assert a == b
    tighter = roles({**BASE, "calculator": {"fmax": 0.01}})
    assert not set(a.values()) & set(tighter.values())


def test_relax_top_jobs_and_unique_ids():
    r = roles(BASE)
    assert "relax:core:Al2S3:Li-site:1" in r
    assert "relax:core:Al2S3:Li-site:2" not in r
    assert len(set(r.values())) == len(r)


def test_structure_override_changes_only_what_depends_on_it(tmp_path):
    li2s = load_structure("Li2S")
    li2s.scale_lattice(li2s.volume * 1.02)
    li2s.to(filename=str(tmp_path / "Li2S.cif"))
    base = roles(BASE)
    over = roles({**BASE, "structures": {"Li2S": "Li2S.cif"}}, base_dir=tmp_path)
    assert over["relax:Li2S"] != base["relax:Li2S"]
    assert over["relax:Li7P3S11"] == base["relax:Li7P3S11"]
    assert over["reaction:Li7P3S11"] != base["reaction:Li7P3S11"]
    assert over["relax:core:Al2S3:Li-site:0"] == base["relax:core:Al2S3:Li-site:0"]


def test_structure_override_is_used(tmp_path):
    li2s = load_structure("Li2S")
    li2s.scale_lattice(li2s.volume * 1.05)
    li2s.to(filename=str(tmp_path / "my_li2s.cif"))
    c = campaign_from_dict(
        {**BASE, "structures": {"Li2S": "my_li2s.cif"}}, base_dir=tmp_path
    )
    cflow = build_campaign(c)
    job = next(j for j in cflow.flow.jobs if j.uuid == cflow.roles["relax:Li2S"])
    assert arguments(job)["structure"].volume == pytest.approx(li2s.volume, rel=1e-4)


def test_interface_branches_homo_once_hetero_per_accelerant():
    one = roles(BASE)
    three = roles({**BASE, "accelerants": ["Al2S3", "Ga2S3", "SiS2"]})
    # homo series (Li7P3S11 on itself) is shared work: the same jobs in both
    homo = [r for r in three if ":homo:" in r]
    assert homo and all(one[r] == three[r] for r in homo)
    for acc in ("Al2S3", "Ga2S3", "SiS2"):
        assert f"binding:hetero:{acc}" in three
        for n in (1, 2, 3):  # default N = 3 film layers
            assert f"relax:interface:hetero:{acc}:n{n}" in three
            assert f"relax:interface:hetero:{acc}:n{n}:film" in three
        assert f"relax:interface:hetero:{acc}:n4" not in three
    # default (lowest): film and substrate per n from each interface's parts job,
    # and a film per n and a substrate per series cut from the screened cells
    assert sum(r.endswith(":substrate") for r in three) == 4 * 3 + 4
    assert sum(r.endswith(":cut:film") for r in three) == 4 * 3
    assert sum(r.startswith("parts:interface:") for r in three) == 4 * 3
    own = {**BASE, "interfaces": {"references": "relaxed_interface"}}
    flow = build_campaign(campaign_from_dict(own)).flow
    by_uuid = {j.uuid: j for j in flow.jobs}
    r = roles(own)
    assert sum(k.endswith(":substrate") for k in r) == 2 * 3  # hetero + homo, per n
    assert not any(":cut:" in k for k in r)
    for ref in ("film", "substrate"):
        start = arguments(by_uuid[r[f"relax:interface:hetero:Al2S3:n2:{ref}"]])[
            "structure"
        ]
        assert start.uuid == r["parts:interface:hetero:Al2S3:n2"]
        assert start.attributes == (("a", ref),)
    parts = by_uuid[r["parts:interface:hetero:Al2S3:n2"]]
    assert arguments(parts)["interface"]["uuid"] == r["relax:interface:hetero:Al2S3:n2"]
    # the hetero substrate's thickness counts layers of the relaxed undoped core;
    # the homo series (undoped) has no host argument
    hetero = by_uuid[r["screen:interface:hetero:Al2S3:n1"]].function_kwargs
    assert hetero["substrate_host"]["uuid"] == r["relax:Li3PS4"]
    homo = by_uuid[r["screen:interface:homo:Li7P3S11:n1"]].function_kwargs
    assert "substrate_host" not in homo
    cut = roles(
        {
            **BASE,
            "accelerants": ["Al2S3", "Ga2S3", "SiS2"],
            "interfaces": {"references": "screened_cell"},
        }
    )
    # from the screened cells: one substrate reference per series, not per n
    assert sum(r.endswith(":substrate") for r in cut) == 4
    assert not any(r.startswith("parts:") for r in cut)
    # lowest: both sets; the cut ones are the very jobs screened_cell runs (a store
    # that ran one mode reuses them in the other)
    both = roles({**BASE, "interfaces": {"references": "lowest"}})
    one_cut = roles({**BASE, "interfaces": {"references": "screened_cell"}})
    tag = "relax:interface:hetero:Al2S3"
    assert both[f"{tag}:n2:cut:film"] == one_cut[f"{tag}:n2:film"]
    assert both[f"{tag}:cut:substrate"] == one_cut[f"{tag}:substrate"]
    assert both[f"{tag}:n2:film"] == r[f"{tag}:n2:film"]  # the parts start
    assert both[f"{tag}:n2:substrate"] == r[f"{tag}:n2:substrate"]
    # the hetero substrate is the doped core at doping.x (1/4): no extra cells
    nosol = roles({**BASE, "doping": {**BASE["doping"], "solubility_x": []}})
    assert "binding:hetero:Al2S3" in nosol
    assert not any(r.startswith("screen:core:Al2S3:Li-site:") for r in nosol)


def test_interface_relax_top_adds_starts_and_keeps_every_other_id():
    """interfaces.relax_top: 2 relaxes a second registry per n (and its parts'
    references); every job of relax_top 1 but E_bind keeps its id, so a store that
    ran relax_top 1 computes only the new starts."""
    one = roles(BASE)
    data = {**BASE, "interfaces": {"relax_top": 2}}
    two = roles(data)
    by_uuid = {j.uuid: j for j in build_campaign(campaign_from_dict(data)).flow.jobs}
    added = set(two) - set(one)
    tag = "interface:hetero:Al2S3:n2"
    assert {
        f"screen:{tag}:starts",
        f"relax:{tag}:start2",
        f"parts:{tag}:start2",
        f"relax:{tag}:start2:film",
        f"relax:{tag}:start2:substrate",
    } <= added
    assert len(added) == 5 * 3 * 2  # 5 jobs per n, n = 1..3, hetero and homo
    assert {r for r in one if one[r] != two[r]} == {
        "binding:hetero:Al2S3",
        "binding:homo:Li7P3S11",
    }
    starts = by_uuid[two[f"screen:{tag}:starts"]]
    screen = by_uuid[two[f"screen:{tag}"]]
    assert arguments(starts)["screen"].uuid == screen.uuid
    assert arguments(starts)["relax_top"] == 2
    assert starts.function_kwargs == screen.function_kwargs  # the same cells
    relax = arguments(by_uuid[two[f"relax:{tag}:start2"]])["structure"]
    assert relax.uuid == starts.uuid
    assert relax.attributes == (("a", "cells"), ("i", 0))
    parts = by_uuid[two[f"parts:{tag}:start2"]]
    assert parts.function_kwargs["start"].uuid == starts.uuid
    binding = by_uuid[two["binding:hetero:Al2S3"]].function_kwargs["starts"]
    assert [[s["start"] for s in n] for n in binding] == [[1], [1], [1]]
    # references cut from the screened cells: the other start is the interface alone
    cut = {"relax_top": 2, "references": "screened_cell"}
    added = set(roles({**BASE, "interfaces": cut})) - set(
        roles({**BASE, "interfaces": {"references": "screened_cell"}})
    )
    assert added == {
        f"{what}:interface:{kind}:n{n}:{tail}"
        for kind in ("hetero:Al2S3", "homo:Li7P3S11")
        for n in (1, 2, 3)
        for what, tail in (("screen", "starts"), ("relax", "start2"))
    }
    # more starts than rigid shifts: one clear error
    grid = {"shift_grid": [2, 2], "substrate_layers": 1, "fixed_layers": 1}
    with pytest.raises(ConfigError, match=r"relax_top \(5\) exceeds the 4 rigid"):
        campaign_from_dict({**BASE, "interfaces": {"relax_top": 5, "hetero": grid}})


def test_interface_core_x_adds_its_own_doped_cells_and_can_be_disabled():
    r = roles({**BASE, "interfaces": {"core_x": "1/8", "film_layers": 1}})
    assert "screen:core:Al2S3:Li-site:1/8" in r
    assert "relax:interface:hetero:Al2S3:n2" not in r
    off = roles({**BASE, "interfaces": {"enabled": False}})
    assert not any("interface" in k or k.startswith("binding:") for k in off)


def test_mu_li_branches_core_per_accelerant_li7p3s11_once():
    one = roles(BASE)
    three = roles({**BASE, "accelerants": ["Al2S3", "Ga2S3", "SiS2"]})
    shared = [
        r
        for r in three
        if r.endswith("vacancy:Li7P3S11:host")
        or r.startswith(("mu_li:Li7P3S11", "relax:vacancy:Li7P3S11"))
    ]
    assert len(shared) == 4 and all(one[r] == three[r] for r in shared)
    for acc in ("Al2S3", "Ga2S3", "SiS2"):
        assert f"mu_li:core:{acc}" in three
        assert f"relax:vacancy:core:{acc}:1" in three  # relax_top = 2 by default
        assert f"relax:vacancy:core:{acc}:2" not in three
    off = roles({**BASE, "vacancies": {"enabled": False}})
    assert not any("vacancy" in k or k.startswith("mu_li:") for k in off)


def test_gb_and_neb_branches_shared_once_and_per_accelerant():
    one = roles(BASE)
    three = roles({**BASE, "accelerants": ["Al2S3", "Ga2S3", "SiS2"]})
    shared = [
        "screen:gb:homo:Li7P3S11", "relax:gb:homo:Li7P3S11", "gb:homo:Li7P3S11",
        "neb:gb:Li7P3S11", "neb:bulk:Li7P3S11",
    ]  # fmt: skip
    assert all(one[r] == three[r] for r in shared)
    for acc in ("Al2S3", "Ga2S3", "SiS2"):
        for kind in ("core", "hetero"):
            assert f"gb:{kind}:{acc}" in three and f"relax:gb:{kind}:{acc}" in three
        assert f"neb:gb:{acc}" in three and f"neb:bulk:{acc}" in three
        # E_v at the Li sites near the hetero GB: two relaxations (relax_top 2)
        assert f"mu_li:gb:{acc}" in three
        assert f"relax:vacancy:gb:{acc}:1" in three
    # the GB NEB runs in the hetero GB cell; the bulk NEB in the relaxed core
    cflow = build_campaign(campaign_from_dict(BASE))
    jobs = {j.uuid: j for j in cflow.flow.jobs}
    neb_gb = jobs[one["neb:gb:Al2S3"]]
    assert arguments(neb_gb)["host"]["uuid"] == one["gb:hetero:Al2S3"]
    neb_bulk = jobs[one["neb:bulk:Al2S3"]]
    # ... the lowest of the Li-site and empty-site cells (one composition)
    assert [h["uuid"] for h in arguments(neb_bulk)["host"]] == [
        one[f"relax:core:Al2S3:{scheme}:{i}"]
        for scheme in ("Li-site", "empty-site")
        for i in (0, 1)
    ]
    only = roles({**BASE, "doping": {**BASE["doping"], "schemes": ["Li-site"]}})
    assert not any("empty-site" in r for r in only)
    # a scheme named for the core: its cells only
    named = {**BASE, "interfaces": {"scheme": "Li-site"}}
    cflow = build_campaign(campaign_from_dict(named))
    jobs = {j.uuid: j for j in cflow.flow.jobs}
    neb_bulk = jobs[cflow.roles["neb:bulk:Al2S3"]]
    assert [h["uuid"] for h in arguments(neb_bulk)["host"]] == [
        cflow.roles[f"relax:core:Al2S3:Li-site:{i}"] for i in (0, 1)
    ]


def test_gb_kinds_neb_paths_and_switches():
    core_only = roles({**BASE, "grain_boundaries": {"kinds": ["core"]}})
    assert "gb:core:Al2S3" in core_only and "gb:hetero:Al2S3" not in core_only
    assert "gb:homo:Li7P3S11" not in core_only and "neb:gb:Li7P3S11" not in core_only
    assert "mu_li:gb:Al2S3" not in core_only  # GB sites need the hetero GB
    cflow = build_campaign(
        campaign_from_dict({**BASE, "grain_boundaries": {"kinds": ["core"]}})
    )
    neb = next(j for j in cflow.flow.jobs if j.uuid == cflow.roles["neb:gb:Al2S3"])
    assert arguments(neb)["host"]["uuid"] == cflow.roles["gb:core:Al2S3"]
    bulk_only = roles({**BASE, "neb": {"paths": ["bulk"]}})
    assert "neb:bulk:Al2S3" in bulk_only and "neb:gb:Al2S3" not in bulk_only
    off = roles(
        {**BASE, "grain_boundaries": {"enabled": False}, "neb": {"enabled": False}}
    )
    assert not any(k.startswith(("neb:", "gb:")) or ":gb:" in k for k in off)
    no_sites = roles({**BASE, "vacancies": {"gb": False}})
    assert "mu_li:gb:Al2S3" not in no_sites and "mu_li:core:Al2S3" in no_sites


def test_neb_jobs_use_the_campaigns_optimisers():
    """Band: neb.optimizer (ODE12r by default); endpoints: the relaxation optimiser."""
    cflow = build_campaign(campaign_from_dict(BASE))
    jobs = {j.uuid: j for j in cflow.flow.jobs}
    kw = jobs[cflow.roles["neb:gb:Al2S3"]].function_kwargs
    assert kw["optimizer"] == "ODE"
    assert kw["endpoint_optimizer"] == "LBFGS"
    assert kw["endpoint_optimizer_kwargs"] == {"alpha": 10.0}
    fire = {**BASE, "neb": {"optimizer": "FIRE"}, "calculator": {"optimizer": "FIRE"}}
    cflow = build_campaign(campaign_from_dict(fire))
    jobs = {j.uuid: j for j in cflow.flow.jobs}
    kw = jobs[cflow.roles["neb:bulk:Al2S3"]].function_kwargs
    assert kw["optimizer"] == "FIRE" and kw["endpoint_optimizer"] == "FIRE"
    assert kw["endpoint_optimizer_kwargs"] == {}


def test_bulk_hops_run_in_the_core_at_the_campaigns_x():
    """The 'bulk' NEB host is the core at doping.x (the study's dilute x), not
    the GB grains' x = 1/4; neb.core_x chooses another."""
    data = {**BASE, "doping": {"x": "1/8", "relax_top": 1}}
    cflow = build_campaign(campaign_from_dict(data))
    jobs = {j.uuid: j for j in cflow.flow.jobs}

    def hosts(role):
        return [h["uuid"] for h in arguments(jobs[cflow.roles[role]])["host"]]

    assert hosts("neb:bulk:Al2S3") == [
        cflow.roles[f"relax:core:Al2S3:{s}:0"] for s in ("Li-site", "empty-site")
    ]
    screen = arguments(jobs[cflow.roles["screen:gb:core:Al2S3"]])
    assert [h["uuid"] for h in screen["bulk_a"]] == [
        cflow.roles[f"relax:core:Al2S3:{s}:1/4:0"] for s in ("Li-site", "empty-site")
    ]
    cflow = build_campaign(campaign_from_dict({**data, "neb": {"core_x": "1/4"}}))
    jobs = {j.uuid: j for j in cflow.flow.jobs}
    assert hosts("neb:bulk:Al2S3") == [
        cflow.roles[f"relax:core:Al2S3:{s}:1/4:0"] for s in ("Li-site", "empty-site")
    ]


def test_one_gb_kind_takes_its_core_grain_at_its_own_x():
    """grain_boundaries.hetero.core_x: the hetero GB's core grain at the study's
    x while the core/core GB stays at grain_boundaries.core_x; homo has none."""
    data = {**BASE, "doping": {"x": "1/8", "relax_top": 1}}
    hetero = {"layers_a": 1, "layers_b": 1, "flip": None, "max_area": 420,
              "max_strain": 0.07, "max_length_tol": 0.08,
              "max_angle_tol": 0.08}  # fmt: skip
    gbs = {"hetero": {**hetero, "core_x": "1/8"}}
    cflow = build_campaign(campaign_from_dict({**data, "grain_boundaries": gbs}))
    jobs = {j.uuid: j for j in cflow.flow.jobs}

    def grain_a(kind):
        screen = arguments(jobs[cflow.roles[f"screen:gb:{kind}:Al2S3"]])
        return [h["uuid"] for h in screen["bulk_a"]]

    schemes = ("Li-site", "empty-site")
    assert grain_a("hetero") == [
        cflow.roles[f"relax:core:Al2S3:{s}:0"] for s in schemes
    ]
    assert grain_a("core") == [
        cflow.roles[f"relax:core:Al2S3:{s}:1/4:0"] for s in schemes
    ]
    with pytest.raises(ConfigError, match=r"grain_boundaries\.homo: core_x: the homo"):
        homo = {"layers_a": 1, "layers_b": 1, "core_x": "1/8"}
        campaign_from_dict({**data, "grain_boundaries": {"homo": homo}})
