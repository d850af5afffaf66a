"""One frame when atomate2 asks emmet's trajectory for its first frame.

atomate2's task document takes the relaxation's input structure as
``AtomTrajectory.to_pmg(frame_props=(), indices=0)[0]``. emmet-core (0.87) tests
``if indices:``, reads the index 0 as "no indices" and builds a pymatgen Structure
for every step of the relaxation, then keeps the first: 0.5 s of a 264-atom,
83-step interface relaxation, half of its time outside the model. :func:`apply`
wraps ``to_pmg`` so that an integer index asks for that one frame; the document
is the same. The wrapper stays correct once emmet reads 0 as an index.
"""

from __future__ import annotations

import functools
from typing import Any


def apply() -> None:
    """Wrap ``AtomTrajectory.to_pmg`` (once per process)."""
    try:
        from emmet.core.trajectory import AtomTrajectory
    except ImportError:  # no emmet: atomate2 uses pymatgen Trajectories
        return
    to_pmg = AtomTrajectory.to_pmg
    if getattr(to_pmg, "_lpsflow_one_frame", False):
        return

    @functools.wraps(to_pmg)
    def one_frame(
        self: AtomTrajectory,
        frame_props: Any = None,
        indices: Any = None,
    ) -> Any:
        if isinstance(indices, int) and not isinstance(indices, bool):
            indices = [indices]
        return to_pmg(self, frame_props=frame_props, indices=indices)

    one_frame._lpsflow_one_frame = True  # type: ignore[attr-defined]
    AtomTrajectory.to_pmg = one_frame
