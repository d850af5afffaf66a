"""Film and substrate references of an interface cell, and binding energies.

E_bind = (E_interface - E_film - E_substrate) / A, with the references cut from the
interface cell or relaxed alone and paired site by site with it.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from lpsflow.errors import StructureError
from lpsflow.structures.lattice_match import in_plane_vectors
from lpsflow.structures.slab_geometry import fixed_indices, in_plane_area

#: Tolerance (A) for "same in-plane lattice" between an interface and a reference.
LATTICE_TOL = 1e-3


#: Largest move (A) of an atom that :func:`pair_sites` accepts when it has to pair
#: atoms given in an unknown order by distance alone.
MAX_RELAX_MOVE = 3.0


#: :func:`pair_sites` keeps a relaxation's own order if its atoms moved in total at
#: most this many times the least total move of any pairing.
PAIRING_SLACK = 1.5


# ------------------------------------------------------------------ energies
def strained_references(interface: Structure) -> tuple[Structure, Structure]:
    """(film, substrate) cut from ``interface``: same cell, same fixed atoms.

    These are the E_film and E_substrate references of :func:`binding_energy`: each
    in the interface's strained in-plane cell and vacuum. Relax them (cell fixed)
    exactly as the interface is relaxed. Works on any structure that carries the
    ``interface_label`` site property (it survives ``AseAtomsAdaptor`` round trips,
    so relaxed outputs qualify).
    """
    labels = interface.site_properties["interface_label"]
    parts = []
    for tag in ("film", "substrate"):
        idx = [i for i, t in enumerate(labels) if t == tag]
        if not idx:
            raise StructureError(f"interface has no {tag} atoms")
        parts.append(Structure.from_sites([interface[i] for i in idx]))
    return parts[0], parts[1]


def relaxed_references(
    screened: Structure, relaxed: Structure
) -> tuple[Structure, Structure]:
    """(film, substrate) cut from the relaxed interface, labelled as ``screened``.

    ``relaxed`` is the fixed-cell relaxation of ``screened`` (the cell the screen
    picked, which carries ``interface_label``, ``layer`` and ``selective_dynamics``).
    Its atoms are paired with the screened ones (:func:`pair_sites`), so the relaxed
    positions get the screened cell's labels and fixed atoms whatever the backend
    kept. Raises :class:`StructureError` if the cells, compositions or pairing
    disagree.
    """
    if len(relaxed) != len(screened) or relaxed.composition != screened.composition:
        raise StructureError(
            f"relaxed interface ({relaxed.composition.formula}) is not the screened "
            f"cell ({screened.composition.formula})"
        )
    if not np.allclose(
        relaxed.lattice.matrix, screened.lattice.matrix, atol=10 * LATTICE_TOL
    ):
        raise StructureError("relaxed interface has another cell than the screened one")
    order = pair_sites(screened, relaxed)
    cell = Structure(
        screened.lattice,
        screened.species,
        relaxed.frac_coords[order],
        site_properties=screened.site_properties,
    )
    return strained_references(cell)


def pair_sites(a: Structure, b: Structure) -> np.ndarray:
    """``order`` such that ``b[order[i]]`` is the atom that was ``a[i]``.

    ``b`` is ``a`` after a fixed-cell relaxation, in the same order (the MLIP, and
    atomate2's VASP jobs) or species-sorted as pymatgen's input sets may write the
    POSCAR. Either order is taken if its atoms moved in total no more than
    :data:`PAIRING_SLACK` times the least total move any pairing of the elements
    allows (a wrong order moves atoms by whole bond lengths; a film sliding
    2-5 A onto the substrate, as the quick hetero films do, is fine). Any other order
    gets that least-move pairing, only trusted when no atom moved more than
    :data:`MAX_RELAX_MOVE` (else :class:`StructureError`). Written here because
    pymatgen's ``StructureMatcher`` maps sites within a fraction of a bond length,
    not across relaxation moves of several A.
    """
    from scipy.optimize import linear_sum_assignment

    sym_a = np.array([s.specie.symbol for s in a])
    sym_b = np.array([s.specie.symbol for s in b])

    def moves(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        d = b.frac_coords[ib] - a.frac_coords[ia]
        d -= np.round(d)  # minimum image for moves below half the thinnest width
        return np.linalg.norm(d @ a.lattice.matrix, axis=-1)

    best = np.empty(len(a), dtype=int)
    least = np.empty(len(a))
    for el in sorted(set(sym_a)):
        ia, ib = np.flatnonzero(sym_a == el), np.flatnonzero(sym_b == el)
        cost = moves(ia[:, None], ib[None, :])
        rows, cols = linear_sum_assignment(cost)
        best[ia[rows]], least[ia[rows]] = ib[cols], cost[rows, cols]
    for order in (np.arange(len(a)), np.argsort(_sort_permutation(a))):
        if (
            np.array_equal(sym_b[order], sym_a)
            and moves(np.arange(len(a)), order).sum()
            <= PAIRING_SLACK * least.sum() + 1e-6
        ):
            return order
    if least.max() > MAX_RELAX_MOVE:
        raise StructureError(
            f"relaxed interface cannot be paired with the screened cell: its atoms "
            f"are in another order and one moved {least.max():.2f} A (more than "
            f"{MAX_RELAX_MOVE} A)"
        )
    return best


def _sort_permutation(structure: Structure) -> np.ndarray:
    """Indices of ``structure`` in the order of ``get_sorted_structure()``."""
    return np.array(sorted(range(len(structure)), key=structure.__getitem__))


def binding_energy(
    e_interface: float, e_film: float, e_substrate: float, area: float
) -> float:
    """E_bind = (E_interface - E_film - E_substrate) / A (eV/A^2; < 0 binds).

    The references must be in the interface's strained in-plane cell (see
    :func:`strained_references`; :func:`consistent_binding_energy` checks it).
    """
    if area <= 0:
        raise StructureError(f"interface area must be positive, not {area}")
    return (e_interface - e_film - e_substrate) / area


def consistent_binding_energy(
    interface: Structure,
    e_interface: float,
    film: Structure,
    e_film: float,
    substrate: Structure,
    e_substrate: float,
) -> float:
    """:func:`binding_energy` after checking the references against the interface.

    Film and substrate must have the interface's in-plane lattice (within
    :data:`LATTICE_TOL`) and together its composition; the fixed-atom count must
    match too. Raises :class:`StructureError` otherwise (e.g. an unstrained film).
    """
    ref = in_plane_vectors(interface)
    for name, s in (("film", film), ("substrate", substrate)):
        if not np.allclose(in_plane_vectors(s), ref, atol=LATTICE_TOL):
            raise StructureError(
                f"{name} reference is not in the interface's in-plane cell "
                f"({np.round(in_plane_vectors(s), 3).tolist()} vs "
                f"{np.round(ref, 3).tolist()}); "
                "use strained_references()"
            )
    if film.composition + substrate.composition != interface.composition:
        raise StructureError("film + substrate composition differs from the interface")
    n_fixed = len(fixed_indices(film)) + len(fixed_indices(substrate))
    if n_fixed != len(fixed_indices(interface)):
        raise StructureError("references and interface fix different numbers of atoms")
    return binding_energy(e_interface, e_film, e_substrate, in_plane_area(interface))
