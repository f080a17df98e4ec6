"""The quality gate: Great Expectations suites from expectations/ run on the built marts.

The large marts, and the suites that say what their rows are (changed_by), are validated on the
rows that changed since the live published version (the other rows passed the gate before they
were published); the small marts whole: see changes.py. Two reconciliation suites, SQL over whole
tables, still check all of history on every run.

GX's SQL data source does not work on DuckDB (it fetches after closing the connection), so each
table is read from the working warehouse into a pandas DataFrame and validated there; that is
fast at this size (a million rows, a few expectations, well under a second). Results are written
to ``audit.validation_results`` so they can be queried like any other data, and a critical
failure raises :class:`QualityGateFailed` naming the failing expectations with sample rows.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from qnwu_warehouse import changes
from qnwu_warehouse.settings import EXPECTATIONS_DIR, Settings
from qnwu_warehouse.warehouse import current_database, working_connection

SEVERITIES = ("critical", "warning")
# GX would otherwise try to send usage analytics over a network these machines do not have.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

AUDIT_DDL = """
create schema if not exists audit;
create table if not exists audit.validation_results (
    run_id varchar, validated_at timestamptz, suite_name varchar, table_name varchar,
    expectation_type varchar, column_name varchar, severity varchar, success boolean,
    element_count bigint, unexpected_count bigint, unexpected_sample varchar, kwargs varchar
);
"""


class QualityGateFailed(Exception):
    """A critical expectation failed; nothing may be published."""


# How many offending reports a failure message names; the way out it then points to.
REPORTS_NAMED = 10
REPAIR_HINT = ("run `qnwu rebuild` (a dbt full refresh of the marts from raw, then the whole gate and publish); "
               "readers keep the last good version until then")


@dataclass(frozen=True)
class ExpectationResult:
    suite_name: str
    table_name: str
    expectation_type: str
    column_name: str | None
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_sample: list
    kwargs: dict
    # a failure of a suite that can name the reports behind it (offending_reports): at most
    # REPORTS_NAMED of them, and how many there are in all
    names_reports: bool = False
    reports: tuple[dict, ...] = ()
    reports_total: int = 0


@dataclass(frozen=True)
class GateResult:
    run_id: str
    results: tuple[ExpectationResult, ...]
    validated: dict[str, object] | None = None  # ChangeSet.as_dict(): whole marts, or the changed rows

    @property
    def critical_failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def summary(self) -> dict[str, object]:
        return {"run_id": self.run_id, "passed": self.passed, "expectations": len(self.results),
                "critical_failures": len(self.critical_failures), "warnings": len(self.warnings),
                "validated": self.validated}


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[dict]:
    """Read every suite file; a malformed one is an operator error, so say which file and why."""
    suites = []
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for suite in document.get("suites", []):
            for expectation in suite["expectations"]:
                if expectation.get("severity") not in SEVERITIES:
                    raise ValueError(f"{path.name}: suite {suite['name']}: expectation {expectation['type']} "
                                     f"needs severity critical or warning, got {expectation.get('severity')!r}")
            if not isinstance(suite.get("offending_reports", ""), str):
                raise ValueError(f"{path.name}: suite {suite['name']}: offending_reports must be a query (text)")
            if suite.get("changed_by") not in (None, *changes.CHANGED_BY_KINDS):
                raise ValueError(f"{path.name}: suite {suite['name']}: changed_by must be one of "
                                 f"{', '.join(changes.CHANGED_BY_KINDS)} (or absent), got {suite['changed_by']!r}")
            suites.append(suite)
    return suites


def _expectation_class(snake_name: str):
    import great_expectations as gx

    camel = "".join(part.capitalize() for part in snake_name.split("_"))
    try:
        return getattr(gx.expectations, camel)
    except AttributeError:
        raise ValueError(f"expectations/: unknown Great Expectations type {snake_name!r}") from None


def _resolve_kwargs(kwargs: dict, con) -> dict:
    resolved = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and "query" in value:
            resolved[key] = [row[0] for row in con.execute(value["query"]).fetchall()]
        else:
            resolved[key] = value
    return resolved


def _gx_context(settings: Settings):
    """A file-backed GX context under the data directory: suites, results and Data Docs persist,
    so the HTML site shows every run's results."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX labels each batch with a fingerprint that hashes every value of a DataFrame under 1 GB.
    # Nothing here reads that label, and on a national year the gate took 47.5 s with it and
    # 34.5 s without (docs/benchmarks.md): fingerprint nothing.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="file", project_root_dir=str(settings.gx_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


# Expectations that look only at a table's shape (its column names), never at its values.
SHAPE_EXPECTATIONS = frozenset({"expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
                                "expect_table_column_count_to_equal", "expect_column_to_exist"})


