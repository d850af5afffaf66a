"""The solubility jobs of a campaign: one series over x per accelerant and scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow import roles
from lpsflow.descriptors.solubility.jobs import solubility_job
from lpsflow.descriptors.solubility.schema import Sublattices
from lpsflow.structures.doping_sites import (
    blocked_li,
    candidate_interstitials,
    empty_s6_sites,
    symmetry_operations,
)

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from lpsflow.flows.campaign import CampaignBuild
    from lpsflow.structures.accelerant import Scheme

#: The competing phases of the hull the doped cells are measured against.
REFERENCES = ("Li2S", "P2S5", "S", "Li3PS4", "Li7P3S11", "Li4P2S6")


def sublattices(scheme: Scheme, host: Structure) -> Sublattices:
    """Where a scheme puts the dopant, vacancies and extra Li, with site counts.

    M enters the Li sublattice (Li-site: Li per PS4 of the host), the empty LiS6
    sites (empty-site) or the P sublattice; extra Li go to the candidate
    interstitial sites of the host (the same finders the doped cells are built
    with).
    """
    per_ps4 = 1 / host.composition["P"]
    if scheme.name == "empty-site":
        # the Li a dopant blocks leave with it (bound); the rest mix freely: with
        # the site that blocks fewest, the most entropy (the upper bound)
        sites = empty_s6_sites(host)
        fewest = min((len(b) for b in blocked_li(host, sites)), default=0)
        return Sublattices(
            host_sites=host.composition["Li"] * per_ps4,
            vacancies=scheme.n_vacancies - fewest,
            empty_sites=len(sites) * per_ps4,
        )
    if scheme.name == "P-site":
        rot, trans = symmetry_operations(host, 0.01)
        n_int = (
            len(candidate_interstitials(host, rot, trans))
            if scheme.n_interstitials
            else 0
        )
        return Sublattices(
            host_sites=1.0,
            vacancies=scheme.n_vacancies,
            interstitials=scheme.n_interstitials,
            interstitial_sites=n_int * per_ps4,
        )
    return Sublattices(
        host_sites=host.composition["Li"] * per_ps4, vacancies=scheme.n_vacancies
    )


def build(b: CampaignBuild) -> None:
    """F(x) and E_hull of the doped cells at ``doping.solubility_x`` and ``x``."""
    doping = b.campaign.doping
    if not doping.solubility_x:
        return
    for acc in b.accelerants:
        refs = [b.species(p) for p in (*REFERENCES[:3], acc.formula, *REFERENCES[3:])]
        for scheme in b.schemes(acc):
            series = b.series(acc, scheme)
            sites = sublattices(acc.scheme(scheme), b.structure("Li3PS4"))
            t = doping.synthesis_temperature
            job = solubility_job(acc.formula, scheme, t, sites, refs, series)
            b.book.add(
                job,
                roles.solubility(acc.formula, scheme),
                name=f"solubility {acc.formula} {scheme}",
                salt=False,
            )
