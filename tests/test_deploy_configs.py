"""The deploy/ templates load into the objects FireWorks, jobflow and atomate2 build.

Nothing here connects to a server, except ``test_mongodb_round_trip``, which runs only
when ``LPSFLOW_TEST_MONGODB_URI`` names a real MongoDB server (see deploy/README.md).
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
FIREWORKS = DEPLOY / "fireworks"
QADAPTERS = ["my_qadapter_slurm.yaml", "my_qadapter_pbs.yaml"]
YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"})
TEXT_FILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file())

#: Example values for the placeholders that must be numbers or times.
EXAMPLES = {"<ntasks>": "32", "<cores_per_node>": "32", "<hh:mm:ss>": "01:00:00"}
PLACEHOLDER = re.compile(r"<[A-Za-z_][\w:-]*>")


def filled(path: Path) -> dict:
    """The template with its ``<...>`` placeholders replaced, parsed safely."""
    text = PLACEHOLDER.sub(
        lambda m: EXAMPLES.get(m.group(0), f"x{m.group(0)[1:-1]}"), path.read_text()
    )
    return yaml.safe_load(text)


def test_deploy_has_the_templates():
    names = {p.relative_to(DEPLOY).as_posix() for p in TEXT_FILES}
    assert {
        "docker-compose.yml",
        "jobflow.yaml",
        "atomate2.yaml",
        "env.example",
        "README.md",
        "fireworks/my_launchpad.yaml",
        "fireworks/my_fworker.yaml",
        "fireworks/FW_config.yaml",
        *(f"fireworks/{q}" for q in QADAPTERS),
    } <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_yaml_parses_safely(path):
    assert isinstance(yaml.safe_load(path.read_text()), dict)


def test_launchpad_template_builds_a_launchpad():
    from fireworks import LaunchPad

    spec = filled(FIREWORKS / "my_launchpad.yaml")
    assert spec["mongoclient_kwargs"] == {}  # lpsflow adds its timeout to this dict
    spec["mongoclient_kwargs"] = {"connect": False}  # build only, contact nothing
    lp = LaunchPad.from_dict(spec)
    try:
        assert (lp.host, lp.port, lp.name) == ("xhost", 27017, "lpsflow")
        assert (lp.username, lp.password) == ("xuser", "xpassword")
        assert lp.authsource == "lpsflow"
        assert lp.uri_mode is False
    finally:
        lp.connection.close()


def test_launchpad_uri_mode_alternative_builds_a_launchpad():
    from fireworks import LaunchPad

    text = (FIREWORKS / "my_launchpad.yaml").read_text()
    lines = re.findall(r"^# ((?:host|uri_mode|name): .*)$", text, flags=re.M)
    spec = yaml.safe_load(PLACEHOLDER.sub("x", "\n".join(lines)))
    assert spec["host"].startswith("mongodb://")
    lp = LaunchPad.from_dict({**spec, "mongoclient_kwargs": {"connect": False}})
    try:
        assert lp.uri_mode is True
        assert lp.name == "lpsflow"
    finally:
        lp.connection.close()


@pytest.mark.parametrize("name", QADAPTERS)
def test_qadapter_renders_a_queue_script(name, tmp_path):
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    spec = filled(FIREWORKS / name)
    assert spec["_fw_name"] == CommonAdapter._fw_name  # how qlaunch finds the class
    qa = CommonAdapter.from_dict(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        script = qa.get_script_str(str(tmp_path))
    unknown = [str(w.message) for w in caught if "not present in template" in str(w)]
    assert not unknown, unknown
    assert qa["rocket_launch"].startswith("rlaunch -c ")
    assert qa["rocket_launch"] in script.splitlines()
    for line in qa["pre_rocket"].strip().splitlines():
        assert line in script.splitlines()
    assert "OMP_NUM_THREADS" in qa["pre_rocket"]
    assert f"cd {tmp_path}" in script
    directive = {"SLURM": "#SBATCH", "PBS": "#PBS"}[qa.q_type]
    assert f"{directive} --account=" in script or f"{directive} -A " in script
    assert "$$" not in script


def test_fworker_template_builds_an_fworker():
    from fireworks import FWorker

    fworker = FWorker.from_dict(filled(FIREWORKS / "my_fworker.yaml"))
    assert fworker.name
    assert "spec._category" not in fworker.query  # category '': any Firework
    assert fworker.env == {}


def test_fw_config_keys_are_fireworks_settings():
    import fireworks.fw_config as fw_config

    spec = filled(FIREWORKS / "FW_config.yaml")
    unknown = [k for k in spec if not hasattr(fw_config, k)]
    assert not unknown  # FireWorks refuses a FW_config.yaml with unknown keys
    for key in ("LAUNCHPAD_LOC", "FWORKER_LOC", "QUEUEADAPTER_LOC"):
        assert Path(spec[key]).is_absolute()
    assert spec["RUN_EXPIRATION_SECS"] > spec["PING_TIME_SECS"]


def test_atomate2_settings_are_real_fields(monkeypatch):
    from atomate2.settings import Atomate2Settings

    for var in [v for v in os.environ if v.upper().startswith("ATOMATE2_")]:
        monkeypatch.delenv(var)  # environment variables would win over the file
    path = DEPLOY / "atomate2.yaml"
    spec = yaml.safe_load(path.read_text())
    assert set(spec) <= set(Atomate2Settings.model_fields)
    settings = Atomate2Settings(CONFIG_FILE=str(path))
    for key, value in spec.items():
        assert getattr(settings, key) == value, key
    assert settings.VASP_CMD.split()[-1] == "vasp_std"


def test_jobflow_yaml_builds_the_store_lpsflow_reads(tmp_path):
    from jobflow import JobStore
    from maggma.stores import GridFSStore, MongoStore

    from lpsflow.store import jobflow_yaml_stores, mongodb_stores

    spec = filled(DEPLOY / "jobflow.yaml")
    store = JobStore.from_dict_spec(spec["JOB_STORE"])  # built, not connected
    assert isinstance(store.docs_store, MongoStore)
    assert isinstance(store.additional_stores["data"], GridFSStore)

    path = tmp_path / "jobflow.yaml"
    path.write_text(yaml.safe_dump(spec))
    from_yaml = jobflow_yaml_stores(path)
    # workers (jobflow.yaml) and lpsflow (store.type mongodb) use the same collections
    direct = mongodb_stores("mongodb://xhost:27017/", "lpsflow")
    data = "data"
    for a, b in [
        (from_yaml.jobs.docs_store, direct.jobs.docs_store),
        (from_yaml.jobs.additional_stores[data], direct.jobs.additional_stores[data]),
        (from_yaml.campaigns, direct.campaigns),
    ]:
        assert (a.database, a.collection_name) == (b.database, b.collection_name)


def test_env_example_is_a_plain_env_file():
    text = (DEPLOY / "env.example").read_text()
    env = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
            env[key] = value.strip("'\"")
    assert {
        "LPSFLOW_MONGODB_URI",
        "ATOMATE2_CONFIG_FILE",
        "JOBFLOW_CONFIG_FILE",
        "FW_CONFIG_FILE",
        "PMG_VASP_PSP_DIR",
    } <= set(env)
    for key, template in [
        ("ATOMATE2_CONFIG_FILE", "atomate2.yaml"),
        ("JOBFLOW_CONFIG_FILE", "jobflow.yaml"),
        ("FW_CONFIG_FILE", "FW_config.yaml"),
    ]:
        assert env[key].endswith("/" + template)


def test_readme_names_every_template():
    readme = (DEPLOY / "README.md").read_text()
    for path in TEXT_FILES:
        if path.name != "README.md":
            assert path.name in readme, path.name


# --- no secrets in the templates ---------------------------------------------------

#: ``password: x`` / ``PASSWORD=x`` / ``pwd: x`` style assignments.
SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|token)[\w.-]*\s*[:=]\s*(\S+)"
)
#: Credentials inside a connection string: scheme://user:PASSWORD@host.
URI_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@]+)@")
#: What may stand where a password would: a placeholder or a reference to one.
NOT_A_SECRET = re.compile(
    r"""["']?(<[^>]*>|\$[({]\S*|\$\w+|process\.env\.\w+|\*\*\*|\.\.\.|null|~)?["']?[,;]?"""
)


