import pytest
import yaml

from lpsflow.campaign import campaign_from_dict, load_campaign
from lpsflow.errors import ConfigError

BASE = {"name": "t", "accelerants": ["Al2S3"]}


def test_defaults():
    c = campaign_from_dict(BASE)
    assert c.calculator.backend == "mlip"
    assert c.calculator.model == "CHGNet"
    assert c.doping.x == pytest.approx(1 / 16)
    assert c.store.type == "embedded"


def test_fraction_x():
    c = campaign_from_dict({**BASE, "doping": {"x": "1/8"}})
    assert c.doping.x == pytest.approx(0.125)


@pytest.mark.parametrize("x", [0, 1, -0.1, 1.5, "abc", "1/0"])
def test_x_outside_range(x):
    with pytest.raises(ConfigError, match=r"doping\.x"):
        campaign_from_dict({**BASE, "doping": {"x": x}})


def test_unknown_key_is_an_error():
    with pytest.raises(ConfigError, match=r"calculator\.fmx: unknown key"):
        campaign_from_dict({**BASE, "calculator": {"fmx": 0.1}})
    with pytest.raises(ConfigError, match="acelerants: unknown key"):
        campaign_from_dict({**BASE, "acelerants": ["SiS2"]})


@pytest.mark.parametrize("bad", ["Al2O3", "Qq2S3", "P2S5"])
def test_bad_accelerant(bad):
    with pytest.raises(ConfigError, match="accelerants"):
        campaign_from_dict({**BASE, "accelerants": [bad]})


def test_duplicate_accelerant():
    with pytest.raises(ConfigError, match="listed twice"):
        campaign_from_dict({**BASE, "accelerants": ["Al2S3", "S3Al2"]})


def test_unknown_backend():
    with pytest.raises(ConfigError, match=r"calculator\.backend"):
        campaign_from_dict({**BASE, "calculator": {"backend": "gaussian"}})


def test_missing_structure_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        campaign_from_dict(
            {**BASE, "structures": {"Li2S": "nope.cif"}}, base_dir=tmp_path
        )


def test_load_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_campaign(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_campaign(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string")
    with pytest.raises(ConfigError, match="mapping"):
        load_campaign(scalar)


def test_hash_tracks_science_not_bookkeeping(tmp_path):
    a = campaign_from_dict(BASE)
    b = campaign_from_dict({**BASE, "description": "other", "workdir": "elsewhere"})
    c = campaign_from_dict({**BASE, "calculator": {"fmax": 0.01}})
    assert a.definition_hash() == b.definition_hash()
    assert a.definition_hash() != c.definition_hash()


def test_later_settings_at_their_default_keep_the_hash_of_before():
    """A setting added later (interfaces.relax_top) leaves the hash of a campaign
    that does not use it as it was before the setting existed."""
    import hashlib
    import json

    a = campaign_from_dict(BASE)
    data = a.model_dump(mode="json", exclude={"description", "store", "workdir"})
    del data["interfaces"]["relax_top"]  # what the hash read before they existed
    del data["calculator"]["perturb_seed"], data["calculator"]["perturb_amplitude"]
    del data["sampling"]  # a section added later, every setting at its default
    before = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    assert a.definition_hash() == before[:16]
    two = campaign_from_dict({**BASE, "interfaces": {"relax_top": 2}})
    assert two.definition_hash() != a.definition_hash()
    calc = {**BASE.get("calculator", {}), "perturb_seed": 1}
    seeded = campaign_from_dict({**BASE, "calculator": calc})
    assert seeded.definition_hash() != a.definition_hash()
    adaptive = campaign_from_dict({**BASE, "sampling": {"mode": "adaptive"}})
    assert adaptive.definition_hash() != a.definition_hash()


def test_example_configs_are_valid():
    from pathlib import Path

    for path in sorted(Path(__file__).parents[1].joinpath("configs").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if "accelerants" in data:
            load_campaign(path)
