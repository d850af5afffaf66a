"""Job roles: one grammar, written by the flows and read back everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpsflow import roles
from lpsflow.roles import Role, RoleError, roles_of, x_label, x_of

CONFIGS = Path(__file__).parent.parent / "configs"


@pytest.mark.parametrize("config", ["quick.yaml", "study.yaml"])
def test_the_flows_roles_read_back_as_written(config):
    """Every role of the shipped campaigns (MLIP; VASP with its NEB steps) parses
    and formats back to itself."""
    from lpsflow.campaign import load_campaign
    from lpsflow.flows.campaign import build_campaign

    flow = build_campaign(load_campaign(CONFIGS / config))
    assert len(flow.roles) > 100
    for text in flow.roles:
        role = Role.parse(text)
        assert str(role) == text
        assert Role.parse(str(role)) == role


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("relax:Li2S", {"step": "relax", "branch": "", "label": "Li2S"}),
        (
            "relax:core:Al2S3:Li-site:1/8:0",
            {"branch": "core", "label": "Al2S3", "scheme": "Li-site", "x": "1/8"},
        ),
        ("relax:core:SiS2:P-site:1", {"x": "", "index": 1}),
        ("screen:core:SiS2:P-site:1/4", {"x": "1/4", "index": None}),
        ("reaction:core:Ga2S3:Li-site", {"step": "reaction", "branch": "core"}),
        ("solubility:Ga2S3:Li-site", {"branch": "core", "scheme": "Li-site"}),
        (
            "relax:interface:hetero:Al2S3:n2:cut:film",
            {"kind": "hetero", "n": 2, "part": "cut:film"},
        ),
        ("relax:interface:homo:Li7P3S11:cut:substrate", {"n": None}),
        ("static:vacancy:core:Al2S3:host", {"kind": "core", "part": "host"}),
        ("relax:vacancy:Li7P3S11:1", {"kind": "", "label": "Li7P3S11", "index": 1}),
        ("mu_li:gb:Al2S3", {"branch": "vacancy", "kind": "gb"}),
        ("gb:hetero:SiS2", {"step": "gb", "branch": "gb", "kind": "hetero"}),
        (
            "endpoint:neb:gb:Al2S3:0:initial",
            {"branch": "neb", "kind": "gb", "index": 0, "part": "initial"},
        ),
    ],
)
def test_fields_of_a_role(text, fields):
    role = Role.parse(text)
    assert {k: getattr(role, k) for k in fields} == fields
    assert str(role) == text


def test_constructors_match_the_grammar():
    assert str(roles.core_reaction("Al2S3", "Li-site")) == "reaction:core:Al2S3:Li-site"
    assert str(roles.solubility("Al2S3", "Li-site")) == "solubility:Al2S3:Li-site"
    assert str(roles.binding("homo", "Li7P3S11")) == "binding:homo:Li7P3S11"
    assert str(roles.mu_li("", "Li7P3S11")) == "mu_li:Li7P3S11"
    neb = roles.neb("bulk", "SiS2")
    assert str(neb) == "neb:bulk:SiS2"
    assert str(neb.but(step="band", index=3)) == "band:neb:bulk:SiS2:3"
    assert neb.format(index="#") == "neb:bulk:SiS2"  # no index: nothing replaced
    assert neb.but(index=2).format(index="#") == "neb:bulk:SiS2:#"


@pytest.mark.parametrize(
    "text", ["relax", "", "neb bulk", "relax::Li2S", "reaction:core:Al2S3"]
)
def test_what_is_no_role(text):
    with pytest.raises(RoleError, match="not a job role"):
        Role.parse(text)


def test_roles_of_a_manifest_skips_what_is_no_role():
    man = {"jobs": [{"role": "relax:Li2S", "uuid": "a"}, {"role": "x", "uuid": "b"}]}
    assert roles_of(man) == {roles.relax("Li2S"): "a"}


def test_x_labels():
    assert x_label(0.125) == "1/8" and x_of("1/8") == 0.125
    assert x_label(1 / 3) == "1/3"
