"""Climbing-image NEB for Li vacancy hops with the shared MLIP (SCIENCE.md item 8).

:func:`run_neb` relaxes the two endpoints (cell fixed), interpolates the images
with IDPP (ASE's ``NEB.interpolate(method="idpp", mic=True)``, as
:func:`lpsflow.structures.idpp.idpp_interpolate`), then runs a
climbing-image NEB with the improved tangent
(``ase.mep.NEB(images, climb=True, method="improvedtangent")``) with one shared
calculator, and returns a :class:`NebDoc`. :func:`neb_job` is the jobflow job for
the MLIP (the model loaded once per process by
:func:`lpsflow.calculators.mlip.mlip_calculator`).

The barrier is ``Ea = max(E_images) - E(initial endpoint)`` (the forward barrier);
a run that does not reach ``fmax`` within ``max_steps`` (or whose endpoints do not
relax) is reported with ``converged=False`` and ``barrier=None``, never a number.

atomate2 0.1.5 has ``atomate2.forcefields.neb.ForceFieldNebFromEndpointsMaker`` /
``ForceFieldNebFromImagesMaker`` (ASE NEB with ``k=5, climb=True,
method="improvedtangent"``, ``emmet.core.neb.NebResult`` output). They are not used
here: they build their own calculator (one deep copy per image, not the shared
lpsflow model), their ``NebResult`` always carries a numeric ``forward_barrier``
(also for an unconverged band), and their force-convergence flag tests raw image
forces, not the NEB forces the optimizer converged. For VASP, atomate2 has
``atomate2.vasp.jobs.neb.NebFromImagesMaker`` / ``NebFromEndpointsMaker``
(``NebSetGenerator``, VTST-style IMAGES run, ``NebTaskDoc``) and the charge-density
based ``atomate2.vasp.flows.approx_neb.ApproxNebMaker``; a VASP NEB path can wrap
those.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep import NEB
from ase.mep.neb import NEBOptimizer
from ase.optimize import BFGS, FIRE, LBFGS
from ase.optimize.optimize import Optimizer
from jobflow import job
from pydantic import BaseModel, Field
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from lpsflow.errors import StructureError
from lpsflow.jobs.identity import kind
from lpsflow.speedups import enabled
from lpsflow.structures.idpp import idpp_interpolate

if TYPE_CHECKING:
    from ase import Atoms
    from ase.calculators.calculator import Calculator


class NebDoc(BaseModel):
    """Result of one climbing-image NEB of a Li vacancy hop."""

    label: str = Field("", description="Caller's label, e.g. 'Li7P3S11 gb hop 0'.")
    energies: list[float] = Field(
        ..., description="Energy of every image, endpoints included (eV)."
    )
    relative_energies: list[float] = Field(
        ..., description="Energies relative to the initial endpoint (eV)."
    )
    barrier: float | None = Field(
        None,
        description="Forward barrier Ea = max(energies) - energies[0] (eV); None "
        "unless the band converged.",
    )
    reverse_barrier: float | None = Field(
        None, description="max(energies) - energies[-1] (eV); None unless converged."
    )
    climbing_image: int | None = Field(
        None, description="Index of the climbing (highest intermediate) image."
    )
    converged: bool = Field(
        ..., description="Endpoints relaxed and NEB forces below fmax in max_steps."
    )
    endpoints_converged: bool = Field(
        ..., description="Both endpoint relaxations reached endpoint_fmax."
    )
    n_steps: int = Field(..., description="NEB optimizer steps taken.")
    n_images: int = Field(..., description="Intermediate images.")
    fmax: float = Field(..., description="NEB force tolerance (eV/A).")
    max_steps: int = Field(..., description="NEB step limit.")
    max_force: float | None = Field(
        None, description="Largest NEB force at the end (eV/A)."
    )
    hop_distance: float | None = Field(
        None, description="Distance the moving atom travels between endpoints (A)."
    )
    images: list[Structure] = Field(
        ..., description="Final images, relaxed endpoints first and last."
    )
    method: str = Field(
        "climbing-image NEB, improved tangent, IDPP interpolation",
        description="How the band was made and optimized.",
    )
    calculator: str = Field("", description="Calculator used, e.g. 'CHGNet'.")
    seconds: float = Field(0.0, description="Wall time (s).")
    reason: str = Field("", description="Why the run is not converged, if it isn't.")


def _atoms(structure: Structure) -> Atoms:
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.set_constraint()  # endpoints: cell fixed, atoms free
    return atoms


#: Endpoint optimisers (names as in ``CalculatorSettings.optimizer``).
ENDPOINT_OPTIMIZERS = {"BFGS": BFGS, "LBFGS": LBFGS, "FIRE": FIRE}


def _relax(
    atoms: Atoms,
    calc: Calculator | None,
    fmax: float,
    steps: int,
    optimizer: str = "BFGS",
    optimizer_kwargs: dict[str, Any] | None = None,
) -> bool:
    if calc is not None:
        atoms.calc = calc
    cls = ENDPOINT_OPTIMIZERS.get(optimizer)
    if cls is None:
        raise StructureError(
            f"NEB endpoint optimizer must be one of {', '.join(ENDPOINT_OPTIMIZERS)}, "
            f"not {optimizer}"
        )
    opt = cls(atoms, logfile=None, **(optimizer_kwargs or {}))
    return bool(opt.run(fmax=fmax, steps=steps))


def _moved_atom(a: Atoms, b: Atoms) -> tuple[int, float]:
    d = a.get_positions() - b.get_positions()
    frac = np.linalg.solve(a.cell.array.T, d.T).T
    frac -= np.rint(frac)
    dist = np.linalg.norm(frac @ a.cell.array, axis=1)
    k = int(np.argmax(dist))
    return k, float(dist[k])


#: NEB band optimisers: ASE's FIRE and BFGS, and ODE, ASE's adaptive ODE12r solver
#: (``ase.mep.NEBOptimizer``, Makri, Ortner & Kermode, J. Chem. Phys. 150, 094109
#: (2019)) that needs fewer force calls than FIRE for the same band.
NEB_OPTIMIZERS = ("FIRE", "BFGS", "ODE")


def _band_optimizer(band: NEB, name: str) -> Optimizer:
    key = name.upper()
    if key == "ODE" and band.nimages > 3:
        return NEBOptimizer(band, method="ode", logfile=None)
    if key == "ODE":  # ASE keeps no residual for one (climbing) image: ODE12r fails
        key = "FIRE"
    if key in ("FIRE", "BFGS"):
        return {"FIRE": FIRE, "BFGS": BFGS}[key](band, logfile=None)
    raise StructureError(
        f"NEB optimizer must be one of {', '.join(NEB_OPTIMIZERS)}, not {name}"
    )


def _residual(band: NEB) -> float:
    """Largest NEB force of the band at its current positions."""
    try:
        return float(band.get_residual())
    except (ValueError, RuntimeError):  # no residual kept (e.g. one climbing image)
        return float(np.sqrt((band.get_forces() ** 2).sum(axis=1).max()))


def run_neb(
    initial: Structure,
    final: Structure,
    calculator: Calculator,
    *,
    n_images: int = 5,
    fmax: float = 0.05,
    max_steps: int = 200,
    relax_endpoints: bool = True,
    endpoint_fmax: float | None = None,
    endpoint_steps: int = 200,
    endpoint_optimizer: str = "BFGS",
    endpoint_optimizer_kwargs: dict[str, Any] | None = None,
    spring: float = 0.1,
    optimizer: str = "ODE",
    label: str = "",
    calculator_name: str = "",
) -> NebDoc:
    """Climbing-image NEB between two endpoint cells with the same atom order.

    ``n_images`` intermediate images; ``fmax`` (eV/A) and ``max_steps`` bound the
    NEB optimization (``optimizer``: one of :data:`NEB_OPTIMIZERS`); endpoints are
    relaxed first (cell fixed; ``endpoint_optimizer`` BFGS, LBFGS or FIRE with
    ``endpoint_optimizer_kwargs``, e.g. ``{"alpha": 10}``; ``endpoint_fmax``
    defaults to ``fmax``).
    ``spring`` is the spring constant (eV/A^2). Never raises for non-convergence:
    the result is marked ``converged=False`` with ``barrier=None``.
    """
    if len(initial) != len(final) or [s.species_string for s in initial] != [
        s.species_string for s in final
    ]:
        raise StructureError("NEB endpoints must have the same atoms in the same order")
    if n_images < 1:
        raise StructureError(
            f"NEB needs at least one intermediate image, not {n_images}"
        )
    if max_steps < 0:
        raise StructureError(f"max_steps must be >= 0, not {max_steps}")
    from lpsflow.calculators.batch import (
        BatchGroup,
        attach,
        batch_atoms,
        batches,
        relax_together,
    )
    from lpsflow.calculators.chgnet_fast import FastCHGNetCalculator

    t0 = time.perf_counter()
    ends = [_atoms(initial), _atoms(final)]
    ok_ends = True
    reasons = []
    # the images' own calculators of one batch (their forces in one model call on a
    # GPU, 2.3x faster for 5 images of 126 atoms on an H100; each its own cache)
    batched = enabled("batched_images") and isinstance(calculator, FastCHGNetCalculator)
    group = BatchGroup(calculator, batch_atoms(calculator)) if batched else None
    if relax_endpoints:
        e_fmax = fmax if endpoint_fmax is None else endpoint_fmax

        def relax(at: Atoms, calc: Calculator | None = None) -> bool:
            return _relax(
                at, calc, e_fmax, endpoint_steps,
                endpoint_optimizer, endpoint_optimizer_kwargs,
            )  # fmt: skip

        if group is not None and batches(calculator):  # both at once
            done = relax_together(group, ends, relax)
        else:
            done = [relax(at, calculator) for at in ends]
        for tag, ok in zip(("initial", "final"), done, strict=True):
            if not ok:
                ok_ends = False
                reasons.append(
                    f"{tag} endpoint not relaxed to {e_fmax:g} eV/A in "
                    f"{endpoint_steps} steps"
                )
    relaxed = [at.copy() for at in ends]
    _, hop = _moved_atom(ends[0], ends[1])
    for at in ends:  # endpoints do not move: evaluate once, not at every NEB step
        at.calc = at.calc or calculator
        energy, forces = at.get_potential_energy(), at.get_forces()
        at.calc = SinglePointCalculator(at, energy=energy, forces=forces)
    mids = [ends[0].copy() for _ in range(n_images)]
    if group is not None:
        attach(group, mids)
    else:
        for im in mids:
            im.calc = calculator
    images = [ends[0], *mids, ends[1]]
    band = NEB(
        images, k=spring, climb=True, method="improvedtangent",
        allow_shared_calculator=True,
    )  # fmt: skip
    idpp_interpolate(band)  # ASE's IDPP, pair vectors wrapped at once
    opt = _band_optimizer(band, optimizer)
    ran_ok = bool(opt.run(fmax=fmax, steps=max_steps))
    n_steps = int(opt.nsteps)
    max_force = _residual(band)
    # ASE's ode12r returns (not raises) when it runs out of steps: check the forces
    band_ok = ran_ok and max_force <= fmax
    finished_by = ""
    if not band_ok and isinstance(opt, NEBOptimizer) and n_steps < max_steps:
        # ODE12r gives up when its step size collapses (rough, soft GB landscapes):
        # FIRE finishes the band from where it stopped, within the same step budget
        fire = FIRE(band, logfile=None)
        ran_ok = bool(fire.run(fmax=fmax, steps=max_steps - n_steps))
        n_steps += int(fire.nsteps)
        max_force = _residual(band)
        band_ok = ran_ok and max_force <= fmax
        finished_by = ", finished with FIRE"
    if not band_ok:
        reasons.append(f"NEB forces above {fmax:g} eV/A after {n_steps} steps")
    # the optimizer's last force call was at the final positions
    energies = [float(e) for e in band.energies]
    if not all(math.isfinite(e) for e in energies):
        band_ok = False
        reasons.append("non-finite energies")
    converged = bool(band_ok and ok_ends)
    e0, e_max = energies[0], max(energies)
    climb = 1 + int(np.argmax(energies[1:-1]))
    out_images = [AseAtomsAdaptor.get_structure(im) for im in images]
    # endpoints are not moved by the NEB: report them exactly as relaxed
    out_images[0] = AseAtomsAdaptor.get_structure(relaxed[0])
    out_images[-1] = AseAtomsAdaptor.get_structure(relaxed[1])
    return NebDoc(
        label=label,
        energies=energies,
        relative_energies=[e - e0 for e in energies],
        barrier=e_max - e0 if converged else None,
        reverse_barrier=e_max - energies[-1] if converged else None,
        climbing_image=climb,
        converged=converged,
        endpoints_converged=ok_ends,
        n_steps=n_steps,
        n_images=n_images,
        fmax=fmax,
        max_steps=max_steps,
        max_force=max_force,
        hop_distance=hop,
        images=out_images,
        method="climbing-image NEB, improved tangent, IDPP interpolation, "
        f"{'ODE12r' if isinstance(opt, NEBOptimizer) else type(opt).__name__}"
        f"{finished_by}",
        calculator=calculator_name,
        seconds=time.perf_counter() - t0,
        reason="; ".join(reasons),
    )


def idpp_images(initial: Structure, final: Structure, n_images: int) -> list[Structure]:
    """Endpoints and ``n_images`` IDPP-interpolated images (ASE, minimum image).

    The interpolation of :func:`run_neb`, for backends that run the band
    themselves (the VASP NEB).
    """
    if n_images < 1:
        raise StructureError(
            f"NEB needs at least one intermediate image, not {n_images}"
        )
    ends = [_atoms(initial), _atoms(final)]
    images = [ends[0], *(ends[0].copy() for _ in range(n_images)), ends[1]]
    idpp_interpolate(NEB(images))
    return [AseAtomsAdaptor.get_structure(im) for im in images]


@job
@kind("interpolate")
def interpolate_job(endpoints: list[Any], n_images: int) -> list[Structure]:
    """:func:`idpp_images` of two relaxed endpoints (relax outputs or structures)."""
    ends = [
        e if isinstance(e, Structure) else Structure.from_dict(e) for e in endpoints
    ]
    return idpp_images(ends[0], ends[1], n_images)


@job
@kind("neb")
def neb_job(
    initial: Structure,
    final: Structure,
    model: str = "CHGNet",
    device: str = "cpu",
    **kwargs: Any,
) -> NebDoc:
    """Run :func:`run_neb` as a jobflow job with the shared MLIP calculator ``model``.

    ``kwargs`` go to :func:`run_neb` (``n_images``, ``fmax``, ``max_steps``,
    ``relax_endpoints``, ``endpoint_fmax``, ``endpoint_steps``, ``spring``,
    ``optimizer``, ``label``).
    """
    from lpsflow.calculators.mlip import mlip_calculator

    return run_neb(
        initial,
        final,
        mlip_calculator(model, device),
        calculator_name=model,
        **kwargs,
    )
