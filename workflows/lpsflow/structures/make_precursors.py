"""Build, pre-relax, check and write the P4S10 and Ga2S3 starting structures.

Run ``python -m lpsflow.structures.make_precursors [--out DIR] [--steps N]``. Each
phase is built from published numbers (:mod:`lpsflow.structures.precursors`), relaxed
with CHGNet (FIRE, ``FrechetCellFilter``, symmetry held, fmax 0.02 eV/A) and checked
(space group, shortest distances, bond lengths, density). The relaxed structure is
written unless its volume grew by more than :data:`MAX_EXPANSION`, as it does for a
molecular crystal under a potential without dispersion; then the unrelaxed
published-geometry structure is written instead. Record the outcome in SOURCES.md.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pymatgen.core import Structure
from pymatgen.io.cif import CifWriter
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from lpsflow.structures.precursors import build_ga2s3, build_p4s10, relax_with_chgnet

#: Largest relative volume increase on relaxation for which the relaxed cell is kept.
MAX_EXPANSION = 0.15

#: (file name, builder, bonded pairs to report with their cutoff in A).
PHASES: dict[str, tuple[str, Callable[[], Structure], dict[tuple[str, str], float]]] = {
    "P2S5": ("P4S10_P-1.cif", build_p4s10, {("P", "S"): 2.3, ("S", "S"): 2.3}),
    "Ga2S3": ("Ga2S3_Cc.cif", build_ga2s3, {("Ga", "S"): 2.6}),
}


def space_groups(structure: Structure) -> str:
    """Space-group symbols at symprec 0.01 and 0.1."""
    return " / ".join(
        SpacegroupAnalyzer(structure, symprec=p).get_space_group_symbol()
        for p in (0.01, 0.1)
    )


def shortest_distances(structure: Structure) -> dict[str, float]:
    """Shortest distance (A) for every pair of elements."""
    dmat = structure.distance_matrix.copy()
    np.fill_diagonal(dmat, np.inf)
    symbols = np.array([s.specie.symbol for s in structure])
    elements = sorted(set(symbols))
    out = {}
    for a, b in itertools.combinations_with_replacement(elements, 2):
        sub = dmat[np.ix_(symbols == a, symbols == b)]
        out[f"{a}-{b}"] = float(sub.min()) if sub.size else float("nan")
    return out


def bond_lengths(structure: Structure, a: str, b: str, cutoff: float) -> list[float]:
    """All a-b distances shorter than ``cutoff`` (each bond once for a != b)."""
    out = []
    for i, site in enumerate(structure):
        if site.specie.symbol != a:
            continue
        for nb in structure.get_neighbors(site, cutoff):
            if nb.specie.symbol == b and (a != b or nb.index > i):
                out.append(float(nb.nn_distance))
    return sorted(out)


def max_force(structure: Structure) -> float:
    """Largest CHGNet force component (eV/A) in a single point."""
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = CHGNetCalculator()
    return float(np.abs(atoms.get_forces()).max())


def report(
    label: str, structure: Structure, pairs: dict[tuple[str, str], float]
) -> None:
    """Print the checks for one structure."""
    lat = structure.lattice
    print(f"  {label}: {structure.composition.formula} ({len(structure)} sites)")
    print(
        "    cell a b c = {:.3f} {:.3f} {:.3f} A, angles = {:.2f} {:.2f} {:.2f} deg, "
        "V = {:.1f} A^3, density {:.3f} g/cm^3".format(
            *lat.abc, *lat.angles, lat.volume, structure.density
        )
    )
    print(f"    space group (symprec 0.01 / 0.1): {space_groups(structure)}")
    short = ", ".join(f"{k} {v:.2f}" for k, v in shortest_distances(structure).items())
    print(f"    shortest distances (A): {short}")
    for (a, b), cut in pairs.items():
        d = bond_lengths(structure, a, b, cut)
        text = f"{len(d)} bonds, {min(d):.3f}-{max(d):.3f} A" if d else "none"
        print(f"    {a}-{b} < {cut} A: {text}")


def make(name: str, out_dir: Path, steps: int) -> Path:
    """Build, relax, check and write one phase; return the file written."""
    filename, builder, pairs = PHASES[name]
    print(f"{name} -> {filename}")
    start = builder()
    report("published geometry", start, pairs)
    relaxed = relax_with_chgnet(start, fmax=0.02, steps=steps)
    report("CHGNet-relaxed", relaxed, pairs)
    expansion = relaxed.volume / start.volume - 1.0
    print(f"    volume change on relaxation: {100 * expansion:+.1f} %")
    if expansion > MAX_EXPANSION:
        print(f"    > {100 * MAX_EXPANSION:.0f} %: writing the UNRELAXED structure")
        chosen = start
    else:
        print("    writing the relaxed structure")
        chosen = relaxed
    print(f"    CHGNet max force on the file's structure: {max_force(chosen):.3f} eV/A")
    path = out_dir / filename
    CifWriter(chosen).write_file(path)
    return path


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "data",
        help="folder for the CIF files (default: the package data folder)",
    )
    parser.add_argument("--steps", type=int, default=3000, help="max FIRE steps")
    parser.add_argument(
        "--only", choices=sorted(PHASES), action="append", help="phase(s) to make"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or list(PHASES):
        print(f"wrote {make(name, args.out, args.steps)}")


if __name__ == "__main__":
    main()
