"""Bad input: one clear error line, exit status 2, nothing stored."""

import subprocess
import sys

import pytest

GOOD = """\
name: t
accelerants: [Al2S3]
store: {{path: {store}}}
{extra}
"""


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(tmp_path, extra="", accelerants="[Al2S3]"):
    text = GOOD.format(store=tmp_path / "store", extra=extra)
    text = text.replace("[Al2S3]", accelerants)
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def assert_one_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("accelerants", "needle"),
    [
        ("[Al2O3]", "not a sulfide"),
        ("[Zz2S3]", "unknown element"),
        ("[CS2]", "not a metal"),
    ],
)
def test_bad_accelerant(tmp_path, accelerants, needle):
    proc = run_cli("run", str(write(tmp_path, accelerants=accelerants)), cwd=tmp_path)
    assert_one_error(proc, needle)
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("x", ["0", "1", "1.5", "-0.2"])
def test_x_outside_unit_interval(tmp_path, x):
    proc = run_cli("run", str(write(tmp_path, f"doping: {{x: {x}}}")), cwd=tmp_path)
    assert_one_error(proc, "doping.x", "between 0 and 1")


def test_incommensurate_x(tmp_path):
    proc = run_cli("run", str(write(tmp_path, "doping: {x: 0.06}")), cwd=tmp_path)
    assert_one_error(proc, "nearest commensurate x")


def test_a_replaced_setting_says_what_replaced_it(tmp_path):
    proc = run_cli(
        "run", str(write(tmp_path, "doping: {hull_threshold: 25}")), cwd=tmp_path
    )
    assert_one_error(
        proc, "hull_threshold is no longer a setting", "synthesis_temperature"
    )
    assert not (tmp_path / "store").exists()


def test_unknown_key(tmp_path):
    proc = run_cli(
        "run", str(write(tmp_path, "calculator: {fmaxx: 0.1}")), cwd=tmp_path
    )
    assert_one_error(proc, "calculator.fmaxx: unknown key")


def test_malformed_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: t\naccelerants: [Al2S3\n")
    assert_one_error(run_cli("run", str(path), cwd=tmp_path), "not valid YAML")


def test_missing_campaign_file(tmp_path):
    assert_one_error(run_cli("run", "nope.yaml", cwd=tmp_path), "not found")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("this is not a crystal structure\n", "cannot read structure file"),
        (
            "Li2S\n1.0\n5 0 0\n0 5 0\n0 0 5\nLi S\n2 1\ndirect\n"
            "0 0 0\n0.01 0 0\n0.5 0.5 0.5\n",
            "broken",
        ),
        (
            "Li2S?\n1.0\n5 0 0\n0 5 0\n0 0 5\nNa S\n2 1\ndirect\n"
            "0 0 0\n0.5 0.5 0\n0.25 0.25 0.25\n",
            "does not match",
        ),
    ],
)
def test_broken_structure_file(tmp_path, content, needle):
    (tmp_path / "Li2S.vasp").write_text(content)
    path = write(tmp_path, "structures: {Li2S: Li2S.vasp}")
    assert_one_error(run_cli("run", str(path), cwd=tmp_path), needle)


def test_unreachable_mongodb(tmp_path):
    path = write(tmp_path)
    text = path.read_text().replace(
        f"store: {{path: {tmp_path / 'store'}}}",
        "store: {type: mongodb, uri: 'mongodb://127.0.0.1:9/', timeout_s: 0.5}",
    )
    path.write_text(text)
    assert_one_error(
        run_cli("run", str(path), cwd=tmp_path), "cannot reach the mongodb"
    )


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path):
    store = tmp_path / "store"
    for args in (
        ["results", "--store", str(store)],
        ["results", "quick", "--store", str(store)],
        ["report", "quick", "--store", str(store)],
        ["structures", "quick", "--store", str(store)],
        ["status", "quick", "--store", str(store)],
    ):
        proc = run_cli(*args, cwd=tmp_path)
        assert_one_error(proc, f"no results store at {store} (no such folder)")
    proc = run_cli("results", cwd=tmp_path)  # the default store of the folder
    assert_one_error(proc, "no results store at", "lpsflow-store")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_results_of_unknown_campaign(tmp_path):
    from lpsflow.store import embedded_stores

    store = tmp_path / "store"
    embedded_stores(store).connect().close()  # an empty store
    proc = run_cli("results", "--store", str(store), cwd=tmp_path)
    assert_one_error(proc, "no campaigns in")
    proc = run_cli("results", "nosuch", "--store", str(store), cwd=tmp_path)
    assert_one_error(proc, "no campaign named 'nosuch'")


