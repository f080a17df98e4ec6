"""The quality gate: Great Expectations suites from expectations/ run on the built marts.

The large marts, and the suites that say what their rows are (changed_by), are validated on the
rows that changed since the live published version (the other rows passed the gate before they
were published); the small marts whole: see changes.py. The two whole-history reconciliations
check all of history on a full sweep (the first gate, a rules change, and at least every
QNWU_FULL_SWEEP_HOURS), and the changed reports on the runs in between (their changed_query).

GX's SQL data source does not work on DuckDB (it fetches after closing the connection), so GX
validates pandas DataFrames. The set-based work is pushed down to DuckDB: for each suite, DuckDB
reads the rows once and reduces them to a witness frame (_witness_frame), a few values per
checked column on which every expectation succeeds or fails exactly as on all the rows, with the
same unexpected values; GX validates that frame and stays the engine of record (results, Data
Docs), and the counts of rows checked and failing are read back from DuckDB. tests/
test_gate_witness.py proves the equivalence on generated tables. A suite with an expectation the
witness cannot stand for (one that counts rows, such as `mostly`) is validated on its rows. GX
runs in a thread of its own (gx_validation.py), imported while the gate reads the first suites.

Results are written to ``audit.validation_results`` so they can be queried like any other data,
and a critical failure raises :class:`QualityGateFailed` naming the failing expectations with sample rows.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from qnwu_warehouse.checks import changes, gx_validation
from qnwu_warehouse.disclosure import audit as disclosure_audit
from qnwu_warehouse.disclosure import audit_worker
from qnwu_warehouse.settings import EXPECTATIONS_DIR, Settings
from qnwu_warehouse.warehouse import current_database, quoted_identifier, working_connection

SEVERITIES = ("critical", "warning")

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
REPAIR_HINT = (
    "run `qnwu rebuild` (a dbt full refresh of the marts from raw, then the whole gate and publish); "
    "readers keep the last good version until then"
)


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
    # where the gate's time went: the rows and witness frames read in DuckDB, GX's validation, the
    # Data Docs; and each suite's seconds (what a regression of the gate comes from)
    seconds: dict[str, object] | None = None
    disclosure: dict[str, object] | None = None  # the disclosure audit's summary (disclosure/audit.py)
    # the Data Docs' offline assets (checks/data_docs.py): installed, pages rewritten, remote loads left
    data_docs: dict[str, object] | None = None

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
        return {
            "run_id": self.run_id,
            "passed": self.passed,
            "expectations": len(self.results),
            "critical_failures": len(self.critical_failures),
            "warnings": len(self.warnings),
            "validated": self.validated,
            "seconds": self.seconds,
            "disclosure_audit": self.disclosure,
            "data_docs": self.data_docs,
        }


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[dict]:
    """Read every suite file; a malformed one is an operator error, so say which file and why."""
    suites = []
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for suite in document.get("suites", []):
            for expectation in suite["expectations"]:
                if expectation.get("severity") not in SEVERITIES:
                    raise ValueError(
                        f"{path.name}: suite {suite['name']}: expectation {expectation['type']} "
                        f"needs severity critical or warning, got {expectation.get('severity')!r}"
                    )
            if not isinstance(suite.get("changed_query", ""), str) or (
                suite.get("changed_query") and not suite.get("query")
            ):
                raise ValueError(
                    f"{path.name}: suite {suite['name']}: changed_query must be a query (text), "
                    "beside the suite's query (what a full sweep runs)"
                )
            if not isinstance(suite.get("offending_reports", ""), str):
                raise ValueError(f"{path.name}: suite {suite['name']}: offending_reports must be a query (text)")
            if suite.get("changed_by") not in (None, *changes.CHANGED_BY_KINDS):
                raise ValueError(
                    f"{path.name}: suite {suite['name']}: changed_by must be one of "
                    f"{', '.join(changes.CHANGED_BY_KINDS)} (or absent), got {suite['changed_by']!r}"
                )
            suites.append(suite)
    return suites


def _resolve_kwargs(kwargs: dict, con) -> dict:
    resolved = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and "query" in value:
            resolved[key] = [row[0] for row in con.execute(value["query"]).fetchall()]
        else:
            resolved[key] = value
    return resolved


# Expectations that look only at a table's shape (its column names), never at its values.
SHAPE_EXPECTATIONS = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_column_count_to_equal",
        "expect_column_to_exist",
    }
)
# Column-map expectations whose verdict on a column depends only on which values it holds, not on
# how often: each non-null value passes or fails on its own (GX skips nulls for all but not-null).
VALUE_SET_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
    }
)
NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
UNIQUE = "expect_column_values_to_be_unique"
# kwargs that make a verdict depend on row counts or on other columns: such a suite is validated
# on its rows as they are, never on a witness frame
ROW_DEPENDENT_KWARGS = frozenset({"mostly", "row_condition", "condition_parser"})


def _suite_sql(suite_spec: dict, change_set: changes.ChangeSet, sweep: bool = True) -> str:
    """The rows a suite validates: its table or query, only the changed rows where it can tell them.
    A suite with a `changed_query` (the whole-history reconciliations) runs it instead of its query
    on a run that is not a full sweep, with the changed reports and files filled in."""
    source = suite_spec.get("table")
    if not source and not sweep and not change_set.whole and suite_spec.get("changed_query"):
        return (
            suite_spec["changed_query"]
            .replace("{changed_reports}", "(select submission_id from changed_reports)")
            .replace("{changed_files}", "(select file_hash from changed_files)")
        )
    sql = f"select * from {source}" if source else suite_spec["query"]
    # a suite says what its rows are; a mart says it in its dbt properties (meta changed_by)
    changed_by = suite_spec.get("changed_by") or (change_set.kinds.get(source.rsplit(".", 1)[-1]) if source else None)
    condition = change_set.condition(changed_by)
    if not condition:
        return sql
    return f"{sql} where {condition}" if source else f"select * from ({sql}) as suite_rows where {condition}"


def _checks_by_column(suite_spec: dict) -> dict[str, set[str]] | None:
    """Each column's expectation types; None when one expectation is not a per-value check that a
    witness frame decides exactly (see _witness_frame)."""
    checks: dict[str, set[str]] = {}
    for spec in suite_spec["expectations"]:
        kwargs = spec.get("kwargs", {})
        if spec["type"] in SHAPE_EXPECTATIONS:
            continue
        if (
            spec["type"] not in VALUE_SET_EXPECTATIONS | {NOT_NULL, UNIQUE}
            or "column" not in kwargs
            or ROW_DEPENDENT_KWARGS & kwargs.keys()
        ):
            return None
        checks.setdefault(kwargs["column"], set()).add(spec["type"])
    return checks


@dataclass
class SuiteRows:
    """What GX validates for a suite, and where its real rows are: `relation` (a table, filtered to
    the changed rows, or a temporary table holding a query's result) has `rows` rows."""

    frame: object
    relation: str
    source: str  # the suite's rows with all their columns: a table, or its query as a subquery
    rows: int
    witness: bool
    # the value set each reference-set check (in set) of a column gets on the witness frame
    value_sets: dict[str, list] = dataclasses.field(default_factory=dict)


# The temporary tables holding a suite's rows (a query's, or a table's changed rows) until GX's
# verdict on the suite is in: one per suite, since later suites are read meanwhile.
SUITE_ROWS_TABLE = "gate_suite_rows"


def _suite_rows(
    suite_spec: dict,
    con,
    change_set: changes.ChangeSet,
    value_sets: dict[str, list],
    sweep: bool = True,
    table: str = SUITE_ROWS_TABLE,
) -> SuiteRows:
    """The frame GX validates for a suite.

    The set-based work is pushed down to DuckDB: GX validates a witness frame (_witness_frame),
    which holds, per column, only the values its expectations can fail on, and reaches the same
    verdict as on every row. On five national years the whole-history gate read fact tables of
    ten million rows into pandas (6.3 GB, docs/benchmarks.md); the witness frames of the same
    suites hold the distinct values of the checked columns.

    A suite's query, or the changed rows of a table, is read once into a temporary table that the
    witness queries then scan: each would otherwise scan the whole table again to find the changed
    rows (a new month on five years: the facts suite took 2.8 s, then 0.5 s). The table keeps only
    the columns the suite's expectations read: the outliers' query has 7 columns and checks one,
    and on a national year writing all 7 took 0.45 s against 0.15 s. A failure's sample rows are
    whole rows, read again from the suite's query (`source`) when there is a failure to show. A
    table validated whole is scanned where it is, never copied."""
    sql = _suite_sql(suite_spec, change_set, sweep)
    source = f"({sql}) as suite_rows"
    columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]  # bound, not run
    checks = _checks_by_column(suite_spec)
    if suite_spec.get("table") and sql == f"select * from {suite_spec['table']}":
        relation = source
    else:
        kept = [column for column in columns if checks is None or column in checks] or columns
        con.execute(
            f"create or replace temp table {table} as select {', '.join(map(quoted_identifier, kept))} from {source}"
        )
        relation = table
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
    if checks is not None:
        try:
            frame, reduced = _witness_frame(con, relation, checks, value_sets, columns)
            return SuiteRows(frame, relation, source, rows, witness=True, value_sets=reduced)
        except _NoNeutralPadding:
            pass
    return SuiteRows(con.execute(f"select * from {source}").df(), relation, source, rows, witness=False)


