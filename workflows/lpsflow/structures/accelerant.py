"""Binary sulfide accelerants MxSy: parsing, oxidation state, charge compensation.

The dopant's oxidation state q follows from S2- charge balance (q = 2y/x). The
charge-compensation schemes for a dopant in beta-Li3PS4 are:

* ``Li-site``: M on a Li site plus (q - 1) Li vacancies, giving Li(3-qx)M(x)PS4
  (for M3+ the study's Li(3-3x)M(x)PS4);
* ``empty-site``: M in an empty LiS6 site of the host plus q Li vacancies, the same
  composition (the study's NMR places Al there: Al on an empty LiS6 site, three Li
  removed); the empty sites are :func:`~lpsflow.structures.doping_sites.empty_s6_sites`;
* ``P-site`` (q = 4 or 5): M on the P site plus (5 - q) extra Li (interstitial),
  giving Li(3+(5-q)x)M(x)P(1-x)S4, as Ge in Li10GeP2S12.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from pymatgen.core import Composition, Element

from lpsflow.errors import CompositionError

#: Schemes that keep every P and remove Li: the composition Li(3-qx)M(x)PS4. Their
#: cells have equal compositions, so their energies compare directly.
LI_SUBLATTICE_SCHEMES = ("Li-site", "empty-site")

#: Every scheme, in the order :attr:`Accelerant.schemes` lists them.
SCHEME_NAMES = ("Li-site", "empty-site", "P-site")

#: Elements that make the glass itself and are therefore not accelerants.
_GLASS_FORMERS = {"Li", "P"}


def same_composition(name: str) -> list[str]:
    """The schemes whose cells have the composition of ``name``'s (itself first)."""
    if name not in LI_SUBLATTICE_SCHEMES:
        return [name]
    return [name, *(s for s in LI_SUBLATTICE_SCHEMES if s != name)]


@dataclass(frozen=True)
class Scheme:
    """One charge-compensation scheme for a dopant in beta-Li3PS4."""

    name: str
    """'Li-site', 'empty-site' or 'P-site'."""
    n_vacancies: int
    """Li vacancies per dopant."""
    n_interstitials: int
    """Extra Li per dopant."""

    @property
    def host_element(self) -> str | None:
        """The host species M replaces: Li, P, or None (an empty site)."""
        return {"Li-site": "Li", "P-site": "P"}.get(self.name)

    def core_formula_per_fu(self, q: int, x: float) -> dict[str, float]:
        """Amounts per PS4 formula unit of the doped core."""
        if self.name in LI_SUBLATTICE_SCHEMES:
            return {"Li": 3 - q * x, "M": x, "P": 1.0, "S": 4.0}
        return {"Li": 3 + (5 - q) * x, "M": x, "P": 1 - x, "S": 4.0}


@dataclass(frozen=True)
class Accelerant:
    """A binary sulfide accelerant MxSy."""

    formula: str
    """Reduced formula, e.g. Al2S3."""
    cation: str
    """Element symbol of M."""
    oxidation_state: int
    """Formal oxidation state q of M (S2- balance)."""

    @property
    def schemes(self) -> list[Scheme]:
        """Charge-compensation schemes this dopant allows."""
        q = self.oxidation_state
        out = [
            Scheme("Li-site", n_vacancies=q - 1, n_interstitials=0),
            Scheme("empty-site", n_vacancies=q, n_interstitials=0),
        ]
        if q in (4, 5):
            out.append(Scheme("P-site", n_vacancies=0, n_interstitials=5 - q))
        return out

    def scheme(self, name: str) -> Scheme:
        """The scheme called ``name``; error if the dopant does not allow it."""
        for s in self.schemes:
            if s.name == name:
                return s
        raise CompositionError(
            f"{self.formula}: scheme '{name}' is not possible for "
            f"{self.cation}{self.oxidation_state}+ "
            f"(allowed: {', '.join(s.name for s in self.schemes)})"
        )

    def core_label(self, scheme: str, x: float) -> str:
        """Human-readable formula of the doped core, e.g. Li2.8125Al0.0625PS4."""
        amounts = self.scheme(scheme).core_formula_per_fu(self.oxidation_state, x)
        parts = []
        for el, n in (
            ("Li", amounts["Li"]),
            (self.cation, amounts["M"]),
            ("P", amounts["P"]),
            ("S", amounts["S"]),
        ):
            parts.append(el if abs(n - 1) < 1e-12 else f"{el}{_fmt(n)}")
        return "".join(parts)


def _fmt(n: float) -> str:
    frac = Fraction(n).limit_denominator(1000)
    if frac.denominator == 1:
        return str(frac.numerator)
    return f"{n:.6g}"


def parse_accelerant(formula: str) -> Accelerant:
    """Validate a binary sulfide formula and derive the dopant's oxidation state."""
    text = str(formula).strip()
    try:
        comp = Composition(text)
        symbols = {el.symbol for el in comp.elements}
    except Exception as exc:  # pymatgen raises ValueError/KeyError on bad formulas
        raise CompositionError(f"'{text}' is not a chemical formula") from exc
    unknown = sorted(el.symbol for el in comp.elements if not isinstance(el, Element))
    if unknown:
        raise CompositionError(f"{text}: unknown element {', '.join(unknown)}")
    if comp.num_atoms == 0:
        raise CompositionError(f"'{text}' is not a chemical formula")
    if "S" not in symbols:
        raise CompositionError(f"{text} is not a sulfide (no S)")
    cations = symbols - {"S"}
    if len(cations) != 1:
        raise CompositionError(
            f"{text} is not a binary sulfide MxSy "
            f"(elements: {', '.join(sorted(symbols))})"
        )
    cation = cations.pop()
    if cation in _GLASS_FORMERS:
        raise CompositionError(
            f"{text} is a component of the Li2S-P2S5 glass itself, not an accelerant"
        )
    el = Element(cation)
    if not (el.is_metal or el.is_metalloid):
        raise CompositionError(f"{text}: {cation} is not a metal or metalloid cation")
    ratio = Fraction(2 * comp["S"] / comp[cation]).limit_denominator(100)
    if ratio.denominator != 1 or not 1 <= ratio.numerator <= 5:
        raise CompositionError(
            f"{text}: S2- balance gives {cation} an oxidation state of "
            f"{float(ratio):.3g}, "
            "not an integer between 1 and 5"
        )
    return Accelerant(
        formula=comp.reduced_formula, cation=cation, oxidation_state=ratio.numerator
    )
