"""The HPC backend: atomate2's VASP makers with the study's settings.

Every job is plain PBE (PAW, ``GGA = PE``), ``ENCUT = 520``, Gaussian smearing
(``ISMEAR = 0``, ``SIGMA = 0.05``), ``EDIFF = 1e-5``, non-spin-polarised (the phases
are closed-shell sulfides) except cells with an odd electron count (a neutral Li
vacancy, the images of its hop: ``ISPIN = 2``, VASP's default moments); slabs and
interfaces (vacuum along c) get a dipole correction along c (``IDIPOL = 3``,
``LDIPOL``, ``DIPOL`` at the centre of mass). Relaxations stop at
``EDIFFG = -fmax`` after at most ``NSW = max_steps`` conjugate-gradient steps, with
``ISIF = 3`` (cell) or ``2``.

atomate2's base input set derives from the MP r2SCAN set, so the settings that
contradict the study are overridden through ``user_incar_settings`` (which win over
every atomate2 default and auto-setting): PBEsol (``GGA = PS``) -> PBE, ``ENCUT``
680 -> 520, ``ISPIN`` 2 -> 1 (no ``MAGMOM``), ``LASPH`` True -> False (VASP's default,
as for plain PBE), ``LMIXTAU`` (meta-GGA only) removed, ``LDAU = False`` (no +U),
smearing fixed instead of atomate2's ``auto_ismear`` (``ISMEAR = -5`` for statics),
``LREAL = False`` everywhere (energies of small and large cells are compared, so one
projection scheme is used throughout), and the ``LAECHG``/``LVTOT`` volumetric
outputs are switched off. ``calculator.vasp.incar_updates`` is applied last.

K-points are Gamma-centred meshes (also correct for the hexagonal phases) of one
density for every cell: ``n_i = max(1, round(kpoint_length / a_i))`` from the structure
each job runs on, ``kpoint_length = 25`` A by default, which gives the study's meshes
on the study's cells (:data:`STUDY_MESHES`: 2x3x4 on beta-Li3PS4, 4x2x2 on Li7P3S11
with its 6.2 A axis first) and the same density on supercells, slabs (1 along the
vacuum) and grain-boundary cells. A copied mesh would not: the study's 2x3x4 on the
x = 1/16 supercell samples it twice as densely along b and c as the host it is
compared with, and 4x2x2 on the bundled Li7P3S11 (6.2 A axis b) puts 2 k-points along
the shortest axis. ``calculator.vasp.kpoints`` fixes a mesh per phase.
"""

from __future__ import annotations

import math
import warnings
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from atomate2.vasp.jobs.core import RelaxMaker, StaticMaker
from atomate2.vasp.jobs.neb import NebFromImagesMaker
from atomate2.vasp.run import JobType
from atomate2.vasp.sets.core import (
    NebSetGenerator,
    RelaxSetGenerator,
    StaticSetGenerator,
)
from pymatgen.io.vasp import Kpoints

from lpsflow.calculators.base import (
    DOPED_CORE,
    GRAIN_BOUNDARY,
    INTERFACE,
    NORMAL,
    Backend,
    CellRelax,
)

if TYPE_CHECKING:
    from pymatgen.core import Structure

Mesh = tuple[int, int, int]

#: INCAR tags of every job (relaxations add ISIF/IBRION/NSW/EDIFFG). ``None`` removes
#: a tag that atomate2's base set would write.
STUDY_INCAR: dict[str, Any] = {
    "GGA": "PE",
    "PREC": "Accurate",
    "ENCUT": 520,
    "EDIFF": 1e-5,
    "ISMEAR": 0,
    "SIGMA": 0.05,
    "ISPIN": 1,
    "MAGMOM": None,
    "LASPH": False,
    "LMIXTAU": None,
    "LDAU": False,
    "LREAL": False,
    "LAECHG": False,
    "LVTOT": False,
}

#: The study's k-meshes, each on the study's own cell of the phase (cell lengths, A):
#: the default ``kpoint_length`` (25 A) reproduces the first two from the lengths.
STUDY_MESHES: dict[str, tuple[Mesh, tuple[float, float, float]]] = {
    "Li3PS4": ((2, 3, 4), (13.18, 8.13, 6.21)),  # Pnma, long axis first
    "Li7P3S11": ((4, 2, 2), (6.2, 12.5, 12.5)),  # P-1 with its short axis first
}

