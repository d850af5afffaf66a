"""Shared fixtures."""

from __future__ import annotations

import os

# Keep torch to the cores we have; tests run one MLIP process at a time.
os.environ.setdefault("OMP_NUM_THREADS", "2")
