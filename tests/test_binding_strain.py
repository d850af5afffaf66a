"""E_bind against the free film: the hetero film's strain energy per area."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from lpsflow import roles
from lpsflow.descriptors.base import RowContext
from lpsflow.descriptors.binding.read import columns


def _film(n_copies: int, energy: float) -> dict:
    """A forcefield task document of ``n_copies`` Li7P3S11 formula units."""
    species = ["Li"] * 7 + ["P"] * 3 + ["S"] * 11
    coords = [[0.04 * i, 0.03 * i, 0.02 * i] for i in range(21 * n_copies)]
    cell = Structure(Lattice.cubic(20), species * n_copies, coords)
    return {
        "structure": cell.as_dict(),
        "output": {"energy": energy},
        "is_force_converged": True,
        "forcefield_name": "CHGNet",
    }


def _series(kind: str, label: str, area: float, films: dict[int, tuple]) -> dict:
    return {
        "kind": kind, "label": label, "area": area, "von_mises_strain": 0.04,
        "e_bind": films[max(films)][2], "n_summary": max(films),
        "points": [
            {"n_layers": n, "e_bind": e_bind, "converged": True, "e_film": e,
             "jobs": {"film": job}}
            for n, (job, e, e_bind) in films.items()
        ],
    }  # fmt: skip


def test_strain_energy_and_binding_against_the_free_film():
    # homo: free films of 1 and 2 layers (1 and 2 formula units here), in 150 A^2
    # hetero: two copies of each, strained into 300 A^2, 0.6 / 0.3 eV higher
    hom = _series(
        "homo",
        "Li7P3S11",
        150.0,
        {1: ("f1", -100.0, -0.003), 2: ("f2", -200.0, -0.008)},
    )
    het = _series("hetero", "Al2S3", 300.0, {1: ("h1", -199.4, -0.006),
                                             2: ("h2", -399.7, -0.007)})  # fmt: skip
    outputs = {
        "f1": _film(1, -100.0), "f2": _film(2, -200.0),
        "h1": _film(2, -199.4), "h2": _film(4, -399.7),
        "het": het, "hom": hom,
    }  # fmt: skip
    jobs = {
        roles.binding("hetero", "Al2S3"): "het",
        roles.binding("homo", "Li7P3S11"): "hom",
    }
    row = columns(RowContext("Al2S3", "Li-site", jobs, outputs, {}, "mlip:CHGNet"))
    assert row["film_strain_energy_by_n"] == pytest.approx({1: 0.6 / 300, 2: 0.3 / 300})
    assert row["E_bind_hetero_free_by_n"] == pytest.approx(
        {1: -0.006 + 0.002, 2: -0.007 + 0.001}
    )
    assert row["E_bind_hetero_free"] == pytest.approx(-0.006)
    assert row["film_strain_energy"] == pytest.approx(0.001)
    assert row["dE_bind_free"] == pytest.approx(-0.006 + 0.008)
    # a hetero film that is not whole copies of the free film: no strain energy
    outputs["h2"] = _film(3, -300.0)
    outputs["h2"]["structure"]["sites"].pop()
    row = columns(RowContext("Al2S3", "Li-site", jobs, outputs, {}, "mlip:CHGNet"))
    assert set(row["film_strain_energy_by_n"]) == {1}


def test_films_from_different_starts_and_a_verdict_the_strain_decides():
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import UNDECIDED
    from lpsflow.descriptors.binding.read import stronger_on_core

    hom = _series("homo", "Li7P3S11", 150.0, {1: ("f1", -100.0, -0.003)})
    het = _series("hetero", "Al2S3", 300.0, {1: ("h1", -199.4, -0.006)})
    outputs = {"f1": _film(1, -100.0), "h1": _film(2, -199.4), "het": het, "hom": hom}
    jobs = {
        roles.binding("hetero", "Al2S3"): "het",
        roles.binding("homo", "Li7P3S11"): "hom",
    }
    het["points"][0]["film_from"] = "relaxed_interface"
    hom["points"][0]["film_from"] = "screened_cell"
    row = columns(RowContext("Al2S3", "Li-site", jobs, outputs, {}, "mlip:CHGNet"))
    assert row["film_strain_energy_by_n"] is None  # not the strain alone
    # hetero binds 0.5 meV/A^2 more strongly, but its film costs 2: undecided
    row = {"E_bind_hetero": -0.0035, "E_bind_homo": -0.003, "dE_bind_free": 0.0015}
    value, _, status, reason = stronger_on_core(row, RankingConfig())
    assert value == pytest.approx(-0.0005) and status == UNDECIDED
    assert "strain energy decides" in reason
    row["dE_bind_free"] = -0.0001
    # the same sign against the free film: decided where the spreads allow
    assert stronger_on_core(row, RankingConfig())[2] == UNDECIDED  # 1 start each
    assert stronger_on_core(row, RankingConfig(binding_noise=0.0))[2] == "pass"
