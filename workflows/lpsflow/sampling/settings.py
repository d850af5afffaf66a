"""The ``sampling`` section of a campaign file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lpsflow.campaign_fields import Strict


class SamplingSettings(Strict):
    """How many samples the descriptors take: fixed, or until verdicts are decided."""

    mode: Literal["fixed", "adaptive"] = Field(
        "fixed",
        description="fixed: the samples the settings ask for (relax_top of doping, "
        "interfaces, vacancies), once. adaptive: then rounds per accelerant that "
        "raise those of each criterion left undecided by one, until it is decided, "
        "none can be raised, max_rounds ran or the budget is spent.",
    )
    max_rounds: int = Field(
        3, ge=1, description="Rounds per accelerant, the first (the settings) included."
    )
    max_samples: int = Field(
        4,
        ge=1,
        description="Highest relax_top a round raises a setting to (arrangements, "
        "registries or Li sites relaxed).",
    )
    budget: int | None = Field(
        None,
        ge=0,
        description="Force calls (relaxation steps) the rounds after the first may "
        "add per accelerant; a round adds work only while less was spent (None: no "
        "limit).",
    )
