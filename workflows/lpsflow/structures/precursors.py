"""Starting structures for the precursors that ship without an open coordinate file.

Two phases are built here from published numbers written in this module:

* P2S5, as the molecular crystal of P4S10 cages (triclinic P-1, Z = 2);
* alpha'-Ga2S3 (monoclinic Cc, a wurtzite superstructure with ordered Ga vacancies).

``python -m lpsflow.structures.make_precursors`` builds both, pre-relaxes them with
CHGNet (:func:`relax_with_chgnet`) and writes the bundled CIF files; see
``data/SOURCES.md`` for what each file holds.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation

if TYPE_CHECKING:
    from collections.abc import Sequence

#: P4S10 cell (a, b, c in A; alpha, beta, gamma in deg), P-1, Z = 2:
#: Vos & Wiebenga, Acta Cryst. 8, 217 (1955) (density 2.115 g/cm^3; measured 2.09).
#: No copy of the paper was at hand to re-check these values against.
P4S10_CELL: tuple[float, float, float, float, float, float] = (
    9.07,
    9.19,
    9.18,
    92.4,
    101.2,
    110.5,
)
#: P-S(bridging) and P=S(terminal) bond lengths of the P4S10 cage (A).
P4S10_BOND_BRIDGING = 2.08
P4S10_BOND_TERMINAL = 1.91

#: Orientation (rotation vector, rad) and centre (fractional) of the first molecule.
#: No published coordinates were found, so the rigid Td molecule was placed by a
#: packing search in the published cell: minimum of a Lennard-Jones pair sum
#: (r_min 3.6 A) over orientation and centre, the second molecule its inversion image.
_P4S10_ROTVEC = (0.1496, -0.8027, 2.3014)
_P4S10_CENTRE = (0.2149, 0.3313, 0.1238)

#: alpha'-Ga2S3 cell (a, b, c in A; beta in deg), Cc, Z = 4, T = 294 K: C. Y. Jones,
#: J. C. Bryan et al., "Refinement of the crystal structure of digallium trisulfide",
#: Z. Kristallogr. NCS 216 (2001).
GA2S3_CELL: tuple[float, float, float, float] = (11.107, 6.395, 7.021, 121.17)

#: Asymmetric unit of alpha'-Ga2S3 (all 4a of Cc, standard setting x,-y,z+1/2).
#: Ideal wurtzite (u = 3/8) expressed in the Cc cell, whose vectors are A = 3 a_h,
#: B = a_h + 2 b_h, C = c_h - a_h of the hexagonal subcell; of its 12 tetrahedral
#: sites one 4a orbit is empty. This is the only vacancy ordering of that supercell
#: with symmetry Cc and a 10-atom primitive cell; it leaves S1 two-coordinated and
#: S2, S3 three-coordinated (no S with one or four Ga). Published refined Wyckoff
#: parameters were not available: relax before use.
GA2S3_SITES: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("Ga", (7 / 24, 11 / 12, 3 / 8)),
    ("Ga", (11 / 24, 5 / 12, 3 / 8)),
    ("S", (0.0, 5 / 12, 0.0)),
    ("S", (1 / 6, 11 / 12, 0.0)),
    ("S", (1 / 3, 5 / 12, 0.0)),
)


def p4s10_molecule(
    bridging: float = P4S10_BOND_BRIDGING, terminal: float = P4S10_BOND_TERMINAL
) -> tuple[list[str], np.ndarray]:
    """Ideal Td P4S10 cage centred at the origin: species and Cartesian coordinates.

    Adamantane-like: P on the body diagonals, the six bridging S on the Cartesian
    axes (all cage angles tetrahedral), one terminal S outward from each P.
    """
    corners = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    p = bridging / np.sqrt(3.0)
    phosphorus = p * corners
    bridge = 2.0 * p * np.vstack([np.eye(3), -np.eye(3)])
    term = phosphorus + terminal * corners / np.sqrt(3.0)
    return ["P"] * 4 + ["S"] * 10, np.vstack([phosphorus, bridge, term])


def build_p4s10(
    rotvec: Sequence[float] = _P4S10_ROTVEC,
    centre: Sequence[float] = _P4S10_CENTRE,
) -> Structure:
    """P2S5 as the P4S10 molecular crystal (P-1, 2 molecules, 28 atoms).

    Published cell of Vos & Wiebenga (1955) with two ideal Td cages (P-S 2.08 A,
    P=S 1.91 A) related by the inversion centre at the origin. ``rotvec`` and
    ``centre`` place the first cage (defaults: the packing described at
    ``_P4S10_ROTVEC``; shortest intermolecular contact 3.35 A).
    """
    lattice = Lattice.from_parameters(*P4S10_CELL)
    species, cart = p4s10_molecule()
    rot = Rotation.from_rotvec(np.asarray(rotvec, float)).as_matrix()
    cart = cart @ rot.T + np.asarray(centre, float) @ lattice.matrix
    frac = lattice.get_fractional_coords(cart)
    return Structure.from_spacegroup("P-1", lattice, species, frac)


def build_ga2s3() -> Structure:
    """alpha'-Ga2S3 in its conventional Cc cell (Ga8S12, 20 atoms).

    Published cell of Jones et al. (2001) holding the ordered-vacancy wurtzite
    superstructure of :data:`GA2S3_SITES`.
    """
    a, b, c, beta = GA2S3_CELL
    species = [el for el, _ in GA2S3_SITES]
    coords = [xyz for _, xyz in GA2S3_SITES]
    return Structure.from_spacegroup(
        "Cc", Lattice.monoclinic(a, b, c, beta), species, coords
    )


def relax_with_chgnet(
    structure: Structure,
    fmax: float = 0.02,
    steps: int = 2000,
    relax_cell: bool = True,
    keep_symmetry: bool = True,
) -> Structure:
    """Relax with CHGNet (ASE FIRE; cell through ``FrechetCellFilter``).

    ``keep_symmetry`` holds the space group found at symprec 0.01 (ASE
    ``FixSymmetry``) so the written cell keeps its setting. Used only by
    :mod:`lpsflow.structures.make_precursors`.
    """
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = CHGNetCalculator()
    if keep_symmetry:
        atoms.set_constraint(FixSymmetry(atoms, symprec=0.01))
    target = FrechetCellFilter(atoms) if relax_cell else atoms
    with warnings.catch_warnings():  # CHGNet drops the constraint in its own copy
        warnings.filterwarnings("ignore", message="Only FixAtoms and FixCartesian")
        converged = FIRE(target, logfile=None).run(fmax=fmax, steps=steps)
    if not converged:
        warnings.warn(f"CHGNet relaxation not converged in {steps} steps", stacklevel=2)
    atoms.set_constraint()
    return AseAtomsAdaptor.get_structure(atoms)