class _NoNeutralPadding(Exception):
    """A witness column could not be padded without changing a verdict."""


def _witness_frame(
    con,
    relation: str,
    checks: dict[str, set[str]],
    value_sets: dict[str, list] | None = None,
    all_columns: list[str] | None = None,
):
    """A frame on which each expectation of `checks` ({column: expectation types}) succeeds or
    fails exactly as on the rows of `relation`, and names the same unexpected values.

    Per column it holds
    - every distinct non-null value, if a value-set check (between, in set, regex) reads it: each
      value passes or fails on its own, however often it occurs;
    - a second copy of each value that occurs more than once, if uniqueness is checked (and only
      those copies, if nothing else needs the values): uniqueness fails exactly on those;
    - one null, if not-null is checked and the column has nulls.
    Columns are padded to the longest one without changing any verdict: with more distinct values
    of the column, else a repeat that cannot fail (a value already repeated, or any value when
    uniqueness is not checked), else nulls where nulls are not checked (or already fail). Columns
    nothing reads are null placeholders, so shape checks see the real columns.

    A column whose only value check is one reference set (`value_sets`: {column: the set}, such as
    the 10,000 unit codes) is reduced further in DuckDB: its values outside the set, and one inside
    it, against a set of that one value. GX copies an expectation's arguments many times over while
    it validates: a set of 10,000 units cost 1.5 s per suite, more than the rows did.
    Returns the frame and the value set each such column's check gets on it."""
    import numpy as np
    import pandas as pd

    if all_columns is None:  # the frame's columns: the relation's, or the suite's when it holds fewer
        all_columns = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]
    null_counts = {}
    not_null_checked = [column for column, kinds in checks.items() if NOT_NULL in kinds]
    if not_null_checked:
        counts = con.execute(
            "select "
            + ", ".join(f"count(*) filter ({quoted_identifier(c)} is null)" for c in not_null_checked)
            + f" from {relation}"
        ).fetchone()
        null_counts = dict(zip(not_null_checked, counts, strict=True))
    witnesses: dict[str, pd.Series] = {}
    reduced: dict[str, list] = {}
    partial: set[str] = set()  # columns whose witness does not hold every distinct value
    for column, kinds in checks.items():
        quoted = quoted_identifier(column)
        parts = []
        repeated = (
            con.execute(
                f"select {quoted} from {relation} where {quoted} is not null group by {quoted} having count(*) > 1"
            ).df()[column]
            if UNIQUE in kinds
            else None
        )
        if column in (value_sets or {}) and kinds & VALUE_SET_EXPECTATIONS == {IN_SET}:
            allowed = _python_values(value_sets[column])
            # IN over a subquery is a hash join; list_contains(?, value) compared every row with the whole set
            outside = con.execute(
                f"select distinct {quoted} from {relation} where {quoted} is not null "
                f"and {quoted} not in (select unnest(?))",
                [allowed],
            ).df()[column]
            inside = con.execute(
                f"select {quoted} from {relation} where {quoted} is not null and {quoted} in (select unnest(?)) limit 1",
                [allowed],
            ).df()[column]
            reduced_values = pd.concat([outside, inside], ignore_index=True)
            if repeated is not None:
                # a repeated value comes in twice below: a third copy would make the frame longer
                # than the rows it stands for
                reduced_values = reduced_values[~reduced_values.isin(repeated)]
            parts.append(reduced_values)
            reduced[column] = allowed
        elif kinds & VALUE_SET_EXPECTATIONS:
            parts.append(con.execute(f"select distinct {quoted} from {relation} where {quoted} is not null").df()[column])
        every_value = bool(kinds & VALUE_SET_EXPECTATIONS) and column not in reduced  # each distinct value once
        if repeated is not None:
            parts.append(repeated)
            if not every_value:
                parts.append(parts[-1])  # twice: each repeated value must be repeated in the frame
        if not every_value:
            partial.add(column)
        if null_counts.get(column):
            parts.append(con.execute(f"select {quoted} from {relation} where {quoted} is null limit 1").df()[column])
        witnesses[column] = (
            pd.concat(parts, ignore_index=True)
            if parts
            else con.execute(f"select {quoted} from {relation} limit 0").df()[column]
        )
    length = max((len(w) for w in witnesses.values()), default=0)
    frame = {
        column: _padded(con, relation, column, checks[column], witness, length, column in partial)
        for column, witness in witnesses.items()
    }
    # each reduced check's set: the values of the set that the frame holds (repeats and padding included)
    for column, allowed in reduced.items():
        members = set(allowed)
        reduced[column] = [value for value in _python_values(list(frame[column].drop_duplicates())) if value in members]
    placeholders = {
        column: pd.Categorical.from_codes(np.full(length, -1, dtype=np.int8), categories=[])
        for column in all_columns
        if column not in frame
    }
    return pd.DataFrame({**frame, **placeholders})[all_columns], reduced