#: GB cells of the study: 2x2x1 (cell lengths not reported).
STUDY_GB_MESH: Mesh = (2, 2, 1)

#: Phases that take the doped-core mesh override (if any) unless set themselves.
_CORE_FAMILY = ("Li3PS4",)

#: Warn when a fixed mesh samples one axis this many times more densely than another.
_ANISOTROPY_WARNING = 3.0


def length_mesh(structure: Structure, length: float) -> Mesh:
    """Return the mesh ``n_i = max(1, round(length / a_i))`` (rounded half up)."""
    a, b, c = (max(1, math.floor(length / x + 0.5)) for x in structure.lattice.abc)
    return a, b, c


def gamma_kpoints(mesh: Mesh, comment: str) -> Kpoints:
    """Return a Gamma-centred automatic mesh."""
    return Kpoints.gamma_automatic(tuple(int(n) for n in mesh), comment=comment)


def _check_mesh(structure: Structure, kpoints: Kpoints) -> None:
    mesh = kpoints.kpts[0]
    densities = [n * a for n, a in zip(mesh, structure.lattice.abc, strict=True)]
    if max(densities) > _ANISOTROPY_WARNING * min(densities):
        warnings.warn(
            f"k-mesh {'x'.join(map(str, mesh))} ({kpoints.comment}) is strongly "
            "anisotropic for this cell (a, b, c = "
            f"{', '.join(f'{x:.2f}' for x in structure.lattice.abc)} A); check that "
            "the cell setting matches the one the mesh was chosen for",
            stacklevel=3,
        )


def odd_electrons(structure: Structure, nelect: float | None = None) -> bool:
    """Whether the cell holds an odd number of valence electrons.

    ``nelect`` (from the POTCARs) where known; else the sum of Z, whose parity is
    the valence count's for every PAW core with an even electron count (all this
    project's: Li_sv, Al, Si, P, S, Ga_d, In_d; not the frozen-f lanthanides).
    """
    if nelect is not None:
        return round(nelect) % 2 == 1
    return sum(site.specie.Z for site in structure) % 2 == 1


@dataclass
class _StudyKpointsMixin:
    """Length-based Gamma mesh when no explicit mesh is given; warns on odd meshes.

    Also the INCAR tags that depend on the cell: ``ISPIN = 2`` for an odd electron
    count (``spin_if_odd``), and for slabs (``dipole``) the dipole correction along
    c about the centre of mass.
    """

    kpoint_length: float | None = None
    spin_if_odd: bool = True
    dipole: bool = False

    @property
    def incar(self) -> Any:
        """The INCAR, with the cell-dependent spin and dipole tags."""
        incar = super().incar  # type: ignore[misc]
        structure = self.structure  # type: ignore[attr-defined]
        if structure is None:
            return incar
        if self.spin_if_odd and odd_electrons(structure, self._nelect()):
            incar["ISPIN"] = 2
        if self.dipole:
            centre = structure.lattice.get_fractional_coords(
                np.average(
                    structure.cart_coords,
                    axis=0,
                    weights=[s.specie.atomic_mass for s in structure],
                )
            )
            incar.update(IDIPOL=3, LDIPOL=True, DIPOL=[float(c) for c in centre])
        return incar

    def _nelect(self) -> float | None:
        """Valence electrons from the POTCARs; None without a POTCAR library."""
        try:
            return float(self.nelect)  # type: ignore[attr-defined]
        except Exception:  # no POTCARs here (potcar_spec, tests)
            return None

    @property
    def kpoints_updates(self) -> dict | Kpoints:
        """The length-based mesh (``user_kpoints_settings`` still wins)."""
        structure = self.structure  # type: ignore[attr-defined]
        if self.kpoint_length is None or structure is None:
            return super().kpoints_updates  # type: ignore[misc]
        mesh = length_mesh(structure, self.kpoint_length)
        return gamma_kpoints(mesh, f"Gamma mesh, length {self.kpoint_length:g} A")

    @property
    def kpoints(self) -> Kpoints | None:
        """The KPOINTS file."""
        kpoints = super().kpoints  # type: ignore[misc]
        structure = self.structure  # type: ignore[attr-defined]
        if isinstance(kpoints, Kpoints) and structure is not None and kpoints.kpts:
            _check_mesh(structure, kpoints)
        return kpoints


