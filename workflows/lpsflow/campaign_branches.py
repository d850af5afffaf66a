"""The branch sections of a campaign file, each a strict model with its defaults.

Doping, interfaces (and their series and lattice matching), vacancies, grain
boundaries and NEB.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from lpsflow.campaign_fields import (
    OptionalX,
    Plane,
    Strict,
    check_x,
    parse_fraction,
)


class DopingSettings(Strict):
    """How the doped core cells Li(3-3x)M(x)PS4 are built and screened."""

    x: float = Field(
        0.0625,
        description="Dopant content per PS4 formula unit, 0 < x < 1 (fractions such "
        "as '1/16' are accepted).",
    )
    supercell: tuple[int, int, int] | None = Field(
        None,
        description="Supercell of the 4-formula-unit beta-Li3PS4 cell; chosen "
        "automatically (smallest, most compact cell commensurate with x) if omitted.",
    )
    schemes: list[Literal["Li-site", "empty-site", "P-site"]] | None = Field(
        None,
        description="Charge-compensation schemes (Li-site: M on a Li site + q-1 Li "
        "vacancies; empty-site: M in an empty LiS6 site + q Li vacancies; P-site: "
        "M on P + 5-q extra Li); by default every scheme the dopant's oxidation "
        "state allows.",
    )

    @field_validator("schemes")
    @classmethod
    def _schemes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"schemes listed twice: {value}")
        return value

    screen_top: int = Field(
        12,
        gt=0,
        description="Arrangements (best by Ewald energy) given MLIP single points.",
    )
    relax_top: int = Field(
        2, gt=0, description="Arrangements (lowest single points) fully relaxed."
    )
    screen_patience: int = Field(
        2,
        ge=0,
        description="Screen screen_top arrangements at a time (best Ewald first) "
        "until the lowest single point has held through this many more batches; "
        "0: one batch of screen_top.",
    )
    screen_max: int = Field(
        240,
        gt=0,
        description="Most arrangements single-pointed per doped cell when "
        "screen_patience > 0.",
    )
    max_enumerate: int = Field(
        200_000,
        gt=0,
        description="Above this many raw arrangements, sample by Ewald energy instead "
        "of enumerating all.",
    )
    solubility_x: list[float] = Field(
        default_factory=lambda: [1 / 32, 1 / 16, 1 / 8, 1 / 4],
        description="Dopant contents of the solubility series (energy above the "
        "hull versus x); x itself is always included. Empty: no series.",
    )
    synthesis_temperature: float = Field(
        573.0,
        gt=0,
        description="Temperature (K) of the free energy of mixing that sets the "
        "solubility limit: the crystallisation temperature of these glass-ceramics.",
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: Any) -> Any:
        if isinstance(data, dict) and "hull_threshold" in data:
            raise ValueError(
                "hull_threshold is no longer a setting: the solubility limit now "
                "comes from the free energy of mixing at synthesis_temperature "
                "(docs/solubility.md); remove hull_threshold"
            )
        return data

    @field_validator("x", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> Any:
        return parse_fraction(value)

    @field_validator("solubility_x", mode="before")
    @classmethod
    def _fractions(cls, value: Any) -> Any:
        return [parse_fraction(v) for v in value] if isinstance(value, list) else value

    @field_validator("x")
    @classmethod
    def _x_range(cls, value: float) -> float:
        return check_x(value)

    @field_validator("solubility_x")
    @classmethod
    def _xs_range(cls, value: list[float]) -> list[float]:
        return sorted({check_x(v) for v in value})


class MatchingSettings(Strict):
    """Rigid-shift grid and coincidence-cell (ZSL) limits of a two-grain cell."""

    shift_grid: tuple[int, int] = Field(
        (2, 2), description="In-plane rigid shifts sampled: n_a x n_b grid."
    )
    max_area: float = Field(400.0, gt=0, description="Largest coincidence area (A^2).")
    max_strain: float = Field(
        0.03,
        gt=0,
        description="Largest von Mises strain of the strained part (film, grain B).",
    )
    max_length_tol: float = Field(0.03, gt=0, description="ZSL length tolerance.")
    max_angle_tol: float = Field(0.01, gt=0, description="ZSL angle tolerance.")
    max_area_ratio_tol: float = Field(
        0.09, gt=0, description="ZSL area-ratio tolerance."
    )

    @model_validator(mode="after")
    def _grid(self) -> MatchingSettings:
        if min(self.shift_grid) < 1:
            raise ValueError("shift_grid needs at least 1 x 1 shifts")
        return self


class InterfaceSeriesSettings(MatchingSettings):
    """Cell sizes and lattice-matching tolerances of one interface series."""

    substrate_layers: int = Field(
        ...,
        ge=1,
        description="Substrate thickness in layers (see slab_geometry.layers); for a "
        "doped core (hetero) in layers of the undoped core (beta-Li3PS4 (100): half "
        "the a axis), rounded up to whole neutral blocks of the doped cell "
        "(slabs.blocks_for).",
    )
    fixed_layers: int = Field(
        ...,
        ge=0,
        description="Bottom substrate layers held fixed in relaxations (counted as "
        "substrate_layers).",
    )

    @model_validator(mode="after")
    def _fixed(self) -> InterfaceSeriesSettings:
        if self.fixed_layers > self.substrate_layers:
            raise ValueError(
                f"fixed_layers ({self.fixed_layers}) exceeds substrate_layers "
                f"({self.substrate_layers})"
            )
        return self


#: The study's hetero cell: <= 3% strain. The x = 1/16 doped core (1x2x2 cell) has a
#: 2b x 2c in-plane cell; its smallest <= 3% match with Li7P3S11(010) is 1011 A^2
#: (1.43%); the undoped b x c cell would allow 707 A^2 (1.96%).
STUDY_HETERO: dict[str, Any] = {
    "substrate_layers": 4,
    "fixed_layers": 2,
    "shift_grid": (3, 3),
    "max_area": 1100.0,
    "max_strain": 0.03,
    "max_length_tol": 0.04,
    "max_angle_tol": 0.04,
}


class InterfaceSettings(Strict):
    """Slabs, heterointerfaces and binding energies (SCIENCE.md item 5).

    Defaults are the study's sizes: <= 3% strain (hetero 1011 A^2 on the x = 1/16
    core, 4 substrate layers, 2 fixed; homo 3 layers, 1 fixed), n = 1..3 film layers.
    """

    enabled: bool = Field(True, description="Compute the binding energies.")
    core_miller: Plane = Field(
        (1, 0, 0), description="Surface of the doped core (substrate of hetero)."
    )
    film_miller: Plane = Field(
        (0, 1, 0), description="Surface of Li7P3S11 (film; substrate of homo)."
    )
    film_layers: int = Field(
        3, ge=1, le=6, description="N: E_bind(n) for n = 1..N Li7P3S11 layers."
    )
    core_x: OptionalX = Field(
        None,
        description="Dopant content of the core substrate (default: doping.x); its "
        "lowest relaxed arrangement is used.",
    )
    scheme: Literal["Li-site", "empty-site", "P-site"] | None = Field(
        None,
        description="Charge-compensation scheme of the core (default: first). "
        "Li-site and empty-site cells have one composition: the lowest cell of "
        "either is used when the campaign computes both.",
    )
    vacuum: float = Field(15.0, gt=0, description="Vacuum above the film (A).")
    fmax: float | None = Field(
        None,
        gt=0,
        description="Force tolerance of the interface relaxations (default: "
        "calculator.fmax).",
    )
    references: Literal["lowest", "relaxed_interface", "screened_cell"] = Field(
        "lowest",
        description="Start of the film and substrate reference relaxations of "
        "E_bind: 'lowest' relaxes each from both starts below and uses the lower "
        "energy (the best estimate of the free parts' minima; each start alone "
        "misses it by up to 2 eV in the quick and the study-size runs); "
        "'relaxed_interface' cuts them from each relaxed interface (one substrate "
        "per n, after the interface; they may keep a state only the other side "
        "stabilised); 'screened_cell' cuts them from the unrelaxed cell and "
        "relaxes them alongside the interface (one substrate per series; a free "
        "film may stay above the state it reaches on the substrate).",
    )
    relax_top: int = Field(
        1,
        ge=1,
        le=6,
        description="Interfaces relaxed per n: the cells of this many distinct "
        "registries (rigid shifts whose single points differ by more than 1 meV), "
        "lowest single point first, each with its references relaxed from its "
        "parts; E_bind(n) takes the lowest relaxed interface. One start misses "
        "lower minima by up to 1-2 meV/A^2 (README, Caveats).",
    )
    hetero: InterfaceSeriesSettings = Field(
        default_factory=lambda: InterfaceSeriesSettings(**STUDY_HETERO)
    )
    homo: InterfaceSeriesSettings = Field(
        default_factory=lambda: InterfaceSeriesSettings(
            substrate_layers=3, fixed_layers=1, shift_grid=(3, 3)
        )
    )

    @model_validator(mode="after")
    def _starts(self) -> InterfaceSettings:
        for name in ("hetero", "homo"):
            grid = getattr(self, name).shift_grid
            if self.relax_top > grid[0] * grid[1]:
                raise ValueError(
                    f"relax_top ({self.relax_top}) exceeds the {grid[0] * grid[1]} "
                    f"rigid shifts of {name}.shift_grid {list(grid)}"
                )
        return self


class VacancySettings(Strict):
    """Li vacancies and mu_Li of the doped core and Li7P3S11 (SCIENCE.md item 7)."""

    enabled: bool = Field(True, description="Compute mu_Li = -min E_v per phase.")
    min_length: float = Field(
        10.0,
        gt=0,
        description="Vacancy supercells have every lattice vector >= this (A).",
    )
    relax_top: int = Field(
        2,
        ge=1,
        le=6,
        description="Distinct Li sites (lowest unrelaxed E_v) relaxed per phase.",
    )
    core_x: OptionalX = Field(
        None,
        description="Dopant content of the core host (default: interfaces.core_x, "
        "else doping.x).",
    )
    fmax: float | None = Field(
        None,
        gt=0,
        description="Force tolerance (default: calculator.fmax; GB sites: "
        "grain_boundaries.fmax first).",
    )
    gb: bool = Field(
        True,
        description="Also E_v of the Li sites near the boundary of each "
        "accelerant's hetero GB (needs grain_boundaries with kind hetero).",
    )
    gb_window: float = Field(
        3.0, gt=0, description="GB sites: Li within this distance of a plane (A)."
    )


def _gb_defaults(kind: str) -> dict[str, Any]:
    from dataclasses import asdict

    from lpsflow.structures.grain_boundaries import QUICK

    return asdict(QUICK[kind])


class GBKindSettings(MatchingSettings):
    """Planes, grain thicknesses, misorientation and matching of one GB kind.

    Defaults per kind: :data:`lpsflow.structures.grain_boundaries.QUICK` (cell
    sizes in that module's docstring).
    """

    miller_a: Plane | None = Field(
        None,
        description="Boundary plane of grain A (default: Li7P3S11 (010) for homo, "
        "core (100) for core and hetero).",
    )
    miller_b: Plane | None = Field(
        None,
        description="Boundary plane of grain B (hetero: default Li7P3S11 (010); "
        "homo and core: default miller_a, another plane gives an asymmetric "
        "boundary of one bulk, e.g. Li7P3S11 (010)/(100), Sigma 2).",
    )
    layers_a: int = Field(..., ge=1, le=6, description="Grain A thickness (layers).")
    layers_b: int = Field(..., ge=1, le=6, description="Grain B thickness (layers).")
    twist: float | None = Field(
        None,
        description="Twist angle (deg) asked for (closest candidate); None: the "
        "smallest coincidence cell.",
    )
    flip: bool | None = Field(
        False, description="Grain B turned over: true, false, or null for either."
    )
    normal_step: float = Field(
        0.2,
        ge=0,
        le=1.0,
        description="Step (A) of the rigid scan of the boundary separation at "
        "each in-plane shift, before the relaxation (0: keep the contact "
        "separation).",
    )
    normal_max_steps: int = Field(
        8, ge=1, le=30, description="Most steps the separation scan walks downhill."
    )
    core_x: OptionalX = Field(
        None,
        description="Dopant content of this kind's core grain (core, hetero); null: "
        "grain_boundaries.core_x. With the quick settings the hetero GB on the "
        "relaxed x = 1/16 Al2S3 core needs 626 A^2 (303 A^2 at 1/4), the core/core "
        "GB 1617 A^2.",
    )

    def builder_settings(self) -> dict[str, Any]:
        """The fields the GB builder takes (no planes, no dopant content)."""
        return self.model_dump(exclude={"miller_a", "miller_b", "core_x"})


GBKind = Literal["homo", "core", "hetero"]


class GrainBoundarySettings(Strict):
    """Periodic bicrystal grain boundaries and gamma_GB (SCIENCE.md item 6).

    ``homo`` (Li7P3S11 (010) twist GB) once per campaign; ``core`` (core/core) and
    ``hetero`` (core/Li7P3S11) per accelerant, on its lowest relaxed core at
    ``core_x``. The per-kind defaults are sized for the x = 1/4 core.
    """

    enabled: bool = Field(True, description="Compute the grain boundaries.")
    kinds: list[GBKind] = Field(
        ["homo", "core", "hetero"], description="GB kinds computed."
    )
    core_x: OptionalX = Field(
        0.25,
        description="Dopant content of the core grains: the x = 1/4 core (one "
        "dopant in the 32-atom cell) keeps the default GB cells at 170-420 atoms; "
        "the x = 1/16 core's in-plane cell is 4x larger. null: interfaces.core_x, "
        "else doping.x.",
    )
    fmax: float | None = Field(
        None, gt=0, description="Force tolerance of the GB relaxations (default: "
        "calculator.fmax).",
    )  # fmt: skip
    relax_normal: bool = Field(
        True,
        description="Relax the cell length normal to the boundaries with the atoms "
        "(the GB excess volume; VASP: ISIF 3 with LATTICE_CONSTRAINTS F F T, VASP "
        ">= 6.4). false: the length the contact construction gave stays.",
    )
    homo: GBKindSettings = Field(
        default_factory=lambda: GBKindSettings(**_gb_defaults("homo"))
    )
    core: GBKindSettings = Field(
        default_factory=lambda: GBKindSettings(**_gb_defaults("core"))
    )
    hetero: GBKindSettings = Field(
        default_factory=lambda: GBKindSettings(**_gb_defaults("hetero"))
    )

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"GB kinds listed twice: {value}")
        return value

    @field_validator("homo")
    @classmethod
    def _homo_has_no_core(cls, value: GBKindSettings) -> GBKindSettings:
        if value.core_x is not None:
            raise ValueError(
                "core_x: the homo GB is Li7P3S11/Li7P3S11 (no core grain); "
                "set core_x on core or hetero"
            )
        return value


#: Most hop classes a NEB path computes when given a number.
MAX_HOPS = 6
#: Most hop classes ``n_hops: spanning`` computes (a GB cell has little symmetry:
#: an irreducible spanning set of a quick GB cell holds 4-5 of its 22-46 classes).
MAX_SPANNING_HOPS = 12


class NebSettings(Strict):
    """Climbing-image NEB of Li vacancy hops (SCIENCE.md item 8).

    Path ``gb``: hops in the boundary region of each accelerant's hetero GB (core
    GB if no hetero) and of the homo GB; ``bulk``: hops in the bulk core and in
    bulk Li7P3S11. Hops are picked automatically: the ``n_hops`` shortest
    distinct Li-Li pairs within ``max_distance`` (``gb``: both Li within
    ``window`` of a boundary plane), or with ``n_hops: spanning`` an irreducible
    set of classes whose hops span the cell (in-plane along a GB) and the
    shortest; the lowest converged barrier and the percolation barrier of the
    computed classes are reported.
    """

    enabled: bool = Field(True, description="Compute the migration barriers.")
    paths: list[Literal["gb", "bulk"]] = Field(
        ["gb", "bulk"], description="Hop kinds: along the GB, across a grain."
    )
    n_hops: Annotated[int, Field(ge=1, le=MAX_HOPS)] | Literal["spanning"] = Field(
        1,
        description="Hop classes computed per path, shortest first; 'spanning': "
        "classes whose hops span the cell, none longer than the geometric "
        "bottleneck, and the shortest (at most "
        f"{MAX_SPANNING_HOPS}; MLIP backend), so the percolation barrier exists.",
    )
    n_images: int = Field(5, ge=1, le=15, description="Intermediate images.")
    fmax: float = Field(0.05, gt=0, description="NEB force tolerance (eV/A).")
    max_steps: int = Field(300, ge=1, description="NEB optimizer step limit.")
    optimizer: Literal["ODE", "FIRE", "BFGS"] = Field(
        "ODE",
        description="MLIP band optimiser: ODE (ASE's adaptive ODE12r NEBOptimizer; "
        "2-8x fewer force calls than FIRE for the same band), FIRE or BFGS. VASP "
        "runs its own (IBRION in the settings).",
    )
    endpoint_fmax: float | None = Field(
        None, gt=0, description="Endpoint relaxation tolerance (default: fmax)."
    )
    endpoint_steps: int = Field(
        300, ge=1, description="Endpoint relaxation step limit."
    )
    window: float = Field(
        3.0, gt=0, description="gb path: largest distance of both Li from a plane (A)."
    )
    max_distance: float = Field(
        4.5, gt=0, description="Longest Li-Li hop considered (A)."
    )
    min_length: float = Field(
        10.0, gt=0, description="bulk path: supercell lattice vectors >= this (A)."
    )
    core_x: OptionalX = Field(
        None,
        description="Dopant content of the core whose bulk the 'bulk' hops run in; "
        "null: doping.x (the campaign's dilute x, the study's), not the GB "
        "grains' grain_boundaries.core_x.",
    )


class SurfaceSettings(Strict):
    """Surface energies of candidate Li7P3S11 film planes (SCIENCE.md items 5, 8).

    The study's film plane, "(010)", depends on the cell setting it refers to
    (docs/surfaces.md): each plane listed here gets its lowest termination
    (whole PS4 / P2S7 units, single points), relaxed (cell fixed), and its surface
    energy reported beside the plane the interfaces use.
    """

    enabled: bool = Field(True, description="Compute the surface energies.")
    millers: list[Plane] = Field(
        [(0, 1, 0), (1, 0, 0)],
        min_length=1,
        description="Li7P3S11 planes (hkl of the bundled setting, 6.2 A axis b): "
        "(010) normal to the short axis, (100) containing it ((001) has no slab "
        "with whole P-S units).",
    )
    min_slab: float = Field(
        10.0, ge=5.0, le=40.0, description="Slab thickness (A, whole oriented cells)."
    )
    fmax: float | None = Field(
        None, gt=0, description="Force tolerance of the slab relaxations (default: "
        "calculator.fmax).",
    )  # fmt: skip

    @field_validator("millers")
    @classmethod
    def _millers(cls, value: list[tuple[int, int, int]]) -> Any:
        if len(set(map(tuple, value))) != len(value):
            raise ValueError(f"planes listed twice: {value}")
        return value
