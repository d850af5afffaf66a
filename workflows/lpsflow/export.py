"""``lpsflow structures``: relaxed structures of a campaign as CIF or POSCAR files.

Kinds and the job roles they read (see :mod:`lpsflow.flows.campaign`):

* ``bulk``: every ``relax:<phase>`` (precursors, products, accelerants);
* ``core``: the relaxed doped cells, ``relax:core:<acc>:<scheme>:<i>`` (at the
  campaign's x) and ``relax:core:<acc>:<scheme>:<x>:<i>`` (solubility series);
* ``interface``, ``gb``: the relaxed cells of ``relax:interface:*`` and
  ``relax:gb:*``;
* ``neb``: the images of the reported band of every ``neb:<path>:<label>`` job
  (relaxed endpoints first and last), ``neb_<path>_<label>_<k>``.

A kind the campaign has no jobs of is a :class:`~lpsflow.query.NotComputedError`.

Next to the files, ``index.json`` records each structure's role, job id,
calculator, energy per atom and converged flag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from lpsflow.errors import LpsflowError
from lpsflow.finished import job_outputs
from lpsflow.query import NotComputedError
from lpsflow.results import manifest
from lpsflow.roles import Role, roles_of, x_label

if TYPE_CHECKING:
    from lpsflow.store import Stores

Kind = Literal["bulk", "core", "interface", "gb", "neb"]
#: Kind -> (step, branch) of the roles it exports.
KIND_ROLES: dict[str, tuple[str, str]] = {
    "bulk": ("relax", ""),
    "core": ("relax", "core"),
    "interface": ("relax", "interface"),
    "gb": ("relax", "gb"),
    "neb": ("neb", "neb"),
}
EXTENSIONS = {"cif": "cif", "poscar": "vasp"}


class ExportedStructure(BaseModel):
    """One structure written to disk."""

    name: str = Field(..., description="File stem.")
    path: str = Field(..., description="File written.")
    role: str = Field(..., description="Job role in the campaign.")
    job_uuid: str = Field(..., description="Job whose output it is.")
    formula: str = Field(..., description="Reduced formula.")
    n_atoms: int = Field(..., description="Atoms in the cell.")
    energy_per_atom: float = Field(..., description="Final energy (eV/atom).")
    converged: bool = Field(..., description="Relaxation reached its tolerance.")
    calculator: str = Field("", description="Calculator that relaxed it.")


class ExportResult(BaseModel):
    """What ``structures`` wrote and what it could not."""

    written: list[ExportedStructure] = Field(default_factory=list)
    missing: dict[str, str] = Field(
        default_factory=dict, description="Role -> why there is no structure yet."
    )


def _roles(man: dict, kind: Kind) -> dict[str, str]:
    """Role text -> uuid of the jobs whose structures ``kind`` exports."""
    step, branch = KIND_ROLES[kind]
    return {
        str(r): u
        for r, u in roles_of(man).items()
        if r.step == step and r.branch == branch
    }


def _name(role: Role, x_default: float | None) -> str:
    """File stem of a structure: ``Li2S``, ``core_Al2S3_Li-site_x1-8_0``, ..."""
    if role.step == "relax" and not role.branch:
        return role.label
    if role.branch == "core":
        x = role.x or (x_label(x_default) if x_default else "x")
        return f"core_{role.label}_{role.scheme}_x{x.replace('/', '-')}_{role.index}"
    return str(role).replace(":", "_").replace("/", "-")


def export(
    stores: Stores,
    campaign: str,
    kind: Kind,
    outdir: Path,
    fmt: Literal["cif", "poscar"] = "cif",
) -> ExportResult:
    """Write the structures of one kind; errors if there are none to write."""
    from lpsflow.calculators.outputs import summarize

    man = manifest(stores, campaign)
    roles = _roles(man, kind)
    if not roles:
        raise NotComputedError(
            f"{kind} structures: not computed in this campaign ('{campaign}' has no "
            f"{':'.join(t for t in KIND_ROLES[kind] if t)}:* jobs; enable that "
            "branch in the campaign file)"
        )
    outputs = job_outputs(stores, list(set(roles.values())))
    fails = man.get("failures", {})
    x_default = man["definition"].get("doping", {}).get("x")
    result = ExportResult()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LpsflowError(f"cannot create {outdir}: {exc}") from exc
    for role, uuid in sorted(roles.items()):
        out = outputs.get(uuid)
        if out is None:
            result.missing[role] = "failed" if uuid in fails else "not finished"
            continue
        if kind == "neb":
            result.written += _neb_images(role, uuid, out, outdir, fmt)
            continue
        s = summarize(out)
        name = _name(Role.parse(role), x_default)
        path = outdir / f"{name}.{EXTENSIONS[fmt]}"
        s.structure.to(filename=str(path), fmt=fmt)
        result.written.append(
            ExportedStructure(
                name=name,
                path=str(path),
                role=role,
                job_uuid=uuid,
                formula=s.formula,
                n_atoms=s.n_atoms,
                energy_per_atom=s.energy_per_atom,
                converged=s.converged,
                calculator=s.calculator,
            )
        )
    if not result.written:
        raise NotComputedError(
            f"no relaxed {kind} structure of campaign '{campaign}' in the store yet "
            f"({len(result.missing)} job(s) failed or not finished)"
        )
    (outdir / "index.json").write_text(
        json.dumps([w.model_dump() for w in result.written], indent=2)
    )
    return result


def _neb_images(
    role: str, uuid: str, out: dict, outdir: Path, fmt: str
) -> list[ExportedStructure]:
    """The images of the reported (else the first) band of one NEB job."""
    from pymatgen.core import Structure

    runs = out.get("runs") or []
    if not runs:
        return []
    run = runs[out["selected"] if out.get("selected") is not None else 0]
    stem = role.replace(":", "_")
    written = []
    for k, (image, energy) in enumerate(
        zip(run["images"], run["energies"], strict=True)
    ):
        structure = (
            image if isinstance(image, Structure) else Structure.from_dict(image)
        )
        path = outdir / f"{stem}_{k:02d}.{EXTENSIONS[fmt]}"
        structure.to(filename=str(path), fmt=fmt)
        written.append(
            ExportedStructure(
                name=path.stem,
                path=str(path),
                role=role,
                job_uuid=uuid,
                formula=structure.composition.reduced_formula,
                n_atoms=len(structure),
                energy_per_atom=energy / len(structure),
                converged=bool(run["converged"]),
                calculator=run.get("calculator", ""),
            )
        )
    return written
