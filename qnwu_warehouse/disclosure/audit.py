"""The gate's disclosure audit: an attacker's linear program over what a version publishes.

It reads only the published relations (the working warehouse's ``published`` schema before a
publish, or a version file's ``marts``), as an analyst would, and rebuilds the sums the published
tables are documented to satisfy (docs/privacy.md):

- a district's month is the sum of its units' months; the province's month is the sum of its
  districts' months and of the units that have no district;
- a quarter is the sum of its months and a year of its quarters, for each district and the province;
- a target's numerator or denominator is the province's year summed over the indicator's categories.

Every published number is a constant, every blanked one an unknown of at least 0, and each
unknown's interval is solved for (qnwu_warehouse.disclosure.bounds). The version passes when every
hidden cell's interval, in whole counts, reaches the threshold and is wider than one value. It
shares no code with the choice of cells to hide (suppression.py) beyond that solver.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

from qnwu_warehouse.disclosure.bounds import Equation, System, protected

FACT_TABLES = ("fct_indicator_values", "fct_beneficiaries")


class AuditModelMismatch(Exception):
    """A sum the audit assumes does not hold between published numbers: the audit cannot vouch for
    the version, and the gate refuses it."""


@dataclass
class CellBound:
    cell_id: str
    component_id: str
    lower_bound: float
    upper_bound: float
    protected: bool


@dataclass
class AuditResult:
    threshold: int
    cells: list[CellBound] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # published figures that give a hidden one back

    @property
    def failures(self) -> list[CellBound]:
        return [cell for cell in self.cells if not cell.protected]

    @property
    def passed(self) -> bool:
        return not self.failures and not self.leaks

    def columns(self) -> list[list]:
        """The cells as columns (cell_id, component_id, lower_bound, upper_bound, protected), for one
        INSERT of them all."""
        return [
            [getattr(c, name) for c in self.cells]
            for name in ("cell_id", "component_id", "lower_bound", "upper_bound", "protected")
        ]

    def summary(self) -> dict[str, object]:
        widths = [c.upper_bound - c.lower_bound for c in self.cells]
        narrowest = min(widths) if widths else None
        lowest_upper = min((c.upper_bound for c in self.cells), default=None)
        return {
            "passed": self.passed,
            "hidden_cells_checked": len(self.cells),
            "failures": len(self.failures),
            "exactly_recovered": sum(1 for c in self.cells if c.lower_bound == c.upper_bound),
            "proven_below_threshold": sum(1 for c in self.cells if c.upper_bound < self.threshold),
            "narrowest_interval": _number(narrowest),
            "lowest_upper_bound": _number(lowest_upper),
            "threshold": self.threshold,
            "leaks": self.leaks[:10],
        }


def _number(value):
    if value is None:
        return None
    return "inf" if math.isinf(value) else int(value)


@dataclass
class PublishedSums:
    """What an attacker reads from the published relations: every cell's published value (None
    when blanked), its component, and the sums between cells ((kind, parent) -> children). Plain
    data, so that the linear programs can be solved in another process (solve)."""

    threshold: int
    values: dict[str, float | None] = field(default_factory=dict)
    component: dict[str, str] = field(default_factory=dict)
    equations: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    leaks: list[str] = field(default_factory=list)
    pinned: dict[str, float] = field(default_factory=dict)


def sums_digest(sums: PublishedSums) -> str:
    """A digest of everything solve() reads from `sums`, whatever order the sums were read in:
    equal digests mean the same linear programs, hence the same intervals. Publish compares the
    version file's digest with the gate's, to take the gate's intervals instead of solving again."""
    canonical = [
        sums.threshold,
        sorted(sums.values.items()),
        sorted(sums.component.items()),
        sorted([kind, parent, sorted(children)] for (kind, parent), children in sums.equations.items()),
        sorted(sums.leaks),
        sorted(sums.pinned.items()),
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def run_audit(con, *where_and_what, **options) -> AuditResult:
    """The whole audit in this process: solve(read_published_sums(con, ...)), with its arguments."""
    return solve(read_published_sums(con, *where_and_what, **options))


def read_published_sums(
    con,
    catalog: str,
    schema: str,
    threshold: int,
    years: set[str] | None = None,
    pinned: dict[str, float] | None = None,
) -> PublishedSums:
    """The cells and sums of the published relations `catalog`.`schema` on connection `con`: every
    year, or the `years` given (a sum never crosses a year, so a year can be audited on its own).
    `pinned`: hidden cells whose value an attacker has from elsewhere (an earlier version that
    published them, see pinned_by_history): they enter the sums as known values, and are no longer
    audited themselves (what was published cannot be hidden again); every other hidden cell must
    stay protected with them known. AuditModelMismatch when a cell is published twice with
    different values."""
    # here, not at the top: the solver's worker (audit_worker.py) imports this module, and reads no
    # database (DuckDB's import was a third of the worker's 0.19 s of imports)
    from qnwu_warehouse.warehouse import quoted_identifier

    where = f"{quoted_identifier(catalog)}.{quoted_identifier(schema)}"
    sums = PublishedSums(threshold, pinned=dict(pinned or {}))
    sensitive = [
        code for (code,) in con.execute(f"select indicator_code from {where}.dim_indicators where is_sensitive").fetchall()
    ]
    if not sensitive:
        return sums
    codes = ", ".join("'" + code.replace("'", "''") + "'" for code in sensitive)
    (province,) = con.execute(
        f"select unit_code from {where}.dim_units where unit_level = 'province' and valid_to is null"
    ).fetchone()
    quarter_of = dict(con.execute(f"select period, quarter_label from {where}.dim_periods").fetchall())

    values, component, equations = sums.values, sums.component, sums.equations

    def known(cell_id: str, value, component_id: str) -> None:
        if cell_id in values and values[cell_id] is not None and value is not None and values[cell_id] != value:
            raise AuditModelMismatch(f"cell {cell_id} is published twice with different values")
        # a value published by any table is known, whatever another table blanks
        values[cell_id] = value if values.get(cell_id) is None else values[cell_id]
        component[cell_id] = component_id

    def rollup_id(grain: str, label: str, level: str, code: str, indicator: str, category: str) -> str:
        return f"{grain}:{label}:{level}:{code}:{indicator}:{category}"

    # The units' months: hundreds of thousands of cells a year, nearly all published (mostly 0).
    # Only the hidden ones are unknowns; the published ones of a sum enter it as their total, one
    # constant per sum, added up in DuckDB. A cell counts as published if any table publishes it.
    year_filter = (
        ""
        if years is None
        else "and left(period, 4) in (" + ", ".join("'" + year.replace("'", "''") + "'" for year in sorted(years)) + ")"
    )
    unit_sums = _unit_month_sums(con, where, codes, year_filter)
    for district, period, indicator, category, published_sum, hidden_units, published_values in unit_sums:
        if published_values > 1:
            raise AuditModelMismatch(f"a unit's {indicator} {category} of {period} is published twice with different values")
        component_id = f"{indicator}:{period[:4]}"
        parent = (
            rollup_id("month", period, "district", district, indicator, category)
            if district
            else rollup_id("month", period, "province", province, indicator, category)
        )
        constant = f"published units of {parent}"
        known(constant, published_sum, component_id)
        equations[("scope", parent)].append(constant)
        for cell_id in hidden_units or ():
            known(cell_id, None, component_id)
            equations[("scope", parent)].append(cell_id)
    rollups = con.execute(f"""select indicator_total_id, period_grain, period_label, scope_level, scope_code,
            indicator_code, category, value from {where}.agg_indicators_by_period
            where indicator_code in ({codes}) {year_filter.replace("period", "period_label")}""").fetchall()
    for cell_id, grain, label, level, code, indicator, category, value in rollups:
        year = label[:4]
        known(cell_id, value, f"{indicator}:{year}")
        if grain == "month":
            equations[("time", rollup_id("quarter", quarter_of[label], level, code, indicator, category))].append(cell_id)
            if level == "district":
                equations[("scope", rollup_id("month", label, "province", province, indicator, category))].append(cell_id)
        elif grain == "quarter":
            equations[("time", rollup_id("year", year, level, code, indicator, category))].append(cell_id)
        elif level == "province":
            equations[("category", rollup_id("year", year, "province", code, indicator, "all"))].append(cell_id)
    targets = con.execute(f"""select report_year_label, numerator_indicator_code, numerator_value,
            denominator_indicator_code, denominator_value, achieved_value, is_met
            from {where}.agg_target_progress""").fetchall()
    for year, numerator_code, numerator, denominator_code, denominator, achieved, is_met in targets:
        if years is not None and year not in years:
            continue
        for code, value in ((numerator_code, numerator), (denominator_code, denominator)):
            if code in sensitive:
                known(rollup_id("year", year, "province", province, code, "all"), value, f"{code}:{year}")
        hidden_part = any(
            code in sensitive and value is None
            for code, value in ((numerator_code, numerator), (denominator_code, denominator))
        )
        if hidden_part and (achieved is not None or is_met is not None):
            sums.leaks.append(
                f"agg_target_progress {numerator_code} {year}: the share or is_met is published "
                "while a total behind it is hidden"
            )
    return sums


# A unit's month of one indicator and category, as its district's (or the province's) sum sees it:
# the total of its published units' cells, the hidden cells, and how many values a cell has.
_UNIT_SUMS_EXACT = """
    with cells as (
        select indicator_value_id, any_value(district_code) as district_code, any_value(period) as period,
            any_value(indicator_code) as indicator_code, any_value(category) as category,
            max(value) as value, count(distinct value) as published_values
        from ({facts}) as facts
        group by indicator_value_id
    )
    select district_code, period, indicator_code, category, coalesce(sum(value), 0),
        list(indicator_value_id order by indicator_value_id) filter (where value is null), max(published_values)
    from cells
    group by district_code, period, indicator_code, category"""


def _unit_month_sums(con, where: str, codes: str, year_filter: str) -> list[tuple]:
    """The sums of the units' cells, one row per (district, period, indicator, category): (district,
    period, indicator, category, total of the published cells, hidden cell ids, most values a cell
    is published with).

    A cell counts as published if any table publishes it, so the exact answer groups every table's
    cells by cell id first: 3.9 million rows at five national years, 2.5 s. Each table's sums are
    read on their own first (one pass, grouped by the sums' few thousand keys) with a checksum of
    the published (cell, value) pairs; where every table gives the same total, hidden cells,
    count and checksum for every sum, the tables publish the same cells with the same values, and
    the first table's sums are the answer. Anything else (a cell one table hides and another
    publishes, or two values for a cell) takes the exact query."""
    per_table = [
        f"""select district_code, period, indicator_code, category, coalesce(sum(value), 0) as published_sum,
                list(indicator_value_id order by indicator_value_id) filter (where value is null) as hidden_units,
                count(value) as published_cells,
                sum(hash(indicator_value_id, value)) filter (where value is not null) as published_checksum
            from {where}.{table}
            where indicator_code in ({codes}) {year_filter}
            group by district_code, period, indicator_code, category"""
        for table in FACT_TABLES
    ]
    keys = ("district_code", "period", "indicator_code", "category")
    compared = ("published_sum", "hidden_units", "published_cells", "published_checksum")
    con.execute(f"create or replace temp table audit_unit_sums as {per_table[0]}")
    differing = sum(
        con.execute(f"""select count(*) from audit_unit_sums as first_table full outer join ({other}) as other_table
                on {" and ".join(f"first_table.{k} is not distinct from other_table.{k}" for k in keys)}
            where {" or ".join(f"first_table.{c} is distinct from other_table.{c}" for c in compared)}""").fetchone()[0]
        for other in per_table[1:]
    )
    if not differing:
        return con.execute(f"select {', '.join(keys)}, published_sum, hidden_units, 1 from audit_unit_sums").fetchall()
    return _unit_month_sums_exact(con, where, codes, year_filter)


def _unit_month_sums_exact(con, where: str, codes: str, year_filter: str) -> list[tuple]:
    """_unit_month_sums read cell by cell: every table's cells grouped by cell id first."""
    facts = " union all ".join(
        f"select indicator_value_id, district_code, period, indicator_code, category, value from {where}.{table} "
        f"where indicator_code in ({codes}) {year_filter}"
        for table in FACT_TABLES
    )
    return con.execute(_UNIT_SUMS_EXACT.format(facts=facts)).fetchall()


def solve(sums: PublishedSums) -> AuditResult:
    """Each hidden cell's interval over the published sums. No database: the gate runs this in a
    worker process (audit_worker.SolvingElsewhere). AuditModelMismatch when a published sum does
    not hold."""
    component, equations, threshold = sums.component, sums.equations, sums.threshold
    result = AuditResult(threshold, leaks=list(sums.leaks))
    pinned_here = {cell: value for cell, value in sums.pinned.items() if sums.values.get(cell, 0) is None}
    values = {**sums.values, **pinned_here}
    by_component: dict[str, list[Equation]] = defaultdict(list)
    for (_kind, parent), children in equations.items():
        if parent not in values:
            continue  # a sum whose total is not published anywhere tells nothing
        by_component[component[parent]].append(Equation(parent, tuple(children)))
        if values[parent] is not None and all(values[c] is not None for c in children):
            if sum(values[c] for c in children) != values[parent]:
                raise AuditModelMismatch(
                    f"published {parent} = {values[parent]} but its {len(children)} parts add up "
                    f"to {sum(values[c] for c in children)}: the audit's sums do not describe "
                    "this version"
                )
    hidden_by_component: dict[str, set[str]] = defaultdict(set)
    published_by_component: dict[str, dict[str, float]] = defaultdict(dict)
    for cell_id, value in values.items():
        if value is None:
            hidden_by_component[component[cell_id]].add(cell_id)
        else:
            published_by_component[component[cell_id]][cell_id] = float(value)
    for component_id in sorted(hidden_by_component):
        members = hidden_by_component[component_id]
        system = System(by_component.get(component_id, []), published_by_component[component_id], members)
        for cell_id, (low, high) in sorted(system.bounds().items()):
            result.cells.append(CellBound(cell_id, component_id, low, high, protected((low, high), threshold)))
    return result


def pinned_by_history(
    con, catalog: str, truth: str, other_versions: dict[str, str], years: set[str] | None = None
) -> dict[str, tuple[float, str]]:
    """The hidden cells of the version in `catalog` whose value an earlier version gives away: it
    published the cell with the value the cell still has (an attacker who guesses "unchanged" is
    right). Earlier versions are the history's roll-ups and target totals, which every version
    file carries (publish/history.py), and the unit cells of `other_versions` ({attached catalog:
    version name}: the kept and released version files). `truth` is the relation of the sensitive
    cells' true values (cell_id, value). `years`: only the cells of these years (None: all).
    Returns {cell id: (value, the version that published it)}."""
    from qnwu_warehouse.checks.changes import in_years  # see read_published_sums
    from qnwu_warehouse.warehouse import quoted_identifier

    where = f"{quoted_identifier(catalog)}.history"
    marts = f"{quoted_identifier(catalog)}.marts"
    if not con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = 'history'", [catalog]
    ).fetchone()[0]:
        return {}
    sensitive = f"(select indicator_code from {marts}.dim_indicators where is_sensitive)"

    def in_scope(period_column: str) -> str:
        return "true" if years is None else in_years(period_column, years)

    rows = con.execute(f"""
        with hidden_now as (
            select figure_id
            from {where}.figure_changes
            where figure_table = 'agg_indicators_by_period' and subject_code in {sensitive} and ({in_scope("period_label")})
            qualify row_number() over (partition by figure_id order by version_seq desc) = 1
                and value_is_suppressed and not is_removed
        )
        select changes.figure_id, any_value(changes.value), min(versions.version_name)
        from {where}.figure_changes as changes
        join {where}.versions as versions using (version_seq)
        join {truth} as truth on truth.cell_id = changes.figure_id
        where changes.figure_table = 'agg_indicators_by_period' and ({in_scope("changes.period_label")})
            and changes.figure_id in (select figure_id from hidden_now)
            and not changes.value_is_suppressed and changes.value = truth.value
        group by changes.figure_id""").fetchall()
    pinned = {cell: (float(value), version) for cell, value, version in rows}
    if not other_versions:
        return pinned
    facts = " union all ".join(
        f"select indicator_value_id, indicator_code, value from {{m}}.{table} where {in_scope('period')}"
        for table in FACT_TABLES
    )
    # every earlier version file in one query, so the new version's hidden cells are found once
    # (a scan of the five facts), not once per kept version; `rank` keeps the dict's order, so a
    # cell is credited to the first version that gives it away
    then_published = " union all ".join(
        f"select indicator_value_id, value, {rank} as rank from ({facts.format(m=quoted_identifier(other) + '.marts')})"
        for rank, other in enumerate(other_versions)
    )
    version_names = list(other_versions.values())
    rows = con.execute(f"""
        with hidden_now as (
            select distinct indicator_value_id from ({facts.format(m=marts)}) as facts
            where value is null and indicator_code in {sensitive}
        )
        select then_published.indicator_value_id, any_value(then_published.value), min(then_published.rank)
        from ({then_published}) as then_published
        join {truth} as truth on truth.cell_id = then_published.indicator_value_id
        where then_published.indicator_value_id in (select indicator_value_id from hidden_now)
            and then_published.value = truth.value
        group by then_published.indicator_value_id""").fetchall()
    for cell, value, rank in rows:
        pinned.setdefault(cell, (float(value), version_names[rank]))
    return pinned
