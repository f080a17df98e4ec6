"""Published figures must not single out a victim: an attacker's audit of the published file.

The attacker here is written independently of the suppression code (qnwu_warehouse/disclosure/):
it opens the published version file read-only, as an analyst would, takes every published count
of a sensitive indicator from every table that carries one, writes down the sums the tables are
documented to satisfy (docs/privacy.md), and solves one linear program per hidden cell and
direction over all hidden cells of the indicator and year at once (HiGHS), with no
elimination or decomposition. A cell is recovered when its lowest and highest feasible values
meet; it is exposed when its highest is below the threshold (it is proven to be a small count).

On the 2023 sample and on 2024-2025 (across the unit changes of 2024-11-01 and 2025-07-01) the
attacker recovers nothing; with complementary suppression switched off it recovers cells, and
the gate and publish refuse that version.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
from collections import defaultdict

import duckdb
import highspy
import numpy as np
import pytest
from support import build_warehouse, using_data_dir

from qnwu_devtools.data_dirs import copy_data_dir
from qnwu_warehouse.checks.quality import QualityGateFailed
from qnwu_warehouse.disclosure import audit, audit_worker
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.publish import versioning
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow
THRESHOLD = 5


def attack(con, catalog: str, schema: str) -> dict[tuple, tuple[float, float]]:
    """{hidden cell (natural key): (lowest, highest)} provable from the published relations."""
    where = f'"{catalog}"."{schema}"'
    sensitive = {
        code for (code,) in con.execute(f"select indicator_code from {where}.dim_indicators where is_sensitive").fetchall()
    }
    (province,) = con.execute(
        f"select unit_code from {where}.dim_units where unit_level = 'province' and valid_to is null"
    ).fetchone()
    quarter_of = dict(con.execute(f"select period, quarter_label from {where}.dim_periods").fetchall())
    cell: dict[tuple, float | None] = {}

    def learn(key: tuple, value) -> None:
        if cell.get(key) is None:  # published by any table: known
            cell[key] = None if value is None else float(value)

    sums: dict[tuple, set[tuple]] = defaultdict(set)
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = ? "
            "union select view_name from duckdb_views() where database_name = ? and schema_name = ?",
            [catalog, schema, catalog, schema],
        ).fetchall()
    ]
    for table in tables:
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ?",
                [catalog, schema, table],
            ).fetchall()
        }
        if {"indicator_code", "value", "unit_code", "period"} <= columns:  # one unit's month
            for unit, district, period, indicator, category, value in con.execute(
                f"select unit_code, district_code, period, indicator_code, category, value from {where}.{table}"
            ).fetchall():
                if indicator in sensitive:
                    key = ("unit", unit, "month", period, indicator, category)
                    learn(key, value)
                    parent = (
                        ("district", district, "month", period, indicator, category)
                        if district
                        else ("province", province, "month", period, indicator, category)
                    )
                    sums[parent].add(key)
        elif {"indicator_code", "value", "scope_level", "period_grain"} <= columns:  # a roll-up
            for level, code, grain, label, indicator, category, value in con.execute(
                f"select scope_level, scope_code, period_grain, period_label, indicator_code, category, value "
                f"from {where}.{table}"
            ).fetchall():
                if indicator not in sensitive:
                    continue
                key = (level, code, grain, label, indicator, category)
                learn(key, value)
                if grain == "month":
                    sums[("time", level, code, "quarter", quarter_of[label], indicator, category)].add(key)
                    if level == "district":
                        sums[("province", province, "month", label, indicator, category)].add(key)
                elif grain == "quarter":
                    sums[("time", level, code, "year", label[:4], indicator, category)].add(key)
                elif level == "province":
                    sums[("province", code, "year", label, indicator, "all")].add(key)
        elif {"numerator_indicator_code", "numerator_value"} <= columns:  # target progress
            for year, numerator_code, numerator, denominator_code, denominator, achieved in con.execute(
                f"select report_year_label, numerator_indicator_code, numerator_value, denominator_indicator_code, "
                f"denominator_value, achieved_value from {where}.{table}"
            ).fetchall():
                for code, value in ((numerator_code, numerator), (denominator_code, denominator)):
                    if code in sensitive:
                        learn(("province", province, "year", year, code, "all"), value)
                hidden_total = any(
                    code in sensitive and value is None
                    for code, value in ((numerator_code, numerator), (denominator_code, denominator))
                )
                if achieved is not None and hidden_total:
                    # a share and one total give the other: the attacker takes the hidden total as known
                    raise AssertionError(f"{table} publishes a share whose total is hidden ({numerator_code} {year})")
    # a time sum's parent is the cell at the coarser grain
    equations = []
    for parent, children in sums.items():
        parent_key = parent[1:] if parent[0] == "time" else parent
        if parent_key in cell:
            equations.append((parent_key, sorted(children)))

    def year_of(key: tuple) -> tuple[str, str]:
        return key[4], key[3][:4]

    bounds: dict[tuple, tuple[float, float]] = {}
    for component in sorted({year_of(k) for k, v in cell.items() if v is None}):
        hidden = sorted(k for k, v in cell.items() if v is None and year_of(k) == component)
        index = {key: i for i, key in enumerate(hidden)}
        rows, rhs = [], []
        for parent, children in equations:
            if year_of(parent) != component:
                continue
            row, constant = np.zeros(len(hidden)), 0.0
            for key, sign in ((parent, 1.0), *((child, -1.0) for child in children)):
                if key in index:
                    row[index[key]] += sign
                else:
                    constant += sign * cell[key]
            if row.any():
                rows.append(row)
                rhs.append(-constant)
        # the whole system as one HiGHS model, every hidden cell >= 0; each cell's minimum and
        # maximum is a solve with only the objective changed (HiGHS starts from the last basis)
        attacker = highspy.Highs()
        attacker.setOptionValue("output_flag", False)
        attacker.setOptionValue("presolve", "off")  # exact statuses: unbounded is unbounded
        attacker.addVars(len(hidden), np.zeros(len(hidden)), np.full(len(hidden), highspy.kHighsInf))
        for row, value in zip(rows, rhs, strict=True):
            columns = np.flatnonzero(row).astype(np.int32)
            attacker.addRow(value, value, len(columns), columns, row[columns])

        for key, i in index.items():
            low_status, low = _optimum(attacker, i, 1.0)
            high_status, high = _optimum(attacker, i, -1.0)
            assert low_status == highspy.HighsModelStatus.kOptimal, attacker.modelStatusToString(low_status)
            assert high_status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded)
            upper = math.inf if high_status == highspy.HighsModelStatus.kUnbounded else math.floor(high + 1e-6)
            bounds[key] = (math.ceil(low - 1e-6), upper)
    return bounds


def _optimum(model, column: int, sign: float) -> tuple[object, float]:
    """The minimum (sign 1) or maximum (sign -1) of one cell, with HiGHS's status."""
    model.changeColCost(column, sign)
    model.run()
    status, value = model.getModelStatus(), sign * model.getInfo().objective_function_value
    model.changeColCost(column, 0.0)  # (a change of the model clears its solution: read it first)
    return status, value