def _padded(con, relation: str, column: str, kinds: set[str], witness, length: int, partial: bool):
    """`witness` made `length` long with values that change no verdict of `kinds` (see _witness_frame).
    `partial`: the witness does not hold every distinct value of the column, so more can be added
    (a value added to a reduced reference-set check's column is inside the set: those outside are
    all in the witness already)."""
    import pandas as pd

    missing = length - len(witness)
    if missing <= 0:
        return witness.reset_index(drop=True)
    quoted = quoted_identifier(column)
    present = witness.dropna()
    padding = None
    if UNIQUE in kinds and partial:
        # more distinct values of the column, none of them repeated in the frame yet
        more = con.execute(
            f"select distinct {quoted} from {relation} where {quoted} is not null limit {missing + len(present)}"
        ).df()[column]
        more = more[~more.isin(present)].head(missing)
        witness, missing = pd.concat([witness, more], ignore_index=True), missing - len(more)
        present = witness.dropna()
    if missing <= 0:
        return witness.reset_index(drop=True)
    if UNIQUE in kinds:
        repeated = present[present.duplicated()]
        padding = repeated.iloc[0] if len(repeated) else None
    elif len(present):
        padding = present.iloc[0]
    else:
        any_value = con.execute(f"select {quoted} from {relation} where {quoted} is not null limit 1").fetchone()
        padding = any_value[0] if any_value else None
    if padding is None and NOT_NULL in kinds and not witness.isna().any():
        raise _NoNeutralPadding(column)  # not reached (see _witness_frame); the caller then reads every row
    filler = pd.Series([padding] * missing, dtype=witness.dtype if padding is not None else "object")
    return pd.concat([witness, filler], ignore_index=True)


