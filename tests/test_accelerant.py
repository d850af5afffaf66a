import pytest

from lpsflow.errors import CompositionError
from lpsflow.structures.accelerant import parse_accelerant


@pytest.mark.parametrize(
    ("formula", "cation", "q", "schemes"),
    [
        ("Al2S3", "Al", 3, ["Li-site", "empty-site"]),
        ("Ga2S3", "Ga", 3, ["Li-site", "empty-site"]),
        ("S3Al2", "Al", 3, ["Li-site", "empty-site"]),
        ("SiS2", "Si", 4, ["Li-site", "empty-site", "P-site"]),
        ("GeS2", "Ge", 4, ["Li-site", "empty-site", "P-site"]),
        ("Sb2S5", "Sb", 5, ["Li-site", "empty-site", "P-site"]),
        ("ZnS", "Zn", 2, ["Li-site", "empty-site"]),
    ],
)
def test_oxidation_state_and_schemes(formula, cation, q, schemes):
    acc = parse_accelerant(formula)
    assert acc.cation == cation
    assert acc.oxidation_state == q
    assert [s.name for s in acc.schemes] == schemes


def test_compensation_counts():
    si = parse_accelerant("SiS2")
    li_site, empty, p_site = si.schemes
    assert (li_site.n_vacancies, li_site.n_interstitials) == (3, 0)
    assert (empty.n_vacancies, empty.n_interstitials) == (4, 0)
    assert (p_site.n_vacancies, p_site.n_interstitials) == (0, 1)
    al, al_empty = parse_accelerant("Al2S3").schemes
    assert (al.n_vacancies, al.n_interstitials) == (2, 0)
    # the study's scheme: Al in an empty LiS6 site, three Li removed
    assert (al_empty.n_vacancies, al_empty.n_interstitials) == (3, 0)


@pytest.mark.parametrize(
    ("formula", "scheme", "label"),
    [
        ("Al2S3", "Li-site", "Li2.8125Al0.0625PS4"),
        ("Al2S3", "empty-site", "Li2.8125Al0.0625PS4"),
        ("SiS2", "Li-site", "Li2.75Si0.0625PS4"),
        ("SiS2", "P-site", "Li3.0625Si0.0625P0.9375S4"),
    ],
)
def test_core_label_is_charge_neutral(formula, scheme, label):
    acc = parse_accelerant(formula)
    assert acc.core_label(scheme, 1 / 16) == label
    amounts = acc.scheme(scheme).core_formula_per_fu(acc.oxidation_state, 1 / 16)
    charge = amounts["Li"] + acc.oxidation_state * amounts["M"] + 5 * amounts["P"]
    assert charge == pytest.approx(2 * amounts["S"])


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("Al2O3", "not a sulfide"),
        ("Xx2S3", "unknown element"),
        ("hello", "not a chemical formula"),
        ("AlGaS3", "not a binary sulfide"),
        ("P2S5", "glass itself"),
        ("Li2S", "glass itself"),
        ("CS2", "not a metal"),
        ("Fe3S4", "not an integer"),
        ("", "not a chemical formula"),
    ],
)
def test_bad_accelerants(formula, message):
    with pytest.raises(CompositionError, match=message):
        parse_accelerant(formula)


def test_p_site_not_allowed_for_trivalent():
    with pytest.raises(CompositionError, match="not possible"):
        parse_accelerant("Al2S3").scheme("P-site")
