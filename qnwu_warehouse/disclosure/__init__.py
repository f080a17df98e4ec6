"""Disclosure control of the published figures (docs/privacy.md).

- ``bounds``: what an attacker can prove about hidden cells from the published ones: each hidden
  cell's lowest and highest feasible value under the published sums (a linear program, HiGHS);
- ``suppression``: which cells to hide: the primary small cells, and the complementary cells that
  keep every hidden cell's interval wide (run by the dbt Python model
  ``models/published/disclosure/disclosure_hidden_cells.py``);
- ``audit``: the gate's attacker, which reads only the published relations, rebuilds the sums an
  analyst knows hold between them, and refuses a version in which a hidden cell is pinned or
  proven small.
"""