def _suite_sql(suite_spec: dict, change_set: changes.ChangeSet) -> str:
    """The rows a suite validates: its table or query, only the changed rows where it can tell them."""
    source = suite_spec.get("table")
    sql = f"select * from {source}" if source else suite_spec["query"]
    # a suite says what its rows are; a mart's table is known to changes.py
    changed_by = suite_spec.get("changed_by") or (changes.MART_CHANGED_BY.get(source.rsplit(".", 1)[-1])
                                                  if source else None)
    condition = change_set.condition(changed_by)
    if not condition:
        return sql
    return f"{sql} where {condition}" if source else f"select * from ({sql}) as suite_rows where {condition}"


def _columns_read(suite_spec: dict) -> set[str] | None:
    """The columns whose values the suite's expectations read; None if one of them needs the whole
    table (an expectation that is neither about one column nor about the table's shape)."""
    columns: set[str] = set()
    for spec in suite_spec["expectations"]:
        kwargs = spec.get("kwargs", {})
        if spec["type"] in SHAPE_EXPECTATIONS:
            continue
        if "column" not in kwargs:
            return None
        columns.add(kwargs["column"])
    return columns


def _frame_for(suite_spec: dict, con, change_set: changes.ChangeSet):
    """The DataFrame GX validates: the table or query result with all its columns, but values only
    in the columns an expectation reads.

    Pandas holds every text value as a Python object, so a whole fact table of a national year
    (2 million rows) took about 2 GB per suite. A column no expectation reads is an all-null
    categorical placeholder instead (one byte a row): shape expectations still see the real column
    set, and the sample rows of a failure are read back from DuckDB whole (_offending_rows)."""
    import numpy as np
    import pandas as pd

    sql = _suite_sql(suite_spec, change_set)
    needed = _columns_read(suite_spec)
    if needed is None:
        return con.execute(sql).df()
    all_columns = [row[0] for row in con.execute(f"describe {sql}").fetchall()]
    read = [column for column in all_columns if column in needed]
    quoted = ", ".join('"' + column.replace('"', '""') + '"' for column in read)
    frame = con.execute(f"select {quoted or 'null as no_column_read'} from ({sql}) as checked").df()
    # Text repeats (unit codes, periods, statuses): as categoricals, each value is stored once and
    # each row holds a small code. A column checked for uniqueness stays as it is, since its values
    # do not repeat. On five national years this took the gate from 10.4 GB to 6.7 GB (docs/benchmarks.md).
    unique_checked = {spec["kwargs"]["column"] for spec in suite_spec["expectations"]
                      if spec["type"] == "expect_column_values_to_be_unique"}
    for column in read:
        if pd.api.types.is_string_dtype(frame[column].dtype) and column not in unique_checked:
            frame[column] = frame[column].astype("category")
    rows = len(frame)
    placeholders = {column: pd.Categorical.from_codes(np.full(rows, -1, dtype=np.int8), categories=[])
                    for column in all_columns if column not in needed}
    return frame.assign(**placeholders)[all_columns]


