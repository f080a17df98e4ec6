"""The attacker's linear program: how far a hidden cell can move while every published sum holds.

A published table of counts is a set of sums: a district's month is the sum of its units' months,
a quarter the sum of its months, and so on. Each sum is an `Equation` (parent = sum of children).
Cells whose value is published are constants; hidden cells are the unknowns, each at least 0.
The interval of a hidden cell is its minimum and maximum over every assignment that satisfies
all sums: what an attacker can prove from everything published (τ-ARGUS and sdcTable audit the
same way). Counts are integers, so bounds are rounded inwards (an attacker may do the same).

The grassroots units' monthly cells are the bulk of the unknowns and appear in one sum only (their
district's or the province's month). They are eliminated first: in a sum whose hidden leaves are
L, the rest of the system only sees their total R = sum(L) >= 0; with two or more leaves each one
lies in [0, max R], with one it lies in [min R, max R]. The linear programs then run over district
and province cells, a few hundred per indicator and year, split into independent components.
"""

from __future__ import annotations

import math
import os
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# HiGHS is imported where a model is built and solved, not here: the gate and publish import this
# module for its types, and their audits are solved in a worker process or taken from the gate's
# (disclosure/audit_worker.py).
INFINITY = math.inf
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Equation:
    parent: str
    children: tuple[str, ...]


def protected(interval: tuple[float, float], threshold: int) -> bool:
    """The protection every hidden cell must have (docs/privacy.md): its interval reaches the
    threshold (it cannot be proven small) and holds more than one value (it cannot be pinned)."""
    low, high = interval
    return high >= threshold and low < high


def _round_inwards(low: float, high: float) -> tuple[float, float]:
    low = math.ceil(low - _TOLERANCE) if math.isfinite(low) else low
    high = math.floor(high + _TOLERANCE) if math.isfinite(high) else high
    return float(low), float(high)


class System:
    """The sums of one table family, the published values and the hidden cells."""

    def __init__(self, equations: Iterable[Equation], published: dict[str, float], hidden: Iterable[str]):
        self.equations = list(equations)
        self.published = published
        self.hidden = set(hidden)
        unknown = self.hidden - published.keys()
        missing = {
            cell
            for equation in self.equations
            for cell in (equation.parent, *equation.children)
            if cell not in published and cell not in self.hidden
        }
        if missing:
            raise ValueError(f"{len(missing)} cell(s) in a sum are neither published nor hidden, e.g. {sorted(missing)[:3]}")
        self.hidden = unknown

    def bounds(self, cells: Iterable[str] | None = None) -> dict[str, tuple[float, float]]:
        """{hidden cell: (lowest, highest)} for `cells` (default: every hidden cell)."""
        wanted = self.hidden if cells is None else set(cells) & self.hidden
        appearances: dict[str, int] = defaultdict(int)
        for equation in self.equations:
            for cell in (equation.parent, *equation.children):
                if cell in self.hidden:
                    appearances[cell] += 1
        # leaves: hidden children appearing in one sum only
        leaves_of: dict[int, list[str]] = {}
        leaf_cells: set[str] = set()
        for index, equation in enumerate(self.equations):
            leaves = [c for c in equation.children if c in self.hidden and appearances[c] == 1]
            if leaves:
                leaves_of[index] = leaves
                leaf_cells.update(leaves)
        variables = sorted(self.hidden - leaf_cells)
        position = {cell: i for i, cell in enumerate(variables)}
        # each sum as coefficients over the non-leaf unknowns and a constant: parent - children
        rows: list[tuple[dict[int, float], float, bool, int]] = []  # (coefficients, rhs, has_leaves, equation)
        for index, equation in enumerate(self.equations):
            coefficients: dict[int, float] = defaultdict(float)
            constant = 0.0
            for cell, sign in ((equation.parent, 1.0), *((c, -1.0) for c in equation.children)):
                if cell in leaf_cells:
                    continue
                if cell in position:
                    coefficients[position[cell]] += sign
                else:
                    constant += sign * self.published[cell]
            # parent - children = 0  <=>  sum(coefficients * x) = -constant (+ sum of leaves)
            rows.append((dict(coefficients), -constant, index in leaves_of, index))
        result: dict[str, tuple[float, float]] = {}
        for component_rows, component_vars in _components(rows, len(variables)):
            local = {v: i for i, v in enumerate(component_vars)}
            eq_rows, eq_rhs, ub_rows, ub_rhs, leaf_rows = [], [], [], [], []
            for coefficients, rhs, has_leaves, index in component_rows:
                vector = {local[v]: c for v, c in coefficients.items() if c}
                if has_leaves:
                    # sum(c x) - rhs = R >= 0   <=>   -sum(c x) <= -rhs
                    ub_rows.append({k: -c for k, c in vector.items()})
                    ub_rhs.append(-rhs)
                    leaf_rows.append((vector, rhs, index))
                else:
                    eq_rows.append(vector)
                    eq_rhs.append(rhs)
            solve = _Solver(len(component_vars), eq_rows, eq_rhs, ub_rows, ub_rhs)
            for variable in component_vars:
                cell = variables[variable]
                if cell not in wanted:
                    continue
                objective = {local[variable]: 1.0}
                high = solve.maximum(objective, 0.0)
                low = solve.minimum(objective, 0.0)
                result[cell] = _round_inwards(low, high)
            for vector, rhs, index in leaf_rows:
                leaves = leaves_of[index]
                if not wanted.intersection(leaves):
                    continue
                high = solve.maximum(vector, -rhs)
                low = solve.minimum(vector, -rhs) if len(leaves) == 1 else 0.0
                for leaf in leaves:
                    result[leaf] = _round_inwards(0.0 if len(leaves) > 1 else low, high)
        # leaves whose sum holds no other unknown (their component had no variables)
        for index, leaves in leaves_of.items():
            if any(leaf in wanted and leaf not in result for leaf in leaves):
                coefficients, rhs, _, _ = rows[index]
                if coefficients:
                    continue  # solved above
                # no unknown besides the leaves: their total is the parent minus the published children
                total = -rhs
                for leaf in leaves:
                    result[leaf] = _round_inwards(0.0 if len(leaves) > 1 else total, total)
        for cell in wanted - result.keys():
            result[cell] = (0.0, INFINITY)  # in no sum: an attacker learns nothing about it
        return result


