"""Reproducible tiny displacements of a starting structure (verdicts vs round-off).

A campaign run with ``calculator.perturb_seed`` starts every MLIP relaxation from
its structure with each free atom moved by ``amplitude`` (1e-4 A by default) in a
random direction: the size of round-off, far below any tolerance. The direction
comes from the seed and the structure's own content, so a job gives the same
start on every machine and in every worker, and two seeds give different starts.
``benchmarks/verdicts.py`` runs a campaign under several seeds and checks that
every decided verdict stays the same.
"""

from __future__ import annotations

import hashlib

import numpy as np
from pymatgen.core import Structure


def perturbed(structure: Structure, seed: int, amplitude: float = 1e-4) -> Structure:
    """A copy with every free atom displaced by ``amplitude`` (A), seeded.

    Atoms fixed by ``selective_dynamics`` (all three flags false) stay.
    """
    digest = hashlib.sha256(
        np.round(structure.cart_coords, 6).tobytes()
        + np.round(structure.lattice.matrix, 6).tobytes()
        + structure.formula.encode()
    ).digest()
    rng = np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])
    step = rng.normal(size=(len(structure), 3))
    step *= amplitude / np.linalg.norm(step, axis=1, keepdims=True)
    flags = structure.site_properties.get("selective_dynamics")
    if flags is not None:
        step[[not any(f) for f in flags]] = 0.0
    out = structure.copy()
    for i, d in enumerate(step):
        out.translate_sites([i], d, frac_coords=False, to_unit_cell=False)
    return out
