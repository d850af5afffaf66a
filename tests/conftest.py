"""Shared fixtures."""

from __future__ import annotations

import os

import pytest

# Keep torch to the cores we have; tests run one MLIP process at a time.
os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run only with LPSFLOW_RUN_SLOW=1 (see README)."""
    if os.environ.get("LPSFLOW_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set LPSFLOW_RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
