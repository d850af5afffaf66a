"""An asymmetric homo GB: Li7P3S11 (010) facing Li7P3S11 (100), beyond Sigma 1.

Li7P3S11 (P-1) has no (010) twist coincidence other than the 180-degree turn (Sigma
1); two different planes of the same bulk give a general boundary.
"""

from __future__ import annotations

from lpsflow.campaign import campaign_from_dict
from lpsflow.descriptors.grain_boundaries.jobs import GBGeometry, screen_grain_boundary
from lpsflow.flows.campaign import build_campaign
from lpsflow.jobs.identity import arguments
from lpsflow.jobs.screening import single_point
from lpsflow.structures.gb_match import gb_match
from lpsflow.structures.library import load_structure

ASYM = {
    "miller_b": (1, 0, 0), "layers_a": 1, "layers_b": 1, "twist": None, "flip": None,
    "max_area": 320.0, "max_strain": 0.07, "max_length_tol": 0.08,
    "max_angle_tol": 0.08,
}  # fmt: skip


def test_li7p3s11_010_has_only_the_sigma_1_twist():
    li7 = load_structure("Li7P3S11")
    m = gb_match(li7, (0, 1, 0), max_area=620, max_strain=0.05, flip=None)
    assert round(m.sigma) == 1 and round(m.twist_angle) == 180


def test_the_campaign_builds_an_asymmetric_homo_gb():
    data = {
        "name": "asym", "accelerants": ["Al2S3"], "doping": {"x": "1/4"},
        "grain_boundaries": {"kinds": ["homo"], "homo": ASYM},
        "neb": {"enabled": False},
    }  # fmt: skip
    cflow = build_campaign(campaign_from_dict(data))
    job = next(
        j for j in cflow.flow.jobs if j.uuid == cflow.roles["screen:gb:homo:Li7P3S11"]
    )
    args = arguments(job)
    assert tuple(args["geometry"].miller_b) == (1, 0, 0)
    assert args["bulk_b"] is None  # grain B is grain A's bulk, on another plane
    # the symmetric default keeps a single plane
    plain = build_campaign(
        campaign_from_dict({**data, "grain_boundaries": {"kinds": ["homo"]}})
    )
    job = next(
        j for j in plain.flow.jobs if j.uuid == plain.roles["screen:gb:homo:Li7P3S11"]
    )
    assert arguments(job)["geometry"].miller_b is None


def test_screen_of_li7p3s11_010_on_100():
    li7 = load_structure("Li7P3S11")
    energy = single_point(li7, "CHGNet", "cpu")
    bulk = {
        "doc": {"structure": li7, "output": {"energy": energy},
                "forcefield_name": "CHGNet", "is_force_converged": True},
        "uuid": "li7",
    }  # fmt: skip
    settings = {k: v for k, v in ASYM.items() if k != "miller_b"}
    geometry = GBGeometry(
        miller_a=(0, 1, 0), miller_b=(1, 0, 0),
        settings={**settings, "shift_grid": (1, 1), "normal_step": 0.2,
                  "normal_max_steps": 3},
    )  # fmt: skip
    doc = screen_grain_boundary.original("homo", "Li7P3S11", [bulk], None, geometry)
    assert doc.miller_a == (0, 1, 0) and doc.miller_b == (1, 0, 0)
    assert doc.sigma > 1.5  # beyond Sigma 1
    assert doc.gb.composition.reduced_formula == "Li7P3S11"
    assert doc.n_atoms_a + doc.n_atoms_b == len(doc.gb)
    assert doc.bulk_a_job == doc.bulk_b_job == "li7"