def _report(name: str, bounds: dict) -> tuple[int, int, float]:
    recovered = sum(1 for low, high in bounds.values() if low == high)
    exposed = sum(1 for _low, high in bounds.values() if high < THRESHOLD)
    narrowest = min((high - low for low, high in bounds.values()), default=math.inf)
    print(
        f"\n{name}: {len(bounds)} hidden cells attacked, {recovered} recovered exactly, "
        f"{exposed} proven below {THRESHOLD}, narrowest interval {narrowest:g}"
    )
    return recovered, exposed, narrowest


def _published(settings):
    return duckdb.connect(str(versioning.current_version(settings)), read_only=True)


@pytest.fixture(scope="module")
def sample_2023(province_2023):
    """The demo data of 2023, built and published once per run (conftest.py); read only."""
    with using_data_dir(province_2023) as settings:
        return settings


@pytest.fixture(scope="module")
def years_2024_2025(tmp_path_factory):
    return build_warehouse(tmp_path_factory.mktemp("disclosure-2024"), "disclosure-2024", publish=True, year=2024, months=24)


@pytest.mark.parametrize("warehouse", ["sample_2023", "years_2024_2025"])
def test_the_attacker_recovers_no_hidden_cell(warehouse, request):
    settings = request.getfixturevalue(warehouse)
    with _published(settings) as con:
        bounds = attack(con, con.execute("select current_database()").fetchone()[0], "marts")
        published_audit = {
            row[0]: (row[1], row[2])
            for row in con.execute("select cell_id, lower_bound, upper_bound from meta.disclosure_audit").fetchall()
        }
        hidden_rows = con.execute("select count(*) from marts.fct_indicator_values where value_is_suppressed").fetchone()[0]
    recovered, exposed, narrowest = _report(warehouse, bounds)
    assert hidden_rows > 50 and len(bounds) > 200  # there is something to protect
    assert recovered == 0 and exposed == 0
    assert narrowest >= THRESHOLD - 1
    # the pipeline's own audit (with its elimination of the units' cells) proved the same intervals
    assert sorted(b for b in bounds.values()) == sorted(published_audit.values())