def run_gate(settings: Settings, run_id: str) -> GateResult:
    """Validate every suite against the working warehouse, record the results as data, and
    rebuild the Data Docs site."""
    import great_expectations as gx
    context = _gx_context(settings)
    source = context.data_sources.add_or_update_pandas("working_warehouse")
    results: list[ExpectationResult] = []
    with working_connection(settings) as con:
        change_set = _changes_since_live_version(con, settings)
        for suite_spec in load_suites():
            frame = _frame_for(suite_spec, con, change_set)
            name = suite_spec["name"]
            try:
                asset = source.get_asset(name)
            except LookupError:
                asset = source.add_dataframe_asset(name=name)
            try:
                batch_definition = asset.get_batch_definition("whole_table")
            except KeyError:
                batch_definition = asset.add_batch_definition_whole_dataframe("whole_table")
            suite = gx.ExpectationSuite(name=name)
            specs = suite_spec["expectations"]
            for spec in specs:
                kwargs = _resolve_kwargs(spec.get("kwargs", {}), con)
                suite.add_expectation(_expectation_class(spec["type"])(**kwargs, meta={"severity": spec["severity"]}))
            suite = context.suites.add_or_update(suite)
            validation = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
            checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
                name=name, validation_definitions=[validation], actions=[],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5}))
            outcome = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=run_id))
            # let this suite's frame go before the next one is read, not after: two fact tables of
            # millions of rows would otherwise be held at once
            del frame
            reports: tuple[tuple[dict, ...], int] | None = None
            for validation_result in outcome.run_results.values():
                for item in validation_result.results:
                    config = item.expectation_config
                    detail = item.result or {}
                    severity = (config.meta or {}).get("severity", "critical")
                    if not item.success and severity == "critical" and reports is None:
                        reports = _offending_reports(con, suite_spec)
                    results.append(ExpectationResult(
                        suite_name=name,
                        table_name=suite_spec.get("table", "(query)"),
                        expectation_type=config.type,
                        column_name=config.kwargs.get("column"),
                        severity=severity,
                        success=bool(item.success),
                        element_count=detail.get("element_count"),
                        unexpected_count=detail.get("unexpected_count"),
                        unexpected_sample=_offending_rows(con, suite_spec, change_set, config.kwargs.get("column"),
                                                          detail.get("partial_unexpected_list")),
                        kwargs={k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id", "value_set")},
                        **({"names_reports": bool(suite_spec.get("offending_reports")), "reports": reports[0],
                            "reports_total": reports[1]} if reports is not None and not item.success else {}),
                    ))
        gate = GateResult(run_id=run_id, results=tuple(results), validated=change_set.as_dict())
        _record(con, gate)
    context.build_data_docs()  # once for all suites: per-checkpoint rebuilds cost seconds each
    return gate


def _changes_since_live_version(con, settings: Settings) -> changes.ChangeSet:
    """What changed since the live published version, read with that version attached read-only
    (published files are never written after their rename, so this cannot disturb a reader)."""
    from qnwu_warehouse.publish import current_version

    live = current_version(settings)
    working = current_database(con)
    if live is None:
        return changes.changes_since(con, settings, working, None)
    con.execute("attach ? as live_version (read_only)", [str(live)])
    try:
        return changes.changes_since(con, settings, working, "live_version")
    finally:
        con.execute("detach live_version")


def _offending_rows(con, suite_spec: dict, change_set: changes.ChangeSet, column: str | None,
                    unexpected: list | None, limit: int = 5) -> list:
    """Whole rows, not bare values: 'is_outlier = true' says nothing, the unit and month do.
    Read from DuckDB, in table order, since the validated frame holds only the columns checked."""
    if not unexpected:
        return []
    sql = _suite_sql(suite_spec, change_set)
    all_columns = [row[0] for row in con.execute(f"describe {sql}").fetchall()]
    if column is None or column not in all_columns:
        return list(unexpected)[:limit]
    values = [value for value in unexpected if value is not None]
    quoted = '"' + column.replace('"', '""') + '"'
    condition = " or ".join(filter(None, [f"{quoted} in (select unnest(?))" if values else "",
                                          f"{quoted} is null" if len(values) < len(unexpected) else ""]))
    rows = con.execute(f"select * from ({sql}) as checked where {condition} limit {limit}",
                       [values] if values else []).df()
    return json.loads(rows.to_json(orient="records", date_format="iso", force_ascii=False))


def _offending_reports(con, suite_spec: dict) -> tuple[tuple[dict, ...], int]:
    """The reports (unit_code, period, submission_id) behind a failure of a suite that says how to
    find them (its offending_reports query, run only on failure): at most REPORTS_NAMED, and the
    total. A reconciliation's own rows are totals, which say that raw and the facts disagree but
    not where; an operator needs the unit and the month."""
    query = suite_spec.get("offending_reports")
    if not query:
        return (), 0
    frame = con.execute(f"select *, count(*) over () as reports_total from ({query}) as offending "
                        f"limit {REPORTS_NAMED}").df()
    total = int(frame["reports_total"].iloc[0]) if len(frame) else 0
    rows = json.loads(frame.drop(columns="reports_total").to_json(orient="records", date_format="iso",
                                                                  force_ascii=False))
    return tuple(rows), total


def data_docs_index(settings: Settings) -> Path:
    return settings.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _record(con, gate: GateResult) -> None:
    con.execute(AUDIT_DDL)
    now = datetime.now(UTC)
    con.executemany(
        "insert into audit.validation_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(gate.run_id, now, r.suite_name, r.table_name, r.expectation_type, r.column_name, r.severity,
          r.success, r.element_count, r.unexpected_count, json.dumps(r.unexpected_sample, default=str,
                                                                      ensure_ascii=False),
          json.dumps(r.kwargs, default=str, ensure_ascii=False)) for r in gate.results],
    )


def failure_message(gate: GateResult, *, rebuilt: bool = False) -> str:
    """What failed, with sample rows; for a reconciliation, the reports whose facts disagree with
    raw and the way out (`qnwu rebuild`). `rebuilt`: the marts were just rebuilt from raw, so a
    rebuild is no way out: raw itself or the models are what to look at."""
    lines = [f"quality gate failed for run {gate.run_id}: {len(gate.critical_failures)} critical "
             "expectation(s) failed; nothing was published and readers keep the last good version."]
    named = False
    for r in gate.critical_failures:
        lines.append(f"  - {r.suite_name}: {r.expectation_type}({r.column_name or ''}) "
                     f"{r.unexpected_count} unexpected of {r.element_count}; sample {r.unexpected_sample}")
        named = named or r.names_reports
        if r.reports:
            lines.append(f"    {r.reports_total} report(s) whose facts disagree with raw"
                         + (f", the first {len(r.reports)}:" if r.reports_total > len(r.reports) else ":"))
            lines.extend(f"      unit {report.get('unit_code')}, period {report.get('period')} "
                         f"(submission {report.get('submission_id')})" for report in r.reports)
    if named and rebuilt:
        lines.append("The marts were just rebuilt from raw (`qnwu rebuild`) and still disagree with it: "
                     "look at raw and the dbt models; nothing was published.")
    elif named:
        lines.append(f"To repair: {REPAIR_HINT}.")
    return "\n".join(lines)