def _reference_sets(specs: list[dict], resolved: list[dict]) -> dict[str, list]:
    """{column: value set} for each column checked against exactly one reference set (in set)."""
    in_sets = [
        (kwargs["column"], kwargs["value_set"])
        for spec, kwargs in zip(specs, resolved, strict=True)
        if spec["type"] == IN_SET and "column" in kwargs
    ]
    columns = [column for column, _ in in_sets]
    return {column: values for column, values in in_sets if columns.count(column) == 1}


def run_gate(settings: Settings, run_id: str) -> GateResult:
    """Validate every suite against the working warehouse, record the results as data, and
    rebuild the Data Docs site.

    The gate's thread reads each suite's rows in DuckDB and reduces them to a witness frame; Great
    Expectations, imported meanwhile in a thread of its own (gx_validation.py), validates each frame
    as it is handed over; the disclosure audit's linear programs are solved in a worker process
    (disclosure/audit_worker.py). A suite's verdict comes back while later suites are read, and the
    gate's thread then counts its failing rows in DuckDB and names them."""
    started = time.perf_counter()
    results: list[ExpectationResult] = []
    # GX starts under the writer lock, as the gate's connection does: a second gate arriving at
    # once waits for the lock before its GX reads or writes the data directory's GX project, and
    # GX's thread is stopped before the lock is let go
    with working_connection(settings) as con, gx_validation.ValidatingInThread(settings.gx_dir) as gx:
        change_set = _changes_since_live_version(con, settings)
        sweep, sweep_reason = _full_sweep(con, settings, change_set)
        change_set_seconds = time.perf_counter() - started
        # the audit's sums are read now, and solved while the suites are; its result comes last
        audit = _start_disclosure_audit(con, settings, change_set)
        audit_seconds = time.perf_counter() - started - change_set_seconds
        sql_seconds, waited_for_gx, per_suite = 0.0, 0.0, {}
        suites = load_suites()
        read: collections.deque[tuple[dict, SuiteRows, float]] = collections.deque()

        def judge(verdict: gx_validation.Verdict) -> None:
            nonlocal sql_seconds
            suite_spec, suite_rows, seconds = read.popleft()
            if verdict.name != suite_spec["name"]:  # GX's thread answers in order; anything else is a bug
                raise RuntimeError(f"GX's verdict on {verdict.name} came back for {suite_spec['name']}")
            judged = time.perf_counter()
            results.extend(_suite_results(con, suite_spec, suite_rows, verdict))
            if suite_rows.relation != suite_rows.source:  # a temporary table of its own
                con.execute(f"drop table if exists {suite_rows.relation}")
            sql_seconds += time.perf_counter() - judged
            per_suite[suite_spec["name"]] = round(seconds + verdict.seconds + time.perf_counter() - judged, 2)

        for index, suite_spec in enumerate(suites):
            suite_started = time.perf_counter()
            specs = suite_spec["expectations"]
            resolved = [_resolve_kwargs(spec.get("kwargs", {}), con) for spec in specs]
            suite_rows = _suite_rows(
                suite_spec, con, change_set, _reference_sets(specs, resolved), sweep, f"{SUITE_ROWS_TABLE}_{index}"
            )
            expectations = []
            for spec, kwargs in zip(specs, resolved, strict=True):
                if spec["type"] == IN_SET and kwargs.get("column") in suite_rows.value_sets:
                    kwargs = {**kwargs, "value_set": suite_rows.value_sets[kwargs["column"]]}
                expectations.append((spec["type"], kwargs, spec["severity"]))
            # a witness frame is small: every unexpected value is listed (complete), so that the
            # count of unexpected rows can be read back from the real rows (_unexpected_rows)
            frame = gx_validation.SuiteFrame(suite_spec["name"], expectations, suite_rows.frame, suite_rows.witness, run_id)
            gx.submit(frame)
            suite_rows.frame = None  # let this suite's frame go before the next one is read
            elapsed = time.perf_counter() - suite_started
            sql_seconds += elapsed
            read.append((suite_spec, suite_rows, elapsed))
            for verdict in gx.finished():
                judge(verdict)
        while read:
            waiting = time.perf_counter()
            verdict = gx.wait()
            waited_for_gx += time.perf_counter() - waiting
            judge(verdict)
        # The Data Docs are GX's results alone: GX's thread renders them while this one waits for
        # the audit's solver, records the results and writes them to disk (a national year: docs
        # 0.55 s, against 0.3 + 0.1 + 0.4 s here), and they are waited for last.
        gx.start_data_docs(run_id)
        audit_waited = time.perf_counter()
        audit_result, disclosure = _finish_disclosure_audit(con, run_id, change_set, audit)
        audit_seconds += time.perf_counter() - audit_waited
        results.append(audit_result)
        results.append(_dbt_tests_result(settings))
        gate = GateResult(
            run_id=run_id,
            results=tuple(results),
            disclosure=disclosure,
            validated={**change_set.as_dict(), "full_sweep": sweep, "full_sweep_reason": sweep_reason},
        )
        _record(con, gate)
        swept = {suite["name"] for suite in suites if suite.get("changed_query")}
        if sweep and all(r.success for r in gate.results if r.suite_name in swept):
            con.execute(SWEEPS_DDL)
            con.execute("insert into audit.full_sweeps values (?, ?)", [run_id, datetime.now(UTC)])
        # written to disk now, while GX's thread renders: closing the connection would checkpoint
        # only after the wait for the Data Docs below
        con.execute("checkpoint")
        waiting = time.perf_counter()
        docs = gx.finish_data_docs()
        waited_for_gx += time.perf_counter() - waiting
        gx_timings = gx.timings()  # read once the Data Docs are written: before, they showed 0
    seconds = {
        # this process's own: the change set; the audit (reading its sums, then waiting for its
        # solver); the suites' rows, witness frames and failing rows in DuckDB; the waits for GX's
        # verdicts and Data Docs. Then GX's, in the process that ran it (gx_validation.Timings), most
        # of it while this one worked.
        "change_set": round(change_set_seconds, 2),
        "disclosure_audit": round(audit_seconds, 2),
        "duckdb_rows_and_witness_frames": round(sql_seconds, 2),
        "waiting_for_gx": round(waited_for_gx, 2),
        **{f"gx_{name}": value for name, value in gx_timings.items()},
        "per_suite": per_suite,
    }
    return dataclasses.replace(gate, seconds=seconds, data_docs=docs)