@pytest.mark.parametrize(
    ("extra", "needles"),
    [  # a boundary plane / twist with no coincidence cell within the limits
        (
            "grain_boundaries: {core: {layers_a: 1, layers_b: 1, max_area: 60}}",
            ("grain_boundaries.core", "no CSL/coincidence", "max_area"),
        ),
        (
            "grain_boundaries: {homo: {layers_a: 1, layers_b: 1, twist: 37}}",
            ("grain_boundaries.homo", "twist 37"),
        ),
        # a hop request no Li pair satisfies
        ("neb: {max_distance: 2.0}", ("neb (bulk path", "no Li-Li pair within 2 A")),
        (
            "neb: {paths: [gb], window: 0.1}",
            ("neb (gb path", "within 0.1 A of a boundary", "neb.window"),
        ),
    ],
)
def test_no_csl_or_no_hop_is_one_error_before_anything_runs(tmp_path, extra, needles):
    proc = run_cli("run", str(write(tmp_path, extra)), cwd=tmp_path)
    assert_one_error(proc, *needles)
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("grain_boundaries: {kinds: [homo, twin]}", "grain_boundaries.kinds"),
        ("grain_boundaries: {kinds: [homo, homo]}", "listed twice"),
        (
            "grain_boundaries: {hetero: {layers_a: 1, layers_b: 1, miller_b: [0,0,0]}}",
            "not a plane",
        ),
        ("neb: {n_images: 0}", "neb.n_images"),
        ("neb: {paths: [across]}", "neb.paths"),
    ],
)
def test_bad_gb_and_neb_settings(tmp_path, extra, needle):
    proc = run_cli("validate", str(write(tmp_path, extra)), cwd=tmp_path)
    assert_one_error(proc, needle)


def test_usage_error_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("LPSFLOW_LAUNCHPAD", raising=False)
    proc = run_cli("rerun", "quick", "--failed", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Missing option '--launchpad'" in proc.stderr
    assert "Traceback" not in proc.stderr and "╭" not in proc.stderr


@pytest.mark.parametrize(
    ("raise_", "status"),
    [("exit3", 3), ("interrupt", 130), ("terminate", 143), ("ok", 0)],
)
def test_exit_status_reaches_the_shell(monkeypatch, raise_, status):
    """A command's typer.Exit (failed jobs: 1), Ctrl-C and SIGTERM set the status."""
    import signal

    import typer

    from lpsflow.cli import application as cli

    @cli.app.command("boom")
    def boom() -> None:
        if raise_ == "exit3":
            raise typer.Exit(3)
        if raise_ == "interrupt":
            raise KeyboardInterrupt
        if raise_ == "terminate":  # as `lpsflow run` does
            cli.stop_on_sigterm()
            try:
                signal.raise_signal(signal.SIGTERM)
            except cli.Terminated:
                raise typer.Exit(143) from None

    monkeypatch.setattr(sys, "argv", ["lpsflow", "boom"])
    previous = signal.getsignal(signal.SIGTERM)
    try:
        if status:
            with pytest.raises(SystemExit) as exc:
                cli.main()
            assert exc.value.code == status
        else:
            cli.main()
    finally:
        cli.app.registered_commands.pop()
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize(
    ("device", "needle"),
    [
        ("gpu", "not a torch device"),
        ("cuda", "calculator.device is 'cuda' but torch"),
        ("mps", "no Apple GPU"),
    ],
)
def test_device_torch_cannot_use_is_one_error_before_anything_runs(
    tmp_path, device, needle
):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has an Apple GPU")
    extra = f"calculator: {{device: {device}}}"
    proc = run_cli("run", str(write(tmp_path, extra)), cwd=tmp_path)
    assert_one_error(proc, needle)
    assert not (tmp_path / "store").exists()


def test_validate_only_notes_a_device_this_machine_lacks(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = run_cli("validate", str(write(tmp_path, "calculator: {device: cuda}")),
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "note: calculator.device is 'cuda'" in proc.stderr
    assert "fine if the jobs run on nodes that have it" in proc.stderr
