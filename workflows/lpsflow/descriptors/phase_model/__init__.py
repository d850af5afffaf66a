"""Phase evolution of the LPS series from this campaign's solubility (SCIENCE.md 7).

No columns of its own: it reads x_sol (solubility) and shows what the study's
sequential rule makes of it, beside the measured conductivities it quotes.
"""

from lpsflow.descriptors.base import Descriptor
from lpsflow.descriptors.phase_model import show

DESCRIPTOR = Descriptor(
    name="phase_model",
    title="Phase evolution of the LPS series (mass balance, sequential rule)",
    doc="docs/phase-model.md",
    section=show.section,
)