def _suite_results(con, suite_spec: dict, suite_rows: SuiteRows, verdict: gx_validation.Verdict) -> list[ExpectationResult]:
    """GX's verdict on a suite as the gate's results: on a witness frame, the rows checked and
    failing are counted on the real rows; a failure names sample rows, and for a critical failure
    of a suite that can say so, the reports behind it."""
    results = []
    reports: tuple[tuple[dict, ...], int] | None = None
    for item in verdict.items:
        detail = item["result"]
        severity = item["meta"].get("severity", "critical")
        if not item["success"] and severity == "critical" and reports is None:
            reports = _offending_reports(con, suite_spec)
        column = item["kwargs"].get("column")
        element_count, unexpected_count = detail.get("element_count"), detail.get("unexpected_count")
        if suite_rows.witness and column is not None:
            # the witness frame stands for suite_rows.rows rows: count them, not it
            element_count = suite_rows.rows
            unexpected_count = (
                0
                if item["success"]
                else _unexpected_rows(con, suite_rows.relation, item["type"], column, detail.get("unexpected_list"))
            )
        results.append(
            ExpectationResult(
                suite_name=verdict.name,
                table_name=suite_spec.get("table", "(query)"),
                expectation_type=item["type"],
                column_name=column,
                severity=severity,
                success=item["success"],
                element_count=element_count,
                unexpected_count=unexpected_count,
                unexpected_sample=_offending_rows(con, suite_rows.source, column, detail.get("partial_unexpected_list")),
                kwargs={k: v for k, v in item["kwargs"].items() if k not in ("column", "batch_id", "value_set")},
                **(
                    {
                        "names_reports": bool(suite_spec.get("offending_reports")),
                        "reports": reports[0],
                        "reports_total": reports[1],
                    }
                    if reports is not None and not item["success"]
                    else {}
                ),
            )
        )
    return results


