"""Campaign YAML pieces shared by the end-to-end tests."""

#: The smallest interface and vacancy branches that still exercise every job:
#: n = 1 film layer, 2 (hetero) and 1 (homo) shifts, loose force tolerance,
#: 60/42-atom vacancy cells with one relaxation each.
SMALL_BRANCHES = """\
interfaces:
  film_layers: 1
  vacuum: 10
  fmax: 0.15
  hetero: {substrate_layers: 1, fixed_layers: 1, shift_grid: [1, 2], max_area: 320,
           max_strain: 0.07, max_length_tol: 0.08, max_angle_tol: 0.08}
  homo: {substrate_layers: 1, fixed_layers: 1, shift_grid: [1, 1]}
vacancies: {min_length: 6, relax_top: 1}
"""