def test_small_counts_are_hidden_at_every_level_and_grain(sample_2023):
    with _published(sample_2023) as con:
        visible_small = con.execute("""
            select count(*) from marts.agg_indicators_by_period
            where indicator_code in (select indicator_code from marts.dim_indicators where is_sensitive)
                and value between 1 and 4""").fetchone()[0]
        levels = dict(
            con.execute("""
            select scope_level || ':' || period_grain, count(*) filter (where value_is_suppressed)
            from marts.agg_indicators_by_period group by 1""").fetchall()
        )
        units_small = con.execute(
            "select count(*) from marts.fct_beneficiaries where value between 1 and 4 and indicator_code like 'violence%'"
        ).fetchone()[0]
        counted, disclosure = con.execute("select cells_suppressed, disclosure::json from meta.publication").fetchone()
    print(f"\nhidden roll-up cells by level and grain: {levels}")
    assert visible_small == 0 and units_small == 0
    assert levels["province:month"] > 0 and levels["district:month"] > 0
    import json

    disclosure = json.loads(disclosure)
    print(
        f"primary {disclosure['primary']}, secondary {disclosure['secondary']}, "
        f"share of each level's total held by secondary cells (%): {disclosure['secondary_share_of_total_pct']}"
    )
    assert counted == disclosure["primary"] + disclosure["secondary"]
    with duckdb.connect(str(sample_2023.working_warehouse), read_only=True) as con:
        distinct = con.execute(
            "select count(*) from disclosure.disclosure_hidden_cells where suppression <> 'none'"
        ).fetchone()[0]  # not the indicator-years' markers
    assert counted == distinct  # once per cell, not once per table that shows it


