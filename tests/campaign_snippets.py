"""Campaign YAML pieces shared by the end-to-end tests."""

from __future__ import annotations

#: The smallest interface, vacancy, GB and NEB branches that still exercise every
#: job: n = 1 film layer, 2 (hetero) and 1 (homo) shifts, loose force tolerance,
#: 60/42-atom vacancy cells with one relaxation each; an 84-atom homo GB and the
#: 264-atom hetero GB (one shift each; the core GB is left out: ~400 atoms), one
#: vacancy relaxation near the hetero GB, single-image NEBs with few steps.
SMALL_BRANCHES = """\
interfaces:
  film_layers: 1
  vacuum: 10
  fmax: 0.15
  hetero: {substrate_layers: 1, fixed_layers: 1, shift_grid: [1, 2], max_area: 320,
           max_strain: 0.07, max_length_tol: 0.08, max_angle_tol: 0.08}
  homo: {substrate_layers: 1, fixed_layers: 1, shift_grid: [1, 1]}
vacancies: {min_length: 6, relax_top: 1}
grain_boundaries:
  kinds: [homo, hetero]
  fmax: 0.2
  homo: {layers_a: 1, layers_b: 1, twist: 180, shift_grid: [1, 1]}
  hetero: {layers_a: 1, layers_b: 1, flip: null, shift_grid: [1, 1], max_area: 320,
           max_strain: 0.07, max_length_tol: 0.08, max_angle_tol: 0.08}
neb: {n_images: 1, fmax: 0.25, max_steps: 30, endpoint_fmax: 0.25,
      endpoint_steps: 30, min_length: 6}
"""

#: The small real campaign the end-to-end and report tests share (one run).
SMALL_CAMPAIGN = """\
name: e2e
accelerants: [Al2S3]
calculator: {fmax: 0.1, max_steps: 120}
doping: {x: 1/4, screen_top: 3, relax_top: 1, solubility_x: [1/8, 1/4]}
{branches}store: {path: store}
workdir: work
""".replace("{branches}", SMALL_BRANCHES)


def adaptive_tiny(name: str, accelerants: str, max_rounds: int) -> str:
    """The smallest adaptive campaign: the doped cores at x = 1/4 (Li-site) and
    mu_Li, one arrangement and one Li site relaxed before the rounds raise them."""
    return f"""\
name: {name}
accelerants: [{accelerants}]
calculator: {{fmax: 0.2, max_steps: 40}}
doping: {{x: 1/4, screen_top: 4, relax_top: 1, solubility_x: [1/4], screen_patience: 0,
         schemes: [Li-site]}}
interfaces: {{enabled: false}}
vacancies: {{min_length: 6, relax_top: 1}}
grain_boundaries: {{enabled: false}}
neb: {{enabled: false}}
surfaces: {{enabled: false}}
sampling: {{mode: adaptive, max_rounds: {max_rounds}}}
store: {{path: store}}
workdir: work
"""