def _components(rows, variable_count: int):
    """The sums split into groups that share no unknown, each with its unknowns."""
    parent = list(range(variable_count))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for coefficients, *_ in rows:
        members = list(coefficients)
        for other in members[1:]:
            root_a, root_b = find(members[0]), find(other)
            if root_a != root_b:
                parent[root_a] = root_b
    groups: dict[int, list[int]] = defaultdict(list)
    for variable in range(variable_count):
        groups[find(variable)].append(variable)
    row_groups: dict[int, list] = defaultdict(list)
    for row in rows:
        if row[0]:
            row_groups[find(next(iter(row[0])))].append(row)
    for root, variables in groups.items():
        yield row_groups.get(root, []), variables


class _Solver:
    """min / max of a linear objective over {x >= 0 : A_eq x = b_eq, A_ub x <= b_ub}.

    One HiGHS model per component, solved once per objective with only the objective changed:
    HiGHS starts each solve from the last one's basis. Through scipy's linprog every solve rebuilt
    and re-checked the whole problem, and on 40 units x 12 months the publish audit spent 16 s
    on 2,529 solves, four fifths of it outside the solver."""

    def __init__(self, size: int, eq_rows, eq_rhs, ub_rows, ub_rhs):
        import highspy

        highs = _new_highs()
        # presolve would answer some unbounded objectives "unbounded or infeasible"; without it
        # the status is exact, and the warm start does the work presolve would
        highs.setOptionValue("presolve", "off")
        # Only the objective changes from one solve to the next, never the constraints, so the last
        # optimal basis stays feasible: primal simplex starts from it as it is, where HiGHS's
        # default (dual simplex) must first make it dual feasible again. A national year's 2,272
        # solves: 1.08 s, then 0.76 s, with the same bounds.
        highs.setOptionValue("simplex_strategy", 4)  # 4: primal simplex
        highs.addVars(size, np.zeros(size), np.full(size, highspy.kHighsInf))
        for rows, lower, upper in (
            (eq_rows, np.array(eq_rhs, dtype=float), np.array(eq_rhs, dtype=float)),
            (ub_rows, np.full(len(ub_rows), -highspy.kHighsInf), np.array(ub_rhs, dtype=float)),
        ):
            if rows:
                starts, columns, values = _compressed_rows(rows)
                highs.addRows(len(rows), lower, upper, len(values), starts, columns, values)
        self._highs = highs
        self._costed: list[int] = []

    def _solve(self, objective: dict[int, float], sign: float) -> float:
        import highspy

        highs = self._highs
        if self._costed:  # the last objective's columns back to cost 0
            highs.changeColsCost(len(self._costed), np.array(self._costed, dtype=np.int32), np.zeros(len(self._costed)))
        columns = np.array(list(objective), dtype=np.int32)
        highs.changeColsCost(len(columns), columns, np.array([sign * v for v in objective.values()], dtype=float))
        self._costed = list(objective)
        highs.run()
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:  # only a maximum can be: a minimum is >= 0
            return INFINITY
        if status != highspy.HighsModelStatus.kOptimal:
            raise ValueError(f"the published sums are inconsistent: {highs.modelStatusToString(status)}")
        return sign * highs.getInfo().objective_function_value

    def maximum(self, objective: dict[int, float], offset: float) -> float:
        return self._solve(objective, -1.0) + offset

    def minimum(self, objective: dict[int, float], offset: float) -> float:
        return self._solve(objective, 1.0) + offset


_highs_banner_shown = False


def _new_highs():
    """A silent HiGHS model. The first one made in a process prints HiGHS's banner to the
    process's standard output, before any option can turn it off; that banner would land in the
    CLI's summary and in Airflow's task logs, so file descriptor 1 points at /dev/null meanwhile."""
    import highspy

    global _highs_banner_shown
    if _highs_banner_shown:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved, quiet = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(quiet, 1)
            highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(quiet)
        _highs_banner_shown = True
    highs.setOptionValue("output_flag", False)
    return highs


def _compressed_rows(rows: list[dict[int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows as HiGHS's addRows takes them (compressed sparse rows): where each row starts, then
    every coefficient's column and value, row by row. Built here with numpy: scipy.sparse's matrix
    was only a way to these three arrays, and importing it took 0.18-0.27 s of every process that
    solves (the gate's audit worker, publish, and dbt's model of the hidden cells)."""
    starts, columns, values = [], [], []
    for row in rows:
        starts.append(len(columns))
        for column, value in sorted(row.items()):
            columns.append(column)
            values.append(value)
    return np.array(starts, dtype=np.int32), np.array(columns, dtype=np.int32), np.array(values, dtype=float)