def test_the_published_file_holds_the_slices_of_the_facts_as_views_with_the_same_cells_hidden(sample_2023):
    """fct_beneficiaries and fct_activities are fct_indicator_values' rows of one fact: the
    published file holds them as views of its fct_indicator_values, not as copies, and each gives
    exactly its mart's rows with every hidden cell's value blanked (worked out here from the
    working warehouse, not read from the published layer)."""
    with _published(sample_2023) as con:
        views = dict(con.execute("select view_name, sql from duckdb_views() where schema_name = 'marts'").fetchall())
        tables = {n for (n,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
        (counts,) = con.execute("select table_row_counts::json from meta.publication").fetchone()
        con.execute(f"attach '{sample_2023.working_warehouse}' as working (read_only)")
        differences = {}
        for fact in ("beneficiaries", "activities"):
            expected = f"""
                select mart.* replace (case when hidden.cell_id is null then mart.value end as value),
                    hidden.cell_id is not null as value_is_suppressed
                from working.marts.fct_{fact} as mart
                left join (select cell_id from working.disclosure.disclosure_hidden_cells where suppression <> 'none')
                    as hidden on hidden.cell_id = mart.indicator_value_id"""
            differences[fact] = con.execute(
                f"select (select count(*) from (select * from marts.fct_{fact} except all {expected})), "
                f"(select count(*) from ({expected} except all select * from marts.fct_{fact})), "
                f"(select count(*) from marts.fct_{fact}), "
                f"(select count(*) filter (value_is_suppressed) from marts.fct_{fact})"
            ).fetchone()
    print("published views:", sorted(views), "rows (extra, missing, all, hidden):", differences)
    assert set(views) == {"fct_beneficiaries", "fct_activities"} and not set(views) & tables
    assert all("FROM marts.fct_indicator_values WHERE" in text for text in views.values())
    for fact, (extra, missing, rows, _hidden) in differences.items():
        assert extra == missing == 0 and rows == json.loads(counts)[f"fct_{fact}"] > 0
    assert differences["beneficiaries"][3] > 0  # the sample hides some of its victims' counts


def test_nothing_names_a_person_or_a_server_path(sample_2023):
    with _published(sample_2023) as con:
        columns = {
            (table, column)
            for table, column in con.execute(
                "select table_name, column_name from duckdb_columns() where schema_name in ('marts', 'meta')"
            ).fetchall()
        }
        texts = con.execute("select string_agg(distinct file_name, '|') from marts.fct_submission_feedback").fetchone()[0]
    names = {column for _table, column in columns}
    assert not names & {
        "source_path",
        "archive_path",
        "club_name",
        "reporter",
        "messages_vi",
        "messages_en",
        "unexpected_sample",
    }
    assert str(sample_2023.data_dir) not in texts and "/" not in texts


def test_without_complementary_suppression_the_attacker_wins_and_nothing_is_published(sample_2023, tmp_path):
    """Switch complementary suppression off on a copy of the sample: the attacker (on the working
    warehouse's published layer, as publishing would copy it) recovers or exposes cells, the gate
    fails on the disclosure audit, and a publish by hand is refused; the live version stays."""
    copy = tmp_path / "data"
    copy_data_dir(sample_2023.data_dir, copy)
    with using_data_dir(copy, QNWU_COMPLEMENTARY_SUPPRESSION="false") as settings:
        live_before = versioning.current_version(settings)
        dbt_runner.run_dbt(settings, "build", "--select", "disclosure_hidden_cells+")
        with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
            bounds = attack(con, "working", "published")
            kinds = dict(
                con.execute(
                    "select suppression, count(*) from disclosure.disclosure_hidden_cells "
                    "where suppression <> 'none' group by 1"
                ).fetchall()
            )
        recovered, exposed, _narrowest = _report("primary suppression only", bounds)
        assert kinds.keys() == {"primary"}
        assert exposed > 0 and recovered > 0
        with pytest.raises(QualityGateFailed, match="disclosure"):
            pipeline.gate_stage("without-complementary")
        with pytest.raises(versioning.DisclosureRefused, match="pin or prove below 5"):
            pipeline.publish_stage("without-complementary", {"note": "by hand"})
        assert versioning.current_version(settings) == live_before
        assert not list(settings.published_versions_dir.glob("*.partial*"))


def test_a_new_threshold_marks_the_cells_of_every_year_without_a_rebuild(years_2024_2025, tmp_path):
    """The sensitive cells are built per year, and a run rebuilds only the years with new reports
    (disclosure_sensitive_cells). A threshold raised with no new report must still reach every
    year's cells and hidden cells on the next ordinary build: a privacy setting never lags."""
    copy = tmp_path / "data"
    copy_data_dir(years_2024_2025.data_dir, copy)
    with using_data_dir(copy, QNWU_SMALL_CELL_THRESHOLD="10") as settings:
        dbt_runner.run_dbt(settings, "build", "--select", "disclosure_sensitive_cells+")
        with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
            per_year = con.execute("""
                select cells.report_year, count(*),
                    count(*) filter (where cells.small_cell_threshold <> 10
                                     or cells.is_primary <> coalesce(cells.value between 1 and 9, false)),
                    count(*) filter (where cells.value between 5 and 9),
                    count(*) filter (where cells.is_primary and hidden.suppression is distinct from 'primary')
                from disclosure.disclosure_sensitive_cells as cells
                left join disclosure.disclosure_hidden_cells as hidden using (cell_id)
                group by 1 order by 1""").fetchall()
    assert [row[0] for row in per_year] == [2024, 2025], per_year
    for year, cells, wrongly_marked, newly_small, primary_not_hidden in per_year:
        assert cells > 0 and newly_small > 0, (year, per_year)  # the new threshold has cells to mark
        assert wrongly_marked == 0 and primary_not_hidden == 0, (year, per_year)


def test_the_gate_solves_the_audit_in_a_worker_with_the_same_result_and_survives_its_death(sample_2023):
    """The gate hands the audit's sums to a worker process (disclosure/audit_worker.py): the worker
    proves the very intervals the same sums give in this process; a worker killed mid-way costs
    nothing but time (the audit is solved here instead); a sum that does not hold is reported
    from the worker as from this process. The worker runs at a lower priority than the gate."""
    with duckdb.connect(str(sample_2023.working_warehouse), read_only=True) as con:
        sums = audit.read_published_sums(con, "working", "published", THRESHOLD)
    here = audit.solve(sums)
    assert len(here.cells) > 200 and here.passed
    there = audit_worker.SolvingElsewhere(sums)
    # niced below the gate, whose verdicts come first (the worker is not reaped before result())
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, there._process.pid) > own or own == 19
    assert dataclasses.asdict(there.result()) == dataclasses.asdict(here)

    killed = audit_worker.SolvingElsewhere(sums)
    killed._process.kill()
    assert dataclasses.asdict(killed.result()) == dataclasses.asdict(here)
    assert killed._process.returncode == -signal.SIGKILL

    broken = dataclasses.replace(sums, values={**sums.values})
    published = {cell for cell, value in broken.values.items() if value is not None}
    parent = next(
        parent
        for (_kind, parent), children in sums.equations.items()
        if parent in published and published.issuperset(children)
    )
    broken.values[parent] += 1  # published parent no longer the sum of its published parts
    with pytest.raises(audit.AuditModelMismatch, match="add up"):
        audit_worker.SolvingElsewhere(broken).result()


def test_the_audit_reads_a_cell_as_published_when_any_table_publishes_it(sample_2023, tmp_path):
    """The audit reads each fact table's sums on their own and takes the exact, cell-by-cell reading
    only when the tables disagree (audit._unit_month_sums). On the sample they agree, and both
    readings give the same sums; where one table publishes a cell the other hides, the cell is
    known to the attacker and leaves the unknowns; where two tables publish different values for a
    cell, the audit cannot vouch for the version."""
    working = tmp_path / "working.duckdb"
    shutil.copyfile(sample_2023.working_warehouse, working)
    with duckdb.connect(str(working)) as con:
        before = audit.read_published_sums(con, "working", "published", THRESHOLD)
        where = '"working"."published"'
        codes = ", ".join(f"'{code}'" for code in sorted({cell.split(":")[0] for cell in before.component.values()}))
        exact = audit._unit_month_sums_exact(con, where, codes, "")
        by_table = audit._unit_month_sums(con, where, codes, "")
        assert sorted((*row[:6], min(row[6], 1)) for row in exact) == sorted(by_table)

        hidden_unit_cell, true_value = con.execute(
            """select cells.cell_id, cells.value from disclosure.disclosure_sensitive_cells as cells
            join disclosure.disclosure_hidden_cells using (cell_id)
            where cells.scope_level = 'unit' order by cells.cell_id limit 1"""
        ).fetchone()
        assert before.values[hidden_unit_cell] is None
        con.execute("create table marts.beneficiaries_as_tampered as select * from published.fct_beneficiaries")
        con.execute("create or replace view published.fct_beneficiaries as select * from marts.beneficiaries_as_tampered")
        con.execute(
            "update marts.beneficiaries_as_tampered set value = ? where indicator_value_id = ?",
            [true_value, hidden_unit_cell],
        )
        one_table_publishes_it = audit.read_published_sums(con, "working", "published", THRESHOLD)
        assert hidden_unit_cell not in one_table_publishes_it.values  # a constant of its sum now
        assert one_table_publishes_it.values.keys() == before.values.keys() - {hidden_unit_cell}

        published_cell = con.execute(
            "select indicator_value_id from marts.beneficiaries_as_tampered "
            f"where value is not null and indicator_code in ({codes}) and indicator_value_id <> ? "
            "order by indicator_value_id limit 1",
            [hidden_unit_cell],
        ).fetchone()[0]
        con.execute(
            "update marts.beneficiaries_as_tampered set value = value + 1 where indicator_value_id = ?", [published_cell]
        )
        with pytest.raises(audit.AuditModelMismatch, match="published twice with different values"):
            audit.read_published_sums(con, "working", "published", THRESHOLD)


def test_an_audit_worker_that_cannot_start_costs_only_time(sample_2023, monkeypatch):
    """No interpreter to start (or no room for the sums): the audit is solved in the gate's process."""
    with duckdb.connect(str(sample_2023.working_warehouse), read_only=True) as con:
        sums = audit.read_published_sums(con, "working", "published", THRESHOLD)
    monkeypatch.setattr(audit_worker.sys, "executable", "/nonexistent/python")
    not_started = audit_worker.SolvingElsewhere(sums)
    assert not_started._process is None
    assert dataclasses.asdict(not_started.result()) == dataclasses.asdict(audit.solve(sums))


def test_publish_takes_the_gates_intervals_only_for_the_very_sums_the_gate_solved(sample_2023):
    """Publish audits the version file's sums, and solves them only when no gate solved the very
    same ones (versioning._gate_intervals): a digest of everything the solver reads
    (audit.sums_digest), whatever order the sums were read in. The sample's version
    took the gate's intervals, and they are the ones solving the version file gives."""
    with duckdb.connect(str(sample_2023.working_warehouse), read_only=True) as con:
        sums = audit.read_published_sums(con, "working", "published", THRESHOLD)
    reordered = audit.PublishedSums(
        sums.threshold,
        dict(reversed(sums.values.items())),
        dict(reversed(sums.component.items())),
        {key: list(reversed(children)) for key, children in reversed(sums.equations.items())},
        list(reversed(sums.leaks)),
        dict(reversed(sums.pinned.items())),
    )
    assert audit.sums_digest(reordered) == audit.sums_digest(sums)
    hidden = next(cell for cell, value in sums.values.items() if value is None)
    published = next(cell for cell, value in sums.values.items() if value is not None)
    key, children = next(iter(sums.equations.items()))
    variants = [
        dataclasses.replace(sums, threshold=sums.threshold + 1),
        dataclasses.replace(sums, values={**sums.values, published: sums.values[published] + 1}),
        dataclasses.replace(sums, values={**sums.values, hidden: 0.0}),
        dataclasses.replace(sums, component={**sums.component, hidden: "another:2023"}),
        dataclasses.replace(sums, equations={**sums.equations, key: children[:-1]}),
        dataclasses.replace(sums, leaks=[*sums.leaks, published]),
        dataclasses.replace(sums, pinned={**sums.pinned, hidden: 1.0}),
    ]
    assert len({audit.sums_digest(variant) for variant in [sums, *variants]}) == len(variants) + 1

    with _published(sample_2023) as con:
        publication = json.loads(con.execute("select disclosure from meta.publication").fetchone()[0])
        stored = sorted(
            con.execute("select cell_id, component_id, lower_bound, upper_bound from meta.disclosure_audit").fetchall()
        )
        catalog = con.execute("select current_database()").fetchone()[0]
        version_sums = audit.read_published_sums(con, catalog, "marts", THRESHOLD)
        solved = audit.solve(version_sums)
        con.execute(f"attach '{sample_2023.working_warehouse}' as working (read_only)")
        from_the_gate = versioning._gate_intervals(con, version_sums)
        for variant in variants:
            assert versioning._gate_intervals(con, variant) is None
    assert publication["audit"]["solved_by"] == "gate"
    assert len(solved.cells) > 200 and dataclasses.asdict(from_the_gate) == dataclasses.asdict(solved)
    assert stored == sorted((c.cell_id, c.component_id, c.lower_bound, c.upper_bound) for c in solved.cells)
