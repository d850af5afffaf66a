"""Reading energies and convergence from either backend's task documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure


class CalcSummary(BaseModel):
    """The numbers a descriptor needs from one calculation."""

    energy: float = Field(..., description="Total energy of the final structure (eV).")
    n_atoms: int = Field(..., description="Atoms in the cell.")
    formula: str = Field(..., description="Reduced formula of the final structure.")
    converged: bool = Field(
        ..., description="Relaxation reached its force tolerance (static: ran)."
    )
    n_steps: int | None = Field(None, description="Ionic steps taken.")
    calculator: str = Field("", description="Calculator that produced the numbers.")
    structure: Structure = Field(..., description="Final structure.")

    @property
    def energy_per_atom(self) -> float:
        """Energy per atom (eV/atom)."""
        return self.energy / self.n_atoms


def as_plain(doc: Any) -> Any:
    """A job output as plain dicts: pydantic/monty documents dumped, dicts as is.

    Outputs reach a job as the stored dict or as the live document, depending on
    the manager; analysis jobs read both the same way through this.
    """
    if isinstance(doc, dict):
        return doc
    if hasattr(doc, "model_dump"):
        return doc.model_dump()
    return doc.as_dict() if hasattr(doc, "as_dict") else doc


def _get(obj: Any, path: str, default: Any = None) -> Any:
    for key in path.split("."):
        if obj is None:
            return default
        obj = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    return default if obj is None else obj


def summarize(doc: Any) -> CalcSummary:
    """Summarise a forcefield (atomate2 ASE) or VASP task document.

    Forcefield documents carry ``is_force_converged``; VASP documents are converged
    when the task succeeded and the last run reached its ionic tolerance (custodian
    reruns unconverged relaxations, so an unconverged final run is a real failure).
    """
    structure = _get(doc, "structure") or _get(doc, "output.structure")
    if isinstance(structure, dict):
        structure = Structure.from_dict(structure)
    energy = _get(doc, "output.energy")
    if energy is None:
        raise ValueError("task document has no output energy")
    ff_conv = _get(doc, "is_force_converged")
    if ff_conv is not None or _get(doc, "forcefield_name") is not None:
        converged = bool(ff_conv)
        n_steps = _get(doc, "output.n_steps")
        calculator = f"mlip:{_get(doc, 'forcefield_name', '')}".replace("MLFF.", "")
    else:
        calc = (_get(doc, "calcs_reversed") or [None])[0]
        converged = _vasp_converged(doc)
        n_steps = len(_get(calc, "output.ionic_steps") or []) or None
        calculator = "vasp"
    return CalcSummary(
        energy=float(energy),
        n_atoms=len(structure),
        formula=structure.composition.reduced_formula,
        converged=converged,
        n_steps=n_steps,
        calculator=calculator,
        structure=structure,
    )


def _succeeded(state: Any) -> bool:
    """Return whether an emmet ``TaskState`` (enum, value or bool) is success."""
    if isinstance(state, bool):
        return state
    value = str(getattr(state, "value", state)).lower()
    return value in ("successful", "success", "taskstate.success")


def _vasp_converged(doc: Any) -> bool:
    """Return whether the task succeeded and its final run converged.

    emmet sets ``has_vasp_completed`` from ``Vasprun.converged`` (electronic and, for
    relaxations, ionic convergence); the ionic criterion, VASP stopping before ``NSW``
    steps, is checked again here when the ionic steps are stored. For a static run,
    completed means converged.
    """
    calc = (_get(doc, "calcs_reversed") or [None])[0]
    if not _succeeded(_get(doc, "state")) or calc is None:
        return False
    if not _succeeded(_get(calc, "has_vasp_completed")):
        return False
    params = _get(calc, "input.parameters") or {}
    nsw = int(params.get("NSW", 0) or 0)
    ibrion = int(params.get("IBRION", -1 if nsw <= 0 else 0))
    ionic = _get(calc, "output.ionic_steps")
    if nsw > 1 and ibrion in (1, 2, 3) and ionic:
        return len(ionic) < nsw
    return True
