"""lpsflow: screening nucleation accelerants for Li2S-P2S5 glass-ceramics.

The package reads as the pipeline a campaign flows through::

    structures -> calculators -> jobs/flows -> analysis -> campaign -> dispatch/cli
"""

__version__ = "0.1.0"

from lpsflow.moved import install as _install_moved

_install_moved()  # stored documents and queued fireworks name modules that moved
