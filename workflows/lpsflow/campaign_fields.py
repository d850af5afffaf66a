"""Field types shared by the sections of a campaign file.

Strict models (unknown keys are errors), dopant contents given as fractions and
Miller planes.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
)


class Strict(BaseModel):
    """A section of the campaign file: an unknown key is an error."""

    model_config = ConfigDict(extra="forbid")


def parse_fraction(value: Any) -> Any:
    """A dopant content given as text ('1/4', '0.25') as a float."""
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(
                f"x must be a number or a fraction, got '{value}'"
            ) from exc
    return value


def check_x(value: float) -> float:
    """A dopant content strictly between 0 and 1 (else ValueError)."""
    if not 0 < value < 1:
        raise ValueError(f"x must lie strictly between 0 and 1, got {value}")
    return value


def optional_x(value: float | None) -> float | None:
    """:func:`check_x` where a value is given."""
    return None if value is None else check_x(value)


#: An optional dopant content given as a number or a fraction string ('1/4').
OptionalX = Annotated[
    float | None, BeforeValidator(parse_fraction), AfterValidator(optional_x)
]


def check_plane(value: tuple[int, int, int]) -> tuple[int, int, int]:
    """A Miller index that names a plane (not (0, 0, 0); else ValueError)."""
    if not any(value):
        raise ValueError("Miller index (0, 0, 0) is not a plane")
    return value


#: A plane (hkl) of a cell as given.
Plane = Annotated[tuple[int, int, int], AfterValidator(check_plane)]
