"""What the phase-evolution model returns (pydantic, every field described)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field, model_validator

from lpsflow.analysis.residual_split import BALANCE_TOL, PHASE_ORDER

#: Weight fractions of all crystalline phases, or of the whole sample.
Basis = Literal["crystalline", "sample"]


class PhaseAmount(BaseModel):
    """One phase of the product, with its amount and weight fraction."""

    name: str = Field(..., description="Formula, e.g. Li7P3S11 or Li2.82Al0.06PS4.")
    role: Literal["core", "residual", "unreacted accelerant"] = Field(
        ...,
        description="'core' (doped Li3PS4 that forms first), 'residual' (formed "
        "from the Li2S + P2S5 left after the core) or 'unreacted accelerant'.",
    )
    stage: int | None = Field(
        ...,
        description="Crystallisation stage: 1 core, 2 phases of the residual, "
        "None for the unreacted accelerant.",
    )
    composition: dict[str, float] = Field(
        ..., description="Element amounts per formula unit."
    )
    moles: float = Field(
        ..., description="Formula units per 100 mol Li2S + P2S5 (mol)."
    )
    molar_mass: float = Field(..., description="g/mol (pymatgen element masses).")
    mass: float = Field(..., description="Mass per 100 mol Li2S + P2S5 (g).")
    wt_fraction: float = Field(..., description="Weight fraction of the whole sample.")
    wt_fraction_crystalline: float | None = Field(
        ...,
        description="Weight fraction of the phases formed from the glass (the "
        "sample less unreacted accelerant, as the study's Rietveld split); None "
        "for the unreacted accelerant.",
    )


class PhaseEvolution(BaseModel):
    """Phases of one sample: core first, then what the residual Li2S + P2S5 gives."""

    sample: str = Field(..., description="Sample name, e.g. LPS7228.")
    li2s: float = Field(..., description="Li2S, mol per 100 mol Li2S + P2S5.")
    p2s5: float = Field(..., description="P2S5, mol per 100 mol Li2S + P2S5.")
    accelerant: str = Field(..., description="Accelerant formula MmSs.")
    oxidation_state: int = Field(..., description="Formal oxidation state q of M.")
    scheme: str = Field(
        ..., description="Charge compensation: Li-site, empty-site or P-site."
    )
    solubility: float = Field(..., description="x: M per PS4 unit of the core.")
    accelerant_moles: float = Field(
        ..., description="Nominal accelerant y (mol), fixed by overall P/S = 0.25."
    )
    core: str = Field(..., description="Formula of the doped core.")
    core_moles: float = Field(..., description="Core formed (mol PS4 units).")
    core_stop: str = Field(..., description="What limited the amount of core.")
    residual_li2s: float = Field(..., description="Li2S left after the core (mol).")
    residual_p2s5: float = Field(..., description="P2S5 left after the core (mol).")
    residual_ps: float | None = Field(
        ..., description="P/S of the Li2S + P2S5 left after the core (None if none)."
    )
    unreacted_accelerant_moles: float = Field(
        ..., description="Accelerant not taken up by the core (mol)."
    )
    decomposition: str = Field(
        ...,
        description="How the residual was split: 'tie-line rule' (default), "
        "'phase diagram' or 'callable'.",
    )
    phases: list[PhaseAmount] = Field(
        ..., description="Phases with nonzero amount, in crystallisation order."
    )
    nominal: dict[str, float] = Field(
        ..., description="Element moles of the nominal composition."
    )
    measured_conductivity: float | None = Field(
        None,
        description="Measured conductivity of this LPS sample with Al2S3 (the "
        "study's reference, mS/cm), if it is in SERIES.",
    )

    @model_validator(mode="after")
    def _conserved(self) -> PhaseEvolution:
        imbalance = self.max_imbalance()
        if not imbalance <= BALANCE_TOL:
            raise ValueError(
                f"{self.sample}: elements not conserved (max imbalance "
                f"{imbalance:.3g} mol > {BALANCE_TOL:g})"
            )
        return self

    def max_imbalance(self) -> float:
        """Largest |nominal - sum over phases| over all elements (mol)."""
        totals: dict[str, float] = dict.fromkeys(self.nominal, 0.0)
        for p in self.phases:
            for el, n in p.composition.items():
                totals[el] = totals.get(el, 0.0) + p.moles * n
        return max(abs(totals[el] - self.nominal.get(el, 0.0)) for el in totals)

    @computed_field(description="Crystallisation stages, joined by '+' within one.")
    @property
    def sequence(self) -> list[str]:
        """Crystallisation stages, e.g. ['Li2.82Al0.06PS4', 'Li7P3S11']."""
        stages: dict[int, list[str]] = {}
        for p in self.phases:
            if p.stage is not None:
                stages.setdefault(p.stage, []).append(p.name)
        return [" + ".join(names) for _, names in sorted(stages.items())]

    def wt(self, name: str, basis: Basis = "sample") -> float:
        """Weight fraction of phase ``name`` ('core' for the core).

        0 if absent, and for the unreacted accelerant on the crystalline basis.
        """
        for p in self.phases:
            if p.name == name or (name == "core" and p.role == "core"):
                value = (
                    p.wt_fraction if basis == "sample" else p.wt_fraction_crystalline
                )
                return value or 0.0
        return 0.0

    def row(self) -> dict[str, object]:
        """Flat summary (one CSV row)."""
        out: dict[str, object] = {
            "sample": self.sample,
            "li2s": self.li2s,
            "p2s5": self.p2s5,
            "accelerant": self.accelerant,
            "scheme": self.scheme,
            "solubility": self.solubility,
            "accelerant_moles": self.accelerant_moles,
            "core": self.core,
            "core_moles": self.core_moles,
            "core_stop": self.core_stop,
            "sequence": " -> ".join(self.sequence),
            "core_wt_crystalline": self.wt("core", "crystalline"),
        }
        wts = {f"wt_{k}": 0.0 for k in ("core", *PHASE_ORDER[1:], "accelerant")}
        for p in self.phases:
            key = {"core": "core", "unreacted accelerant": "accelerant"}.get(
                p.role, p.name
            )
            wts[f"wt_{key}"] = p.wt_fraction
        out.update(wts)
        out.update(
            residual_li2s=self.residual_li2s,
            residual_p2s5=self.residual_p2s5,
            residual_ps=self.residual_ps,
            unreacted_accelerant_moles=self.unreacted_accelerant_moles,
            measured_conductivity=self.measured_conductivity,
            max_imbalance=self.max_imbalance(),
        )
        return out


class InverseResult(BaseModel):
    """Core amount and residual P/S ratio from a measured core weight fraction."""

    sample: str = Field(..., description="Sample name.")
    accelerant: str = Field(..., description="Accelerant formula.")
    scheme: str = Field(..., description="Charge compensation scheme.")
    solubility: float = Field(..., description="x in the core.")
    core_wt_fraction: float = Field(..., description="Measured core weight fraction.")
    basis: Basis = Field(
        ...,
        description="'crystalline': of the sample less the unreacted accelerant; "
        "'sample': of the whole sample.",
    )
    core_moles: float = Field(..., description="Core formed (mol PS4 units).")
    max_core_moles: float = Field(
        ..., description="Most core the composition allows (mol)."
    )
    residual_li2s: float = Field(..., description="Li2S left after the core (mol).")
    residual_p2s5: float = Field(..., description="P2S5 left after the core (mol).")
    residual_ps: float | None = Field(
        ..., description="P/S of the Li2S + P2S5 left after the core."
    )
    rule_core_moles: float = Field(
        ..., description="Core the sequential rule (evolve) predicts, for comparison."
    )
    rule_core_wt_fraction: float = Field(
        ..., description="Core weight fraction the rule predicts, on the same basis."
    )
    evolution: PhaseEvolution = Field(
        ..., description="All phases with the measured amount of core."
    )

    def max_imbalance(self) -> float:
        """Largest element imbalance of the phase list (mol)."""
        return self.evolution.max_imbalance()
