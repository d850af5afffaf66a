"""Export the VASP inputs a campaign would run, without running anything.

Useful to check a campaign before submitting it to a cluster, and to see exactly the
INCAR/KPOINTS (and POTCAR symbols) each relaxation gets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pymatgen.core import Structure

from lpsflow.calculators.base import DOPED_CORE
from lpsflow.calculators.vasp import VaspBackend, write_vasp_inputs
from lpsflow.flows.campaign import build_campaign

if TYPE_CHECKING:
    from lpsflow.campaign import Campaign


def export_vasp_inputs(campaign: Campaign, directory: str | Path) -> list[Path]:
    """Write one VASP input set per relaxation of ``campaign`` into ``directory``.

    The campaign is built with the ``vasp`` backend whatever its own backend is.
    Relaxations whose structure comes from an earlier job (the doped cores) are
    written for the best-Ewald arrangement applied to the unrelaxed host.
    """
    vasp = campaign.model_copy(deep=True)
    vasp.calculator.backend = "vasp"
    backend = VaspBackend(vasp.calculator)
    cflow = build_campaign(vasp)
    jobs = {j.uuid: j for j in cflow.flow.jobs}
    out, written = Path(directory), []
    for role, uuid in cflow.roles.items():
        if not role.startswith("relax:"):
            continue
        job = jobs[uuid]
        structure, phase = job.function_args[0], role.split(":", 1)[1]
        if not isinstance(structure, Structure):  # doped core: built by the screen job
            tag = ":".join(role.split(":")[2:-1])
            screen = jobs[cflow.roles[f"screen:core:{tag}"]]
            structure = _representative_core(screen, campaign.structure_overrides)
            phase = DOPED_CORE
        target = out / re.sub(r"[^A-Za-z0-9.-]+", "_", job.name).strip("_")
        write_vasp_inputs(backend, structure, phase, target)
        written.append(target)
    return written


def _representative_core(screen_job, overrides: dict) -> Structure:
    """The Ewald-best doped cell of a screening job, on the unrelaxed host."""
    from lpsflow.structures.doping import Arrangement
    from lpsflow.structures.library import load_structure

    _, cell, _, cation, *_ = screen_job.function_args
    arrangements = screen_job.function_args[6]
    host = load_structure("Li3PS4", overrides)
    host.make_supercell(list(cell))
    best = arrangements[0]
    if not isinstance(best, Arrangement):
        best = Arrangement.from_dict(best)
    return best.apply(host, cation).get_sorted_structure()
