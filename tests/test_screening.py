"""Screening dopant arrangements by single points until the lowest holds."""

from __future__ import annotations

import pytest
from pymatgen.core import Structure

from lpsflow.jobs import screening
from lpsflow.structures.accelerant import parse_accelerant
from lpsflow.structures.arrangement_ranking import ranked_arrangements
from lpsflow.structures.library import data_path

AL = parse_accelerant("Al2S3")


@pytest.fixture(scope="module")
def pool() -> tuple[Structure, list]:
    host = Structure.from_file(data_path("Li3PS4_beta.cif"))
    arrs, _ = ranked_arrangements(host, AL, AL.scheme("Li-site"), 1, keep=40)
    return host, arrs


def _stub(monkeypatch, values):
    """single_points returns ``values`` in the order cells are screened."""
    seen = []

    def fake(cells, model, device):
        out = values[len(seen) : len(seen) + len(cells)]
        seen.extend(cells)
        return list(out)

    monkeypatch.setattr(screening, "single_points", fake)
    return seen


def _screen(host, arrs, **kwargs):
    return screening.screen_arrangements.original(
        host, (1, 1, 1), "Al2S3", "Al", "Li-site", 0.25,
        [a.as_dict() for a in arrs], len(arrs), 2, **kwargs,
    )  # fmt: skip


def test_screening_stops_once_the_lowest_holds(monkeypatch, pool):
    host, arrs = pool
    # the two lowest (keep = 2, the ones relaxed): batch 1 #4, #5; batch 2 #6, #7;
    # batch 3 replaces #6 by #11; batches 4 and 5 change nothing
    values = [5, 4, 3, 2, 1, 0.5, -1, 0.4, 1, 1, 1, -0.5] + [1.0] * 28
    seen = _stub(monkeypatch, values)
    doc = _screen(host, arrs, batch=5, patience=2)
    assert len(seen) == doc.n_screened == 25 and doc.n_offered == 40
    assert doc.stable is True and doc.lowest_found_at == 12
    assert [c.energy for c in doc.candidates[:2]] == [-1, -0.5]
    assert doc.candidates[0].arrangement == arrs[6] and len(doc.selected) == 2


def test_screening_says_when_the_pool_ran_out(monkeypatch, pool):
    host, arrs = pool
    values = list(range(40, 0, -1))  # every batch finds a new lowest
    _stub(monkeypatch, values)
    doc = _screen(host, arrs, batch=12, patience=2)
    assert doc.n_screened == 40 and doc.stable is False and doc.lowest_found_at == 40


def test_one_batch_without_patience(monkeypatch, pool):
    host, arrs = pool
    seen = _stub(monkeypatch, [float(i) for i in range(12)])
    doc = _screen(host, arrs[:12])
    assert len(seen) == doc.n_screened == 12
    assert doc.stable is None and doc.lowest_found_at is None
