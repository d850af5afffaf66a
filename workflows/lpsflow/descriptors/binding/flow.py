"""Interface branch of the campaign: E_bind(n) of Li7P3S11 films, hetero and homo.

Per series (hetero on one accelerant's doped core; homo once per campaign), with
roles ``<what>:<kind>:<label>...``:

* ``screen:interface:<kind>:<label>:n<n>``: build + shift screening (single points);
* ``relax:interface:<kind>:<label>:n<n>``: the interface, cell fixed, bottom
  substrate layers fixed (selective dynamics for VASP, ASE FixAtoms for the MLIP);
* ``parts:interface:<kind>:<label>:n<n>``: film and substrate cut from the relaxed
  interface (``interfaces.references``: ``lowest``, the default, or
  ``relaxed_interface``);
* ``relax:interface:<kind>:<label>:n<n>:film`` and ``...:n<n>:substrate``: the
  references relaxed from those parts;
* ``relax:interface:<kind>:<label>:n<n>:cut:film`` and ``...:cut:substrate``
  (``lowest``; without ``cut:`` for ``screened_cell``): the references cut from the
  screened cells, relaxed alongside the interfaces, one substrate per series (the
  same block, in the same in-plane cell, for every n); ``lowest`` takes the lower
  energy of each pair;
* ``screen:interface:<kind>:<label>:n<n>:starts`` and
  ``relax:interface:<kind>:<label>:n<n>:start<i>`` (``interfaces.relax_top`` > 1,
  i = 2..relax_top): the cells of the next distinct registries and the interface
  relaxed from each, with ``parts:...:start<i>`` and ``relax:...:start<i>:film`` /
  ``:substrate``;
* ``binding:<kind>:<label>``: E_bind(n) and the summary value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OutputReference

from lpsflow import roles
from lpsflow.calculators.base import INTERFACE
from lpsflow.descriptors.binding.jobs import (
    binding_energy_job,
    interface_parts,
    interface_starts,
    screen_interface,
)
from lpsflow.descriptors.binding.schema import InterfaceGeometry
from lpsflow.descriptors.reactions.jobs import job_ref
from lpsflow.errors import StructureError
from lpsflow.flows.book import current_book
from lpsflow.roles import Role
from lpsflow.structures.lattice_match import LatticeMatch, match_interface

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.calculators.base import Backend
    from lpsflow.campaign import Campaign
    from lpsflow.campaign_branches import InterfaceSeriesSettings

#: Phase label of interface relaxations (VASP: length-based k-mesh, 1 along c;
#: dipole correction along c).
INTERFACE_PHASE = INTERFACE


@dataclass
class BindingSeriesMaker(Maker):
    """E_bind(n) of Li7P3S11 films of n = 1..``film_layers`` layers on a substrate.

    Per n: a screen of rigid shifts (single points), the interface relaxed (cell
    fixed, bottom substrate layers fixed), the film and substrate references, and
    with ``relax_top`` > 1 the next distinct registries relaxed too; then one
    binding-energy job.

    Parameters
    ----------
    name
        Flow name.
    kind
        ``hetero`` (on an accelerant's doped core) or ``homo`` (on Li7P3S11).
    film_layers
        Largest number of film layers n.
    film_miller, substrate_miller
        Planes of the film and of the substrate.
    series
        The series' geometry (``InterfaceSeriesSettings``: substrate layers, fixed
        layers, shift grid, lattice-match limits).
    vacuum
        Vacuum above the film (A).
    references
        Where the film and substrate references start: ``lowest``,
        ``relaxed_interface`` or ``screened_cell`` (``interfaces.references``).
    relax_top
        Interfaces relaxed per n (distinct registries, lowest single points first).
    relax_maker
        Relaxation of interfaces and references (cell fixed).
    screening_model, device
        MLIP of the single-point screens and where it runs.

    """

    name: str = "binding series"
    kind: str = "homo"
    film_layers: int = 2
    film_miller: tuple[int, int, int] = (0, 1, 0)
    substrate_miller: tuple[int, int, int] = (0, 1, 0)
    series: InterfaceSeriesSettings | None = None
    vacuum: float = 15.0
    references: str = "lowest"
    relax_top: int = 1
    relax_maker: Maker | None = None
    screening_model: str = "CHGNet"
    device: str = "cpu"

    def make(
        self,
        label: str,
        film: Job | OutputReference,
        substrates: list[Job | OutputReference],
        host: Job | OutputReference | None = None,
    ) -> Flow:
        """The series' jobs; the output is the binding job's (``BindingEnergyDoc``).

        ``film``: the relaxed film bulk; ``substrates``: relaxations of the
        substrate (the lowest converged is used); ``host``: the relaxation of the
        undoped phase of a doped substrate, whose layers the series' substrate
        thickness counts (hetero series).
        """
        b = current_book()
        start = len(b.jobs)
        kind = self.kind
        maker = self.relax_maker
        result = roles.binding(kind, label)
        words = f"{kind} {label}"
        from_parts = self.references in ("relaxed_interface", "lowest")
        from_cut = self.references in ("screened_cell", "lowest")
        cut = "cut:" if from_parts else ""  # role part of the second start in 'lowest'
        screens, ifaces, parts, starts = [], [], [], []
        k = self.relax_top  # interfaces relaxed per n
        films: dict[str, list] = {"parts": [], "cut": []}
        subs: dict[str, list] = {"parts": [], "cut": []}
        film_in, subs_in = job_ref(film), [job_ref(j) for j in substrates]
        geometry = InterfaceGeometry(
            film_miller=tuple(self.film_miller),
            substrate_miller=tuple(self.substrate_miller),
            series=self.series.model_dump(mode="json"),
            vacuum=self.vacuum,
        )
        mlip = {
            "model": self.screening_model,
            "device": self.device,
            # called as lpsflow 0.1.0 did, so its stored ids stay adoptable
            **({"substrate_host": job_ref(host)} if host is not None else {}),
        }
        for n in range(1, self.film_layers + 1):
            scr = b.add(
                screen_interface(kind, label, film_in, subs_in, n, geometry, **mlip),
                result.but(step="screen", n=n),
                name=f"screen interface {words} n={n}",
            )
            screens.append(scr)
            iface = b.add(
                maker.make(scr.output.interface),
                result.but(step="relax", n=n),
                name=f"relax interface {words} n={n}",
            )
            ifaces.append(iface)
            if from_parts:
                part = b.add(
                    interface_parts(scr.output, job_ref(iface)),
                    result.but(step="parts", n=n),
                    name=f"parts interface {words} n={n}",
                )
                parts.append(part)
                films["parts"].append(
                    b.add(
                        maker.make(part.output.film),
                        result.but(step="relax", n=n, part="film"),
                        name=f"relax film {words} n={n}",
                    )
                )
                subs["parts"].append(
                    b.add(
                        maker.make(part.output.substrate),
                        result.but(step="relax", n=n, part="substrate"),
                        name=f"relax substrate {words} n={n}",
                    )
                )
            if k > 1:  # the screen's own arguments but its label and n, and its output
                others = b.add(
                    interface_starts(scr.output, k, film_in, subs_in, geometry, **mlip),
                    result.but(step="screen", n=n, part="starts"),
                    name=f"starts interface {words} n={n}",
                )
                where = (result.but(step="relax", n=n), f"{words} n={n}")
                starts.append(
                    [
                        _add_start(b, maker, scr, others, i, *where, from_parts)
                        for i in range(1, k)
                    ]
                )
            if from_cut:
                films["cut"].append(
                    b.add(
                        maker.make(scr.output.film_reference),
                        result.but(step="relax", n=n, part=f"{cut}film"),
                        name=f"relax film {words} n={n}" + (" (cut)" if cut else ""),
                    )
                )
        if from_cut:
            subs["cut"].append(
                b.add(
                    maker.make(screens[0].output.substrate_reference),
                    result.but(step="relax", part=f"{cut}substrate"),
                    name=f"relax substrate {words}" + (" (cut)" if cut else ""),
                )
            )
        first = "parts" if from_parts else "cut"
        binding = b.add(
            binding_energy_job(
                kind,
                label,
                [s.output for s in screens],
                [job_ref(j) for j in ifaces],
                [job_ref(j) for j in films[first]],
                [job_ref(j) for j in subs[first]],
                [p.output for p in parts] if from_parts else None,
                alternatives=(
                    {
                        "films": [job_ref(j) for j in films["cut"]],
                        "substrates": [job_ref(j) for j in subs["cut"]],
                    }
                    if from_parts and from_cut
                    else None
                ),
                pool_substrates=from_parts and from_cut,
                **({"starts": starts} if k > 1 else {}),
            ),
            result,
            name=f"binding {words}",
            salt=False,
        )
        return b.flow_since(start, binding.output, f"{self.name} {words}")


def binding_series_maker(
    campaign: Campaign,
    kind: str,
    substrate_miller: tuple[int, int, int],
    series: InterfaceSeriesSettings,
    backend: Backend,
) -> BindingSeriesMaker:
    """The :class:`BindingSeriesMaker` of one series of the campaign's interfaces."""
    cfg, calc = campaign.interfaces, campaign.calculator
    return BindingSeriesMaker(
        kind=kind,
        film_layers=cfg.film_layers,
        film_miller=tuple(cfg.film_miller),
        substrate_miller=tuple(substrate_miller),
        series=series,
        vacuum=cfg.vacuum,
        references=cfg.references,
        relax_top=cfg.relax_top,
        relax_maker=backend.relax_maker(
            INTERFACE_PHASE, relax_cell=False, fmax=cfg.fmax
        ),
        screening_model=calc.screening_model,
        device=calc.device,
    )


