"""Grain-boundary and migration-barrier branch of the campaign (SCIENCE.md 6, 8).

Per GB (``kind`` homo / core / hetero, one ``label``), with roles:

* ``screen:gb:<kind>:<label>``: build the bicrystal cells on the relaxed bulk(s)
  over the shift grid, MLIP single points, keep the lowest; then walk its boundary
  separation downhill (rigid scan);
* ``relax:gb:<kind>:<label>``: the chosen cell, in-plane cell fixed, its normal
  length free unless ``grain_boundaries.relax_normal`` is off (phase
  :data:`~lpsflow.calculators.base.GRAIN_BOUNDARY`);
* ``gb:<kind>:<label>``: gamma_GB from the relaxed GB and bulk energies.

Per NEB path (``gb``: along the boundary in the relaxed GB cell; ``bulk``: in a
relaxed bulk cell): ``neb:<path>:<label>``, the MLIP climbing-image NEB of the
automatically selected hop(s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OutputReference

from lpsflow import roles
from lpsflow.descriptors.grain_boundaries.jobs import (
    GBGeometry,
    gb_energy_job,
    screen_grain_boundary,
)
from lpsflow.descriptors.reactions.jobs import job_ref
from lpsflow.errors import StructureError
from lpsflow.flows.book import current_book
from lpsflow.structures.gb_match import GBMatch, gb_match
from lpsflow.structures.grain_boundaries import QUICK, GBSettings

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure

    from lpsflow.campaign import Campaign

#: Default boundary planes per kind: (grain A, grain B).
GB_MILLERS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "homo": ((0, 1, 0), (0, 1, 0)),  # Li7P3S11 (010) / Li7P3S11 (010)
    "core": ((1, 0, 0), (1, 0, 0)),  # core (100) / core (100)
    "hetero": ((1, 0, 0), (0, 1, 0)),  # core (100) / Li7P3S11 (010)
}


def _settings(kind: str, settings: GBSettings | dict | None) -> dict[str, Any]:
    if settings is None:
        settings = QUICK[kind]
    if isinstance(settings, GBSettings):
        settings = asdict(settings)
    out = {**asdict(QUICK[kind]), **dict(settings)}
    out["shift_grid"] = list(out["shift_grid"])
    return out


@dataclass
class GrainBoundaryMaker(Maker):
    """One grain boundary: screen the rigid shifts, relax the best, its energy.

    Parameters
    ----------
    name
        Flow name.
    kind
        ``homo`` (Li7P3S11/Li7P3S11), ``core`` (core/core) or ``hetero``
        (core/Li7P3S11).
    miller_a, miller_b
        Boundary planes of grain A and B (default :data:`GB_MILLERS`); for
        ``homo`` and ``core`` a ``miller_b`` other than ``miller_a`` gives an
        asymmetric boundary (grain B the same bulk, cut on ``miller_b``).
    settings
        Builder settings (a ``GBSettings`` or a dict of its fields; missing fields
        from :data:`~lpsflow.structures.grain_boundaries.QUICK`).
    relax_maker
        Relaxation of the GB cell (in-plane cell fixed; normal length fixed or
        free, ``relax_cell`` ``False`` or ``"normal"``).
    screening_model, device
        MLIP of the single-point screen and where it runs.

    """

    name: str = "grain boundary"
    kind: str = "homo"
    miller_a: tuple[int, int, int] | None = None
    miller_b: tuple[int, int, int] | None = None
    settings: GBSettings | dict | None = None
    relax_maker: Maker | None = None
    screening_model: str = "CHGNet"
    device: str = "cpu"

    def make(
        self,
        label: str,
        bulk_a: list[Job | OutputReference],
        bulk_b: list[Job | OutputReference] | None = None,
        parent: Structure | None = None,
    ) -> Flow:
        """Screen, relax and energy jobs; the output is the energy job's.

        ``bulk_a``: relaxations of grain A's bulk (Li7P3S11 for ``homo``, the core
        otherwise; the lowest converged is used); ``bulk_b``: grain B's (Li7P3S11,
        ``hetero`` only); ``parent``: the undoped host of a doped grain A (its
        symmetry decides what is no boundary). The output, a ``GBEnergyDoc``,
        carries the relaxed cell for :class:`NebMaker`.
        """
        b = current_book()
        start = len(b.jobs)
        kind = self.kind
        ma, mb = GB_MILLERS[kind]
        miller_a = tuple(self.miller_a or ma)
        miller_b = tuple(self.miller_b or mb)
        hetero = kind == "hetero"
        asymmetric = not hetero and miller_b != miller_a  # grain B on another plane
        result = roles.gb_energy(kind, label)
        words = f"{kind} {label}"
        a_refs = [job_ref(j) for j in bulk_a]
        b_refs = [job_ref(j) for j in bulk_b] if hetero and bulk_b else None
        scr = b.add(
            screen_grain_boundary(
                kind,
                label,
                a_refs,
                b_refs,
                GBGeometry(
                    miller_a=miller_a,
                    miller_b=miller_b if hetero or asymmetric else None,
                    settings=_settings(kind, self.settings),
                ),
                model=self.screening_model,
                device=self.device,
                parent=parent,
            ),
            result.but(step="screen"),
            name=f"screen gb {words}",
        )
        relax = b.add(
            self.relax_maker.make(scr.output.gb),
            result.but(step="relax"),
            name=f"relax gb {words}",
        )
        energy = b.add(
            gb_energy_job(scr.output, job_ref(relax), a_refs, b_refs),
            result,
            name=f"gb energy {words}",
            salt=False,
        )
        return b.flow_since(start, energy.output, f"{self.name} {words}")


def check_grain_boundaries(campaign: Campaign) -> dict[str, GBMatch]:
    """Coincidence cells of the campaign's GBs on the starting structures.

    Like :func:`lpsflow.descriptors.binding.flow.check_lattice_matches`: a plane or
    misorientation with no coincidence cell within the limits becomes one clear
    error before anything runs (the jobs match the relaxed bulks later). Raises
    ``StructureError`` naming the settings to change.
    """
    from lpsflow.descriptors.binding.flow import doped_stand_in
    from lpsflow.structures.library import load_structure

    gbs = campaign.grain_boundaries
    if not gbs.enabled or not campaign.accelerants:
        return {}
    overrides = campaign.structure_overrides
    li7 = load_structure("Li7P3S11", overrides)
    host = load_structure("Li3PS4", overrides)
    out = {}
    for kind in gbs.kinds:
        st = getattr(gbs, kind)
        ma, mb = GB_MILLERS[kind]
        ma, mb = tuple(st.miller_a or ma), tuple(st.miller_b or mb)
        a = (
            li7
            if kind == "homo"
            else doped_stand_in(campaign, campaign.gb_kind_x(kind))
        )
        b_bulk, b_miller = (li7, mb) if kind == "hetero" else (None, None)
        if kind != "hetero" and mb != ma:  # asymmetric: grain A's bulk on mb
            b_bulk, b_miller = a, mb
        try:
            out[kind] = gb_match(
                a, ma, b_bulk, b_miller, twist=st.twist, flip=st.flip,
                max_area=st.max_area, max_strain=st.max_strain,
                max_length_tol=st.max_length_tol, max_angle_tol=st.max_angle_tol,
                max_area_ratio_tol=st.max_area_ratio_tol,
                parent=host if kind == "core" else None,
            )  # fmt: skip
        except StructureError as exc:
            raise StructureError(
                f"grain_boundaries.{kind}: {exc}; change grain_boundaries.{kind}."
                "miller_a/miller_b or twist, or relax max_area / max_strain (or the "
                "ZSL tolerances) in the campaign file"
            ) from exc
    return out
