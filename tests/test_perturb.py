"""Perturbed starts (calculator.perturb_seed): reproducible 1e-4 A displacements
that change job ids only when asked for, and a clear error where they do not apply."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from lpsflow.campaign import LATER_SETTINGS, load_campaign
from lpsflow.errors import ConfigError
from lpsflow.jobs.identity import content_key
from lpsflow.structures.perturb import perturbed


def _cell() -> Structure:
    s = Structure(
        Lattice.cubic(5.0), ["Li", "Li", "S"], [[0, 0, 0], [0.5, 0.5, 0], [0.25] * 3]
    )
    s.add_site_property("selective_dynamics", [[True] * 3, [False] * 3, [True] * 3])
    return s


def test_free_atoms_move_by_the_amplitude_fixed_ones_stay_and_seeds_differ():
    s = _cell()
    a = perturbed(s, seed=1)
    step = np.linalg.norm(a.cart_coords - s.cart_coords, axis=1)
    assert step == pytest.approx([1e-4, 0.0, 1e-4], abs=1e-9)
    assert np.allclose(perturbed(s, seed=1).cart_coords, a.cart_coords)  # reproducible
    b = perturbed(s, seed=2, amplitude=1e-3)
    assert np.linalg.norm(b.cart_coords[0] - s.cart_coords[0]) == pytest.approx(1e-3)
    assert not np.allclose(
        b.cart_coords - s.cart_coords, 10 * (a.cart_coords - s.cart_coords)
    )
    assert s.cart_coords[0] == pytest.approx([0, 0, 0])  # the input is untouched


def test_a_seed_is_a_new_calculation_and_no_seed_keeps_every_id(tmp_path):
    from lpsflow.calculators.mlip import MLIPRelaxMaker

    s = _cell()
    plain = MLIPRelaxMaker(force_field_name="CHGNet").make(s)
    seeded = MLIPRelaxMaker(force_field_name="CHGNet", perturb=(1, 1e-4)).make(s)
    assert '"perturb"' not in content_key(plain)  # left out while None: ids kept
    assert '"perturb"' in content_key(seeded)
    assert content_key(plain) != content_key(seeded)
    assert LATER_SETTINGS[("calculator", "perturb_seed")] is None  # same definition


def test_perturb_seed_is_for_the_mlip_backend(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: c\naccelerants: [Al2S3]\ncalculator: {backend: vasp}\n")
    camp = load_campaign(cfg)
    with pytest.raises(ConfigError, match="perturb_seed displaces the starts of MLIP"):
        camp.with_perturb_seed(1)
    assert load_campaign(cfg.with_name("c.yaml")).calculator.perturb_seed is None
    out = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "run", str(cfg), "--perturb-seed", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "perturb_seed" in out.stderr
