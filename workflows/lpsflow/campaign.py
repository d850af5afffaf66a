"""The campaign definition: a YAML file, validated with pydantic.

A campaign names the accelerants to screen, the calculator backend, the cell sizes and
the store. Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from lpsflow.campaign_branches import (
    DopingSettings,
    GrainBoundarySettings,
    InterfaceSettings,
    NebSettings,
    SurfaceSettings,
    VacancySettings,
)
from lpsflow.campaign_fields import Strict
from lpsflow.errors import ConfigError
from lpsflow.sampling.settings import SamplingSettings


class VaspSettings(Strict):
    """Settings of the VASP backend (the study's values by default)."""

    incar_updates: dict[str, Any] = Field(
        default_factory=dict,
        description="INCAR tags applied on top of the study settings for every job.",
    )
    kpoints: dict[str, tuple[int, int, int]] = Field(
        default_factory=dict,
        description="Gamma-centred k-mesh per phase, overriding the study's meshes "
        "(keys: phase names such as Li7P3S11, or 'doped_core', 'gb').",
    )
    kpoint_length: float = Field(
        25.0,
        gt=0,
        description="For phases without a study mesh: n_i = max(1, round(L / a_i)).",
    )
    vasp_cmd: str | None = Field(
        None, description="Command that runs VASP (default: atomate2's VASP_CMD)."
    )
    potcar_functional: str = Field("PBE_54", description="POTCAR set.")
    potcar_spec: bool = Field(
        False,
        description="Write POTCAR.spec instead of POTCAR (no POTCAR library needed; "
        "for preparing inputs and tests).",
    )


class CalculatorSettings(Strict):
    """Which calculator computes energies and forces, and how tightly."""

    backend: Literal["mlip", "vasp"] = Field(
        "mlip", description="'mlip' (embedded default) or 'vasp' (HPC)."
    )
    model: Literal["CHGNet", "SevenNet"] = Field(
        "CHGNet", description="Machine-learned potential for the mlip backend."
    )
    device: str = Field("cpu", description="Torch device for the MLIP: cpu, cuda, ...")
    fmax: float = Field(
        0.02,
        gt=0,
        description="Force tolerance of relaxations (eV/A); VASP EDIFFG=-fmax",
    )
    max_steps: int = Field(
        800,
        gt=0,
        description="Maximum ionic steps; relaxations that hit it are flagged.",
    )
    optimizer: Literal["FIRE", "BFGS", "LBFGS", "BFGSLineSearch"] = Field(
        "LBFGS",
        description="ASE optimiser of MLIP relaxations. LBFGS takes as many steps as "
        "BFGS without diagonalising a 3N x 3N Hessian every step (0.1-0.5 s for "
        "the 126-348 atom cells).",
    )
    hessian_guess: float = Field(
        10.0,
        gt=0,
        description="Initial Hessian (eV/A^2, ASE's 'alpha') of BFGS/LBFGS. ASE's "
        "70 suits stiff solids; the soft Li sulfides and their cells relax in fewer "
        "force calls from 10 (benchmarks/relaxations.py).",
    )
    screening_model: Literal["CHGNet", "SevenNet"] = Field(
        "CHGNet",
        description="MLIP of the cheap single points that rank dopant arrangements "
        "(used for both backends).",
    )
    perturb_seed: int | None = Field(
        None,
        ge=0,
        description="Start every MLIP relaxation from its structure with each free "
        "atom moved by perturb_amplitude in a random direction drawn from this "
        "seed and the structure (the same on every machine): verdicts that move "
        "under it move with round-off (benchmarks/verdicts.py; lpsflow run "
        "--perturb-seed). None: start as built.",
    )
    perturb_amplitude: float = Field(
        1e-4, gt=0, le=0.01, description="Displacement of perturb_seed (A)."
    )
    vasp: VaspSettings = Field(default_factory=VaspSettings)

    @model_validator(mode="after")
    def _perturb_needs_mlip(self) -> CalculatorSettings:
        if self.perturb_seed is not None and self.backend != "mlip":
            raise ValueError(
                "perturb_seed displaces the starts of MLIP relaxations; the vasp "
                "backend starts from the structures as built (remove perturb_seed)"
            )
        return self

    def check_device(self) -> None:
        """Raise ``ConfigError`` if torch cannot use the MLIP's device here.

        Nothing to check (and nothing imported) for the CPU or for VASP.
        """
        if self.backend == "mlip" and self.device != "cpu":
            from lpsflow.calculators.mlip import check_device

            check_device(self.device)


class StoreSettings(Strict):
    """Where results live."""

    type: Literal["embedded", "mongodb"] = Field(
        "embedded",
        description="'embedded' (on-disk MontyDB/sqlite, no server) or 'mongodb'.",
    )
    path: str = Field(
        "lpsflow-store",
        description="Directory of the embedded store (relative to the campaign file's "
        "directory unless absolute).",
    )
    uri: str | None = Field(
        None,
        description="MongoDB URI (mongodb type). Credentials are better given through "
        "the LPSFLOW_MONGODB_URI environment variable than written here.",
    )
    database: str = Field("lpsflow", description="MongoDB database name.")
    jobflow_yaml: str | None = Field(
        None,
        description="A jobflow.yaml whose JOB_STORE to use instead (mongodb type).",
    )
    timeout_s: float = Field(5.0, gt=0, description="Server selection timeout (s).")


class Campaign(Strict):
    """A screening campaign."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="Campaign name.")
    description: str = Field("", description="Free text.")
    accelerants: list[str] = Field(
        ..., min_length=1, description="Binary sulfides MxSy to screen, e.g. Al2S3."
    )
    calculator: CalculatorSettings = Field(default_factory=CalculatorSettings)
    doping: DopingSettings = Field(default_factory=DopingSettings)
    interfaces: InterfaceSettings = Field(default_factory=InterfaceSettings)
    vacancies: VacancySettings = Field(default_factory=VacancySettings)
    grain_boundaries: GrainBoundarySettings = Field(
        default_factory=GrainBoundarySettings
    )
    neb: NebSettings = Field(default_factory=NebSettings)
    surfaces: SurfaceSettings = Field(default_factory=SurfaceSettings)
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    structures: dict[str, str] = Field(
        default_factory=dict,
        description="Phase name -> CIF/POSCAR file replacing the bundled structure "
        "(relative to the campaign file's directory unless absolute).",
    )
    store: StoreSettings = Field(default_factory=StoreSettings)
    workdir: str = Field(
        "lpsflow-work", description="Directory where local jobs write their files."
    )
    base_dir: Path = Field(
        Path("."), exclude=True, description="Directory relative paths refer to."
    )

    @field_validator("accelerants")
    @classmethod
    def _accelerants(cls, value: list[str]) -> list[str]:
        from lpsflow.errors import CompositionError
        from lpsflow.structures.accelerant import parse_accelerant

        try:
            names = [parse_accelerant(v).formula for v in value]
        except CompositionError as exc:
            raise ValueError(str(exc)) from exc
        if len(set(names)) != len(names):
            raise ValueError(f"accelerants listed twice: {value}")
        return names

    @model_validator(mode="after")
    def _paths(self) -> Campaign:
        for phase, path in self.structures.items():
            if not self.resolve(path).is_file():
                raise ValueError(f"structure file for {phase} not found: {path}")
        return self

    @property
    def gb_core_x(self) -> float:
        """Dopant content of the GB core grains and hops.

        ``grain_boundaries.core_x``, else ``interfaces.core_x``, else ``doping.x``.
        """
        return self.grain_boundaries.core_x or self.interfaces.core_x or self.doping.x

    def gb_kind_x(self, kind: str) -> float:
        """Dopant content of one GB kind's core grain.

        ``grain_boundaries.<kind>.core_x``, else :attr:`gb_core_x`.
        """
        return getattr(self.grain_boundaries, kind).core_x or self.gb_core_x

    @property
    def neb_core_x(self) -> float:
        """Dopant content of the core hosting the bulk hops.

        ``neb.core_x``, else ``doping.x``.
        """
        return self.neb.core_x or self.doping.x

    def resolve(self, path: str) -> Path:
        """Resolve a path given in the campaign file."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def structure_overrides(self) -> dict[str, Path]:
        """Phase -> absolute path of the user's structure files."""
        return {k: self.resolve(v) for k, v in self.structures.items()}

    def with_perturb_seed(self, seed: int) -> Campaign:
        """The campaign with ``calculator.perturb_seed`` set (``--perturb-seed``)."""
        try:
            calc = CalculatorSettings.model_validate(
                {**self.calculator.model_dump(), "perturb_seed": seed}
            )
        except ValidationError as exc:
            raise ConfigError(_format_validation_error(exc, "--perturb-seed")) from exc
        return self.model_copy(update={"calculator": calc})

    def definition_hash(self) -> str:
        """Hash of everything that determines the computed numbers."""
        data = self.model_dump(mode="json", exclude={"description", "store", "workdir"})
        for (section, key), default in LATER_SETTINGS.items():
            if data.get(section, {}).get(key) == default:  # as before they existed
                del data[section][key]
        for section in LATER_SECTIONS:
            if data.get(section) == {}:  # every setting at its default
                del data[section]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[
            :16
        ]


#: Settings added after campaigns were run, with the default that computes what
#: was computed before them: left out of :meth:`Campaign.definition_hash` at that
#: default, so a store run earlier is not reported as of another definition.
LATER_SETTINGS: dict[tuple[str, str], Any] = {
    ("interfaces", "relax_top"): 1,
    ("calculator", "perturb_seed"): None,
    ("calculator", "perturb_amplitude"): 1e-4,
    ("sampling", "mode"): "fixed",
    ("sampling", "max_rounds"): 3,
    ("sampling", "max_samples"): 4,
    ("sampling", "budget"): None,
}
#: Sections added later: left out of the hash when every setting is at its default.
LATER_SECTIONS = ("sampling",)


def _format_validation_error(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return f"invalid campaign {source}: " + "; ".join(parts)


def _yaml_msg(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{problem}{where}"


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign YAML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"campaign file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"campaign file {path} is not valid YAML: {_yaml_msg(exc)}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"campaign file {path} must hold a mapping of settings")
    return campaign_from_dict(data, base_dir=path.resolve().parent, source=str(path))


def campaign_from_dict(
    data: dict[str, Any], base_dir: Path | str = ".", source: str = "(dict)"
) -> Campaign:
    """Validate a campaign given as a dict."""
    try:
        return Campaign.model_validate({**data, "base_dir": Path(base_dir)})
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from exc