@dataclass
class StudyRelaxSetGenerator(_StudyKpointsMixin, RelaxSetGenerator):
    """atomate2's relaxation set with the length-based k-mesh of the study."""


@dataclass
class StudyStaticSetGenerator(_StudyKpointsMixin, StaticSetGenerator):
    """atomate2's static set with the length-based k-mesh of the study."""


@dataclass
class StudyNebSetGenerator(_StudyKpointsMixin, NebSetGenerator):
    """atomate2's NEB set with the length-based k-mesh of the study."""


class VaspBackend(Backend):
    """atomate2 VASP makers with the study's PBE settings."""

    name = "vasp"

    def kpoint_mesh(self, phase: str) -> Mesh | None:
        """Return the fixed mesh of ``phase`` (None: length-based from the cell)."""
        keys = (phase, DOPED_CORE) if phase in _CORE_FAMILY else (phase,)
        meshes = self.settings.vasp.kpoints
        for key in keys:
            if key in meshes:
                return tuple(meshes[key])  # type: ignore[return-value]
        return None

    def incar(
        self, relax: bool, relax_cell: CellRelax = True, fmax: float | None = None
    ) -> dict[str, Any]:
        """Return the INCAR settings of the generator (``None`` removes a tag).

        ``relax_cell`` :data:`~lpsflow.calculators.base.NORMAL`: ``ISIF = 3`` with
        ``LATTICE_CONSTRAINTS = F F T`` (VASP >= 6.4 with ``IBRION = 1, 2``): the
        stress rows and columns of x and y are zeroed, so only c's length along z
        relaxes (c normal to the a-b plane, as in the GB cells).
        """
        s = self.settings
        incar = dict(STUDY_INCAR)
        if relax:
            incar.update(
                IBRION=2,
                ISIF=3 if relax_cell else 2,
                NSW=s.max_steps,
                EDIFFG=-(fmax or s.fmax),
            )
            if relax_cell == NORMAL:
                incar["LATTICE_CONSTRAINTS"] = [False, False, True]
        else:
            incar.update(NSW=0)
        incar.update(s.vasp.incar_updates)
        return incar

    def _generator_kwargs(
        self, phase: str, relax: bool, relax_cell: CellRelax, fmax: float | None = None
    ) -> dict:
        v = self.settings.vasp
        mesh = self.kpoint_mesh(phase)
        kwargs: dict[str, Any] = {
            "user_incar_settings": self.incar(relax, relax_cell, fmax),
            "user_potcar_functional": v.potcar_functional,
            "auto_ismear": False,
            "spin_if_odd": "ISPIN" not in v.incar_updates,
            "dipole": phase == INTERFACE and "IDIPOL" not in v.incar_updates,
        }
        if mesh is None:
            kwargs["kpoint_length"] = v.kpoint_length
        else:
            kwargs["user_kpoints_settings"] = gamma_kpoints(mesh, f"Gamma mesh {phase}")
        return kwargs

    def _maker_kwargs(self) -> dict[str, Any]:
        v = self.settings.vasp
        kwargs: dict[str, Any] = {}
        if v.potcar_spec:
            kwargs["write_input_set_kwargs"] = {"potcar_spec": True}
        if v.vasp_cmd:
            kwargs["run_vasp_kwargs"] = {"vasp_cmd": v.vasp_cmd}
        return kwargs

    def relax_maker(
        self, phase: str, relax_cell: CellRelax = True, fmax: float | None = None
    ) -> RelaxMaker:
        """Conjugate-gradient relaxation to ``EDIFFG = -fmax``."""
        generator = StudyRelaxSetGenerator(
            **self._generator_kwargs(phase, True, relax_cell, fmax)
        )
        return RelaxMaker(
            name=f"relax {phase}",
            input_set_generator=generator,
            **self._maker_kwargs(),
        )

    def static_maker(self, phase: str) -> StaticMaker:
        """Single point."""
        generator = StudyStaticSetGenerator(
            **self._generator_kwargs(phase, False, False)
        )
        return StaticMaker(
            name=f"static {phase}",
            input_set_generator=generator,
            **self._maker_kwargs(),
        )

    def neb_makers(
        self,
        phase: str,
        fmax: float,
        max_steps: int,
        endpoint_fmax: float | None = None,
    ) -> tuple[RelaxMaker, NebFromImagesMaker]:
        """Endpoint relaxation (cell fixed) and climbing-image NEB makers.

        The NEB is atomate2's :class:`NebFromImagesMaker` (VTST: ``LCLIMB``,
        ``IOPT = 1``, ``IBRION = 3``, ``POTIM = 0``, ``SPRING = -5``) with the study's
        electronic settings, ``EDIFFG = -fmax`` and ``NSW = max_steps``; ``IMAGES``
        is set from the images it is given. K-points: the length-based mesh of the
        images (a ``gb`` mesh override applies to GB cells; bulk hops run in
        supercells, so a bulk phase's override does not). ``ISPIN = 2``: a hopping
        vacancy leaves an odd electron count. The endpoint relaxation uses the
        phase's own relax settings and mesh.
        """
        incar = self.incar(True, relax_cell=False, fmax=fmax)
        incar.update(
            NSW=max_steps, IBRION=3, POTIM=0, IOPT=1, LCLIMB=True, SPRING=-5,
            LCHARG=False,
        )  # fmt: skip
        incar.update(self.settings.vasp.incar_updates)
        kwargs = self._generator_kwargs(phase, True, False, fmax)
        kwargs["user_incar_settings"] = incar
        if phase != GRAIN_BOUNDARY:  # bulk hops run in supercells: length-based
            kwargs.pop("user_kpoints_settings", None)
            kwargs["kpoint_length"] = self.settings.vasp.kpoint_length
        maker_kwargs = self._maker_kwargs()
        run = {
            "job_type": JobType.NEB,
            "vasp_job_kwargs": {
                "output_file": "vasp.out",
                "stderr_file": "std_err.txt",
            },
            **maker_kwargs.pop("run_vasp_kwargs", {}),
        }
        if self.settings.vasp.potcar_spec:  # no POTCAR written: nothing to back up
            run["vasp_job_kwargs"]["backup"] = False
        images = NebFromImagesMaker(
            name=f"neb {phase}",
            input_set_generator=StudyNebSetGenerator(**kwargs),
            run_vasp_kwargs=run,
            **maker_kwargs,
        )
        return self.relax_maker(phase, False, endpoint_fmax or fmax), images

    def describe(self) -> dict[str, Any]:
        """Functional, cutoff, tolerances and k-point settings."""
        from importlib.metadata import version

        s, v = self.settings, self.settings.vasp
        return {
            "backend": "vasp",
            "model": "PBE",
            "potcar_functional": v.potcar_functional,
            "encut": v.incar_updates.get("ENCUT", STUDY_INCAR["ENCUT"]),
            "fmax": s.fmax,
            "max_steps": s.max_steps,
            "incar_updates": dict(v.incar_updates),
            "kpoints": {k: list(m) for k, m in v.kpoints.items()},
            "kpoint_length": v.kpoint_length,
            "cell_dependent_incar": "ISPIN 2 if odd electrons; IDIPOL 3 on slabs",
            "atomate2_version": version("atomate2"),
        }


def write_vasp_inputs(
    backend: VaspBackend,
    structure: Structure,
    phase: str,
    directory: str | Path,
    relax: bool = True,
    *,
    relax_cell: CellRelax = True,
    potcar_spec: bool = True,
    maker: Any = None,
) -> Path:
    """Write the input set the backend's maker would write for ``structure``.

    With ``potcar_spec`` (default) a ``POTCAR.spec`` with the POTCAR symbols is written
    instead of the POTCAR, so no POTCAR library is needed. ``maker`` (a job's own
    VASP maker) replaces the one made from ``phase``/``relax``/``relax_cell``.
    """
    from atomate2 import SETTINGS

    if maker is None:
        maker = (
            backend.relax_maker(phase, relax_cell)
            if relax
            else backend.static_maker(phase)
        )
    generator = deepcopy(maker.input_set_generator)
    vis = generator.get_input_set(structure, potcar_spec=potcar_spec)
    vis.incar.update(SETTINGS.VASP_INCAR_UPDATES)  # as atomate2's write_vasp_input_set
    directory = Path(directory)
    vis.write_input(directory, make_dir_if_not_present=True)
    return directory