DISCLOSURE_DDL = """
create schema if not exists audit;
create table if not exists audit.disclosure_audit (
    run_id varchar, audited_at timestamptz, cell_id varchar, component_id varchar, suppression varchar,
    lower_bound double, upper_bound double, protected boolean
);
-- what each audit solved: the digest of its published sums (disclosure/audit.py, sums_digest), so
-- that publish can take these intervals for a version file whose sums have the same digest
create table if not exists audit.disclosure_audit_inputs (
    run_id varchar, audited_at timestamptz, sums_digest varchar
);
"""
DISCLOSURE_CRITERION = (
    "every hidden cell's interval over all published figures, in whole counts, reaches the "
    "small-cell threshold and holds more than one value"
)


@dataclass
class _PendingAudit:
    """The disclosure audit between its start and its result: the solver at work, or why the
    published sums could not be read."""

    solving: audit_worker.SolvingElsewhere | None
    mismatch: disclosure_audit.AuditModelMismatch | None
    threshold: int
    started: float


def _start_disclosure_audit(con, settings: Settings, change_set: changes.ChangeSet) -> _PendingAudit:
    """Read the published sums the attacker's audit (disclosure/audit.py) works on, of the years with
    changed reports (no sum crosses a year; the others were audited when they were published) or
    of every year, and start solving them in a worker process."""
    started = time.perf_counter()
    try:
        sums = disclosure_audit.read_published_sums(
            con, current_database(con), "published", settings.small_cell_threshold, changes.changed_years(change_set)
        )
    except disclosure_audit.AuditModelMismatch as problem:
        return _PendingAudit(None, problem, settings.small_cell_threshold, started)
    return _PendingAudit(audit_worker.SolvingElsewhere(sums), None, settings.small_cell_threshold, started)


def _finish_disclosure_audit(
    con, run_id: str, change_set: changes.ChangeSet, pending: _PendingAudit
) -> tuple[ExpectationResult, dict[str, object]]:
    """The audit's result as one critical expectation. Each hidden cell's interval is kept in
    audit.disclosure_audit, with whether it is primary."""
    problem = pending.mismatch
    if pending.solving is not None:
        digest = disclosure_audit.sums_digest(pending.solving.sums)  # while the worker may still be solving
        try:
            audit = pending.solving.result()
        except disclosure_audit.AuditModelMismatch as mismatch:
            problem = mismatch
    if problem is not None:
        summary = {"passed": False, "error": str(problem)}
        return ExpectationResult(
            "disclosure_audit",
            "published",
            "hidden_cells_protected",
            None,
            "critical",
            False,
            None,
            None,
            [str(problem)],
            {"criterion": DISCLOSURE_CRITERION},
        ), summary
    con.execute(DISCLOSURE_DDL)
    audited_at = datetime.now(UTC)
    con.execute(
        "create or replace temp table audited_cells (cell_id varchar, component_id varchar, "
        "lower_bound double, upper_bound double, protected boolean)"
    )
    con.execute(
        "insert into audited_cells select * from (select unnest(?::varchar[]), unnest(?::varchar[]), "
        "unnest(?::double[]), unnest(?::double[]), unnest(?::boolean[]))",
        audit.columns(),
    )
    con.execute(
        """insert into audit.disclosure_audit
        select ?, ?, audited.cell_id, audited.component_id, hidden.suppression, audited.lower_bound,
            audited.upper_bound, audited.protected
        from audited_cells as audited
        left join disclosure.disclosure_hidden_cells as hidden using (cell_id)""",
        [run_id, audited_at],
    )
    con.execute("insert into audit.disclosure_audit_inputs values (?, ?, ?)", [run_id, audited_at, digest])
    summary = {
        **audit.summary(),
        "years": "all" if change_set.whole else sorted(changes.changed_years(change_set)),
        "seconds": round(time.perf_counter() - pending.started, 2),
        "solver_seconds": round(pending.solving.solver_seconds, 2),
    }
    sample = [f"{c.cell_id}: [{c.lower_bound:g}, {c.upper_bound:g}]" for c in audit.failures[:5]] + audit.leaks[:5]
    return ExpectationResult(
        "disclosure_audit",
        "published",
        "hidden_cells_protected",
        None,
        "critical",
        audit.passed,
        len(audit.cells),
        len(audit.failures) + len(audit.leaks),
        sample,
        {"criterion": DISCLOSURE_CRITERION, "threshold": pending.threshold},
    ), summary


