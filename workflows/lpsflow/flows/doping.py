"""Doped-core branch: the arrangements of one accelerant, scheme and x, relaxed.

Roles ``screen:core:<accelerant>:<scheme>[:<x>]`` (single points of the
Ewald-ranked arrangements on the relaxed host) and
``relax:core:<accelerant>:<scheme>[:<x>]:<i>`` (the lowest ``relax_top``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobflow import Flow, Maker

from lpsflow.flows.book import current_book
from lpsflow.jobs.screening import screen_arrangements
from lpsflow.roles import Role
from lpsflow.structures.arrangement_ranking import ranked_arrangements
from lpsflow.structures.supercells import choose_supercell

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure

    from lpsflow.structures.accelerant import Accelerant


@dataclass
class DopedCellsMaker(Maker):
    """Screen and relax the doped Li3PS4 cells of one accelerant, scheme and x.

    Arrangements are enumerated and Ewald-ranked when the flow is made, on the
    starting host; the screening job applies them to the relaxed host and keeps
    the lowest single points. The flow's output is ``{"formula": <doped cell
    formula>, "relaxed": [<relaxation outputs>]}``.

    Parameters
    ----------
    name
        Flow name.
    screen_top
        Arrangements screened by single points (best Ewald energies first); with
        ``screen_patience``, the size of each batch.
    relax_top
        Screened arrangements relaxed (lowest single points first).
    max_enumerate
        Most arrangements enumerated before ranking.
    screen_patience
        Screen batch after batch (``screen_top`` each, in Ewald order) until the
        lowest single point has held through this many batches; 0: one batch.
    screen_max
        Most arrangements screened with ``screen_patience`` (the Ewald pool).
    relax_maker
        Relaxation of the doped cells (cell relaxed).
    screening_model, device
        MLIP of the single points and where it runs.

    """

    name: str = "doped cells"
    screen_top: int = 10
    relax_top: int = 2
    max_enumerate: int = 100000
    screen_patience: int = 0
    screen_max: int = 240
    relax_maker: Maker | None = None
    screening_model: str = "CHGNet"
    device: str = "cpu"

    def make(
        self,
        accelerant: Accelerant,
        scheme: str,
        x: float,
        host: Structure,
        relaxed_host: Job,
        supercell: tuple[int, int, int] | None = None,
        x_label: str = "",
    ) -> Flow:
        """The doped cells at ``x`` in ``host`` (Li3PS4) and their relaxations.

        ``relaxed_host``: the relaxation of ``host``; ``supercell``: the cell
        (default: the smallest that holds ``x``); ``x_label``: x as the roles name
        it, empty at the campaign's own x.
        """
        b = current_book()
        start = len(b.jobs)
        cell, n_dopants = choose_supercell(host, x, supercell=supercell)
        host_sc = host.copy()
        host_sc.make_supercell(list(cell))
        ranked, n_distinct = ranked_arrangements(
            host_sc,
            accelerant,
            accelerant.scheme(scheme),
            n_dopants,
            self.screen_max if self.screen_patience else self.screen_top,
            self.max_enumerate,
        )
        adaptive = (
            {"batch": self.screen_top, "patience": self.screen_patience}
            if self.screen_patience
            else {}
        )
        role = Role(
            "screen", accelerant.formula, branch="core", scheme=scheme, x=x_label
        )
        words = role.tag.replace(":", " ")
        screen = b.add(
            screen_arrangements(
                relaxed_host.output.structure,
                cell,
                accelerant.formula,
                accelerant.cation,
                scheme,
                x,
                [a.as_dict() for a in ranked],
                n_distinct,
                self.relax_top,
                model=self.screening_model,
                device=self.device,
                **adaptive,
            ),
            role,
            name=f"screen core {words}",
        )
        relaxes = [
            b.add(
                self.relax_maker.make(screen.output.selected[i]),
                role.but(step="relax", index=i),
                name=f"relax core {words} #{i}",
            )
            for i in range(min(self.relax_top, len(ranked)))
        ]
        formula = ranked[0].apply(host_sc, accelerant.cation).formula.replace(" ", "")
        output = {"formula": formula, "relaxed": [r.output for r in relaxes]}
        return b.flow_since(start, output, f"{self.name} {words}")