def _add_start(
    b, maker, scr: Job, others: Job, i: int, at: Role, words: str, parts: bool
) -> dict:
    """Relax the ``i``-th other start of a screen (and its parts, with ``parts``).

    ``at``: the role of the screen's own relaxed interface (its n).
    """
    cell = others.output.cells[i - 1]
    iface = b.add(
        maker.make(cell),
        at.but(part=f"start{i + 1}"),
        name=f"relax interface {words} start {i + 1}",
    )
    start: dict[str, Any] = {"start": i, "cell": cell, "interface": job_ref(iface)}
    if parts:
        part = b.add(
            interface_parts(scr.output, job_ref(iface), start=cell),
            at.but(step="parts", part=f"start{i + 1}"),
            name=f"parts interface {words} start {i + 1}",
        )
        start["parts"] = part.output
        for what in ("film", "substrate"):
            start[what] = job_ref(
                b.add(
                    maker.make(getattr(part.output, what)),
                    at.but(part=f"start{i + 1}:{what}"),
                    name=f"relax {what} {words} start {i + 1}",
                )
            )
    return start


def check_lattice_matches(campaign: Campaign) -> dict[str, LatticeMatch]:
    """Lattice-match the starting structures before anything runs.

    The interface jobs match the *relaxed* bulks; checking the starting ones first
    turns a too-strict strain limit into one clear error at submission instead of
    failed jobs hours later. The doped core's in-plane lattice is that of its host
    supercell with the translations the dopant breaks (:func:`doped_stand_in`).
    Raises ``StructureError("no lattice match ...")`` naming the settings to relax.
    """
    from lpsflow.structures.library import load_structure

    ifc = campaign.interfaces
    if not ifc.enabled:
        return {}
    li7 = load_structure("Li7P3S11", campaign.structure_overrides)
    host = doped_stand_in(campaign, ifc.core_x or campaign.doping.x)
    out = {}
    for kind, substrate, miller, s in (
        ("hetero", host, ifc.core_miller, ifc.hetero),
        ("homo", li7, ifc.film_miller, ifc.homo),
    ):
        try:
            out[kind] = match_interface(
                li7, ifc.film_miller, substrate, miller, s.max_area, s.max_strain,
                max_length_tol=s.max_length_tol, max_angle_tol=s.max_angle_tol,
                max_area_ratio_tol=s.max_area_ratio_tol,
            )  # fmt: skip
        except StructureError as exc:
            raise StructureError(
                f"interfaces.{kind}: {exc}; relax interfaces.{kind}.max_strain / "
                "max_area (or the ZSL tolerances) in the campaign file"
            ) from exc
    return out


def doped_stand_in(campaign: Campaign, x: float):
    """The starting Li3PS4 supercell of the core at ``x`` with one Li replaced.

    Only its lattice and the translations the dopant breaks matter (pre-flight
    lattice/coincidence checks before the real doped cells exist).
    """
    from lpsflow.structures.library import load_structure
    from lpsflow.structures.supercells import choose_supercell

    host = load_structure("Li3PS4", campaign.structure_overrides)
    cell, _ = choose_supercell(host, x)
    host.make_supercell(list(cell))
    host.replace(host.indices_from_symbol("Li")[0], "Al")
    return host