# The passing full sweeps: a run sweeps all of history when the last one is too old.
SWEEPS_DDL = """
create schema if not exists audit;
create table if not exists audit.full_sweeps (run_id varchar, swept_at timestamptz);
"""


def _full_sweep(con, settings: Settings, change_set: changes.ChangeSet) -> tuple[bool, str]:
    """Whether this run reconciles all of history (the suites' query) or only what changed (their
    changed_query), and why."""
    if change_set.whole:
        return True, f"every row is validated ({change_set.reason})"
    if settings.full_sweep_hours == 0:
        return True, "QNWU_FULL_SWEEP_HOURS=0: every run"
    con.execute(SWEEPS_DDL)
    last = con.execute("select max(swept_at) from audit.full_sweeps").fetchone()[0]
    if last is None:
        return True, "no full sweep has passed yet"
    age_hours = (datetime.now(UTC) - last).total_seconds() / 3600
    if age_hours >= settings.full_sweep_hours:
        return True, f"the last passing sweep is {age_hours:.1f} h old (QNWU_FULL_SWEEP_HOURS={settings.full_sweep_hours:g})"
    return False, (
        f"the last passing sweep is {age_hours:.1f} h old; the next runs after "
        f"{settings.full_sweep_hours:g} h (QNWU_FULL_SWEEP_HOURS)"
    )


def _changes_since_live_version(con, settings: Settings) -> changes.ChangeSet:
    """What changed since the live published version, read with that version attached read-only
    (published files are never written after their rename, so this cannot disturb a reader)."""
    from qnwu_warehouse.publish.versioning import current_version

    live = current_version(settings)
    working = current_database(con)
    if live is None:
        return changes.changes_since(con, settings, working, None)
    con.execute("attach ? as live_version (read_only)", [str(live)])
    try:
        return changes.changes_since(con, settings, working, "live_version")
    finally:
        con.execute("detach live_version")


def _python_values(values: list) -> list:
    """The non-null values of a list from a pandas frame as plain Python values (numpy scalars are
    not SQL parameters; pandas writes a null as None, NaN or NA by the column's type)."""
    import pandas as pd

    return [value.item() if hasattr(value, "item") else value for value in values if not pd.isna(value)]


def _unexpected_rows(con, relation: str, expectation_type: str, column: str, unexpected: list | None) -> int:
    """How many of the real rows an expectation that failed on a witness frame fails on."""
    quoted = quoted_identifier(column)
    if expectation_type == NOT_NULL:
        return con.execute(f"select count(*) from {relation} where {quoted} is null").fetchone()[0]
    if expectation_type == UNIQUE:
        return con.execute(
            f"select coalesce(sum(n), 0) from (select count(*) as n from {relation} "
            f"where {quoted} is not null group by {quoted} having count(*) > 1)"
        ).fetchone()[0]
    values = _python_values(unexpected or [])
    if not values:
        return 0
    return con.execute(f"select count(*) from {relation} where {quoted} in (select unnest(?))", [values]).fetchone()[0]


def _offending_rows(con, source: str, column: str | None, unexpected: list | None, limit: int = 5) -> list:
    """Whole rows, not bare values: 'is_outlier = true' says nothing, the unit and month do.
    Read from DuckDB, from the suite's table or query (`source`), since the validated frame and the
    suite's temporary table hold only the columns checked."""
    if not unexpected:
        return []
    all_columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
    if column is None or column not in all_columns:
        return list(unexpected)[:limit]
    values = _python_values(unexpected)
    quoted = quoted_identifier(column)
    condition = " or ".join(
        filter(
            None,
            [
                f"{quoted} in (select unnest(?))" if values else "",
                f"{quoted} is null" if len(values) < len(unexpected) else "",
            ],
        )
    )
    rows = con.execute(f"select * from {source} where {condition} limit {limit}", [values] if values else []).df()
    return json.loads(rows.to_json(orient="records", date_format="iso", force_ascii=False))