def secrets_in(text: str) -> list[str]:
    """Values in ``text`` that look like real passwords."""
    found = [m.group(1) for m in SECRET_ASSIGNMENT.finditer(text)]
    found += [m.group(1) for m in URI_PASSWORD.finditer(text)]
    return [v for v in found if not NOT_A_SECRET.fullmatch(v)]


def test_secret_check_catches_real_passwords():
    assert secrets_in("password: hunter2")
    assert secrets_in("MONGO_ROOT_PASSWORD=s3cr3t")
    assert secrets_in("uri: mongodb://lpsflow:s3cr3t@db:27017/lpsflow")
    assert not secrets_in("password: <password>\npwd: process.env.X,")
    assert not secrets_in("uri: mongodb://<user>:<password>@<host>:27017/lpsflow")


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: p.name)
def test_templates_hold_no_secrets(path):
    assert secrets_in(path.read_text()) == []


# --- a real MongoDB server (optional) ----------------------------------------------

TEST_URI = os.environ.get("LPSFLOW_TEST_MONGODB_URI")


@pytest.mark.skipif(
    not TEST_URI,
    reason="set LPSFLOW_TEST_MONGODB_URI to test against a real MongoDB server",
)
def test_mongodb_round_trip():
    from lpsflow.store import mongodb_stores

    database = os.environ.get("LPSFLOW_TEST_MONGODB_DATABASE", "lpsflow")
    stores = mongodb_stores(TEST_URI, database, timeout_s=10).connect()
    key = f"lpsflow-deploy-test-{uuid.uuid4()}"
    data = stores.jobs.additional_stores["data"]
    try:
        stores.campaigns.update([{"campaign": key, "value": 1}], key="campaign")
        assert stores.campaigns.query_one({"campaign": key})["value"] == 1
        # a job document whose large field goes to GridFS, as workers write them
        output = {"energy": -1.5, "trajectory": list(range(2000))}
        stores.jobs.update(
            {"uuid": key, "index": 1, "output": output},
            save={"data": ["trajectory"]},
        )
        assert stores.jobs.get_output(key, load=True) == output
        assert data.count({"job_uuid": key}) == 1
    finally:
        stores.jobs.remove_docs({"uuid": key})
        data.remove_docs({"job_uuid": key})
        stores.campaigns.remove_docs({"campaign": key})
        try:
            assert stores.jobs.count({"uuid": key}) == 0
            assert data.count({"job_uuid": key}) == 0
            assert stores.campaigns.count({"campaign": key}) == 0
        finally:
            stores.close()