def _offending_reports(con, suite_spec: dict) -> tuple[tuple[dict, ...], int]:
    """The reports (unit_code, period, submission_id) behind a failure of a suite that says how to
    find them (its offending_reports query, run only on failure): at most REPORTS_NAMED, and the
    total. A reconciliation's own rows are totals, which say that raw and the facts disagree but
    not where; an operator needs the unit and the month."""
    query = suite_spec.get("offending_reports")
    if not query:
        return (), 0
    frame = con.execute(
        f"select *, count(*) over () as reports_total from ({query}) as offending limit {REPORTS_NAMED}"
    ).df()
    total = int(frame["reports_total"].iloc[0]) if len(frame) else 0
    rows = json.loads(frame.drop(columns="reports_total").to_json(orient="records", date_format="iso", force_ascii=False))
    return tuple(rows), total


def data_docs_index(settings: Settings) -> Path:
    return gx_validation.data_docs_site(settings.gx_dir) / "index.html"


def _dbt_tests_result(settings: Settings) -> ExpectationResult:
    """The last `dbt build`'s data and unit tests, as one critical result of the gate. Keys,
    relationships and accepted values are dbt's tests alone (expectations/README.md: which rule
    lives where), so a publish must not follow a build whose tests failed, even one run by hand
    (`qnwu build`) before `qnwu gate`; through Airflow the failed model's task already stops it."""
    path = settings.dbt_target_dir / "run_results.json"
    failed = []
    try:
        results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    except (OSError, json.JSONDecodeError) as unreadable:
        # a torn or foreign file says nothing about the build: refuse rather than guess
        results = None
        failed.append(f"{path}: unreadable ({unreadable}); run `qnwu build` again")
    judged = results is not None and results.get("args", {}).get("which") == "build"
    tests = 0
    for result in results["results"] if judged else ():
        kind = result["unique_id"].split(".", 1)[0]
        tests += kind in ("test", "unit_test")
        if result["status"] in ("fail", "error", "runtime error"):
            failed.append(f"{result['unique_id']}: {result['status']}")
    return ExpectationResult(
        suite_name="dbt_tests",
        table_name="(the last dbt build)",
        expectation_type="dbt_build_passed",
        column_name=None,
        severity="critical",
        # no build to judge (a fresh `dbt parse` or `docs generate` since): the build's own step
        # failed or passed on its own, and the marts' suites still run
        success=not failed,
        element_count=tests if judged else None,
        unexpected_count=len(failed) if judged else None,
        unexpected_sample=failed[:5],
        kwargs={"run_results": str(path)},
    )


def _record(con, gate: GateResult) -> None:
    con.execute(AUDIT_DDL)
    now = datetime.now(UTC)
    con.executemany(
        "insert into audit.validation_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                gate.run_id,
                now,
                r.suite_name,
                r.table_name,
                r.expectation_type,
                r.column_name,
                r.severity,
                r.success,
                r.element_count,
                r.unexpected_count,
                json.dumps(r.unexpected_sample, default=str, ensure_ascii=False),
                json.dumps(r.kwargs, default=str, ensure_ascii=False),
            )
            for r in gate.results
        ],
    )


def failure_message(gate: GateResult, *, rebuilt: bool = False) -> str:
    """What failed, with sample rows; for a reconciliation, the reports whose facts disagree with
    raw and the way out (`qnwu rebuild`). `rebuilt`: the marts were just rebuilt from raw, so a
    rebuild is no way out: raw itself or the models are what to look at."""
    lines = [
        f"quality gate failed for run {gate.run_id}: {len(gate.critical_failures)} critical "
        "expectation(s) failed; nothing was published and readers keep the last good version."
    ]
    named = False
    for r in gate.critical_failures:
        lines.append(
            f"  - {r.suite_name}: {r.expectation_type}({r.column_name or ''}) "
            f"{r.unexpected_count} unexpected of {r.element_count}; sample {r.unexpected_sample}"
        )
        named = named or r.names_reports
        if r.reports:
            lines.append(
                f"    {r.reports_total} report(s) whose facts disagree with raw"
                + (f", the first {len(r.reports)}:" if r.reports_total > len(r.reports) else ":")
            )
            lines.extend(
                f"      unit {report.get('unit_code')}, period {report.get('period')} "
                f"(submission {report.get('submission_id')})"
                for report in r.reports
            )
    if any(r.suite_name == "disclosure_audit" for r in gate.critical_failures):
        lines.append(
            "The disclosure audit found hidden cells that the published figures give back (pinned, or "
            "proven below the small-cell threshold): check that QNWU_COMPLEMENTARY_SUPPRESSION is not off, "
            "and see audit.disclosure_audit for each cell's interval (docs/privacy.md)."
        )
    if named and rebuilt:
        lines.append(
            "The marts were just rebuilt from raw (`qnwu rebuild`) and still disagree with it: "
            "look at raw and the dbt models; nothing was published."
        )
    elif named:
        lines.append(f"To repair: {REPAIR_HINT}.")
    return "\n".join(lines)
