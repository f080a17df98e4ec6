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
witness cannot stand for (one that counts rows, such as `mostly`) is validated on its rows.

Results are written to ``audit.validation_results`` so they can be queried like any other data,
and a critical failure raises :class:`QualityGateFailed` naming the failing expectations with sample rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from qnwu_warehouse.checks import changes, data_docs
from qnwu_warehouse.disclosure import audit as disclosure_audit
from qnwu_warehouse.disclosure import audit_worker
from qnwu_warehouse.settings import EXPECTATIONS_DIR, Settings
from qnwu_warehouse.warehouse import current_database, quoted_identifier, working_connection

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


# Every suite's frame is validated through one dataframe asset and its one batch definition. GX
# keeps data sources, assets and batch definitions in great_expectations.yml and rewrites the whole
# file on each one added: an asset and a batch definition per suite were 44 rewrites on a new data
# directory's first gate (0.5 s of a national year's, more than validating the suites). The suite's
# name, not the asset's, is what the results and the Data Docs are filed under.
DATA_SOURCE = "working_warehouse"
FRAME_ASSET = "suite_frame"
FRAME_BATCH = "whole_frame"


def _frame_batch_definition(context):
    """The batch definition every suite's frame is validated through, added once per data directory."""
    try:
        source = context.data_sources.get(DATA_SOURCE)
    except KeyError:
        source = context.data_sources.add_pandas(DATA_SOURCE)
    try:
        asset = source.get_asset(FRAME_ASSET)
    except LookupError:
        asset = source.add_dataframe_asset(name=FRAME_ASSET)
    try:
        return asset.get_batch_definition(FRAME_BATCH)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(FRAME_BATCH)


def _stored_validation(context, batch_definition, name: str, expectations: list[tuple[str, dict, str]]):
    """The suite's GX validation definition, and whether it was saved now: the one stored in the
    context is reused, and a new one stored only when its expectations (type, kwargs, severity) or
    the batch definition it validates changed since the last run. Every save rewrites the suite's
    or the definition's file, and re-saving all 22 suites on each run cost more than validating
    them (7 s of a 21 s gate on 40 units x 12 months)."""
    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    fingerprint = hashlib.sha256(
        json.dumps([FRAME_ASSET, FRAME_BATCH, expectations], sort_keys=True, default=str).encode()
    ).hexdigest()
    try:
        stored = context.validation_definitions.get(name)
        if (stored.suite.meta or {}).get("qnwu_fingerprint") == fingerprint:
            return stored, False
    except DataContextError:
        pass
    suite = gx.ExpectationSuite(name=name, meta={"qnwu_fingerprint": fingerprint})
    for expectation_type, kwargs, severity in expectations:
        suite.add_expectation(_expectation_class(expectation_type)(**kwargs, meta={"severity": severity}))
    suite = context.suites.add_or_update(suite)
    validation = gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
    return context.validation_definitions.add_or_update(validation), True


def _build_data_docs(context, run_id: str, saved_suites: list[str]) -> None:
    """Render this run's validation results and the suites saved by it, and the index of every
    run. Rendering all stored results again on each run made the Data Docs the part of the gate
    that grew with history (3.4 s after two runs on 40 units x 12 months, and more every run)."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    this_run = [key for key in context.validation_results_store.list_keys() if key.run_id.run_name == run_id]
    context.build_data_docs(
        resource_identifiers=[*this_run, *(ExpectationSuiteIdentifier(name=name) for name in saved_suites)]
    )


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
    rows: int
    witness: bool
    # the value set each reference-set check (in set) of a column gets on the witness frame
    value_sets: dict[str, list] = dataclasses.field(default_factory=dict)


def _suite_rows(
    suite_spec: dict, con, change_set: changes.ChangeSet, value_sets: dict[str, list], sweep: bool = True
) -> SuiteRows:
    """The frame GX validates for a suite.

    The set-based work is pushed down to DuckDB: GX validates a witness frame (_witness_frame),
    which holds, per column, only the values its expectations can fail on, and reaches the same
    verdict as on every row. On five national years the whole-history gate read fact tables of
    ten million rows into pandas (6.3 GB, docs/benchmarks.md); the witness frames of the same
    suites hold the distinct values of the checked columns.

    A suite's query, or the changed rows of a table, is read once into a temporary table that the
    witness queries then scan: each would otherwise scan the whole table again to find the changed
    rows (a new month on five years: the facts suite took 2.8 s, then 0.5 s). A table validated
    whole is scanned where it is, never copied."""
    sql = _suite_sql(suite_spec, change_set, sweep)
    if suite_spec.get("table") and sql == f"select * from {suite_spec['table']}":
        relation = f"({sql}) as suite_rows"
    else:
        con.execute(f"create or replace temp table gate_suite_rows as {sql}")
        relation = "gate_suite_rows"
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
    checks = _checks_by_column(suite_spec)
    if checks is not None:
        try:
            frame, reduced = _witness_frame(con, relation, checks, value_sets)
            return SuiteRows(frame, relation, rows, witness=True, value_sets=reduced)
        except _NoNeutralPadding:
            pass
    return SuiteRows(con.execute(f"select * from {relation}").df(), relation, rows, witness=False)


class _NoNeutralPadding(Exception):
    """A witness column could not be padded without changing a verdict."""


def _witness_frame(con, relation: str, checks: dict[str, set[str]], value_sets: dict[str, list] | None = None):
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


# Modules GX imports at its own import for expectations this project's suites do not use (KL
# divergence, Kolmogorov-Smirnov tests): scipy.stats was 0.5 s of GX's 1.8 s import on an idle
# machine. It is loaded on first use instead, so an expectation that needs it still gets it whole.
DEFERRED_GX_IMPORTS = ("scipy.stats",)


def _defer_import(name: str) -> None:
    """Put a lazily loaded `name` in sys.modules (importlib.util.LazyLoader): its code runs on the
    first access to one of its attributes, not at `import`. Nothing happens if it is loaded already."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)  # imports the parent package, which is cheap here
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def _import_gx_without_sqlalchemy() -> None:
    """Import Great Expectations as it is installed without its SQL extras. SQLAlchemy is one of
    GX's optional dependencies (its extras, such as `sql-server`); this virtualenv has it for
    Airflow, and GX then imports it and builds its SQL layer: 0.2 s of its 1.4 s import. The gate
    validates pandas frames (GX's SQL data source fails on DuckDB), so while GX is imported an
    `import sqlalchemy` fails, as GX's own compatibility module expects when it is not installed;
    a process that has SQLAlchemy loaded already (an Airflow task) keeps it as it is."""
    hidden = "sqlalchemy" not in sys.modules
    if hidden:
        sys.modules["sqlalchemy"] = None  # the import system's way to say "not importable"
    try:
        importlib.import_module("great_expectations")
    finally:
        if hidden and "sqlalchemy" in sys.modules and sys.modules["sqlalchemy"] is None:
            del sys.modules["sqlalchemy"]  # importable again for anything else in this process


def _import_great_expectations() -> threading.Thread:
    """Start importing Great Expectations in a thread: it takes 1.3 to 1.8 s after the CLI's own
    imports (most of it GX's expectation classes, its data source models and altair), and the
    gate's work before GX (the change set, reading the disclosure audit's sums) is DuckDB, which
    lets go of the GIL while it reads. The audit itself is solved in a worker process
    (audit_worker). Reading the suites' rows in that time too was slower, not faster: pandas and
    the witness frames' Python need the GIL that the import holds."""
    for name in DEFERRED_GX_IMPORTS:
        _defer_import(name)
    thread = threading.Thread(target=_import_gx_without_sqlalchemy, name="import-gx", daemon=True)
    thread.start()
    return thread


def run_gate(settings: Settings, run_id: str) -> GateResult:
    """Validate every suite against the working warehouse, record the results as data, and
    rebuild the Data Docs site."""
    started = time.perf_counter()
    gx_import = _import_great_expectations()
    results: list[ExpectationResult] = []
    with working_connection(settings) as con:
        change_set = _changes_since_live_version(con, settings)
        sweep, sweep_reason = _full_sweep(con, settings, change_set)
        change_set_seconds = time.perf_counter() - started
        # the audit needs no GX: its sums are read now, and solved in a process of their own while
        # GX is imported and validates here; its result is reported after the suites'
        audit = _start_disclosure_audit(con, settings, change_set)
        audit_seconds = time.perf_counter() - started - change_set_seconds
        gx_import.join()
        import great_expectations as gx  # noqa: PLC0415 (imported by the thread above; this only binds the name)

        context = _gx_context(settings)
        batch_definition = _frame_batch_definition(context)
        setup_seconds = time.perf_counter() - started - change_set_seconds - audit_seconds
        suites_started = time.perf_counter()
        sql_seconds, per_suite = 0.0, {}
        suites = load_suites()
        saved_suites: list[str] = []
        for suite_spec in suites:
            suite_started = time.perf_counter()
            specs = suite_spec["expectations"]
            resolved = [_resolve_kwargs(spec.get("kwargs", {}), con) for spec in specs]
            suite_rows = _suite_rows(suite_spec, con, change_set, _reference_sets(specs, resolved), sweep)
            sql_seconds += time.perf_counter() - suite_started
            name = suite_spec["name"]
            expectations = []
            for spec, kwargs in zip(specs, resolved, strict=True):
                if spec["type"] == IN_SET and kwargs.get("column") in suite_rows.value_sets:
                    kwargs = {**kwargs, "value_set": suite_rows.value_sets[kwargs["column"]]}
                expectations.append((spec["type"], kwargs, spec["severity"]))
            validation, saved = _stored_validation(context, batch_definition, name, expectations)
            if saved:
                saved_suites.append(name)
            # a witness frame is small: every unexpected value is listed, so that the count of
            # unexpected rows can be read back from the real rows (_unexpected_rows)
            validation_result = validation.run(
                batch_parameters={"dataframe": suite_rows.frame},
                result_format={
                    "result_format": "COMPLETE" if suite_rows.witness else "SUMMARY",
                    "partial_unexpected_count": 5,
                },
                run_id=gx.RunIdentifier(run_name=run_id),
            )
            # let this suite's frame go before the next one is read, not after
            suite_rows.frame = None
            reports: tuple[tuple[dict, ...], int] | None = None
            for item in validation_result.results:
                config = item.expectation_config
                detail = item.result or {}
                severity = (config.meta or {}).get("severity", "critical")
                if not item.success and severity == "critical" and reports is None:
                    reports = _offending_reports(con, suite_spec)
                column = config.kwargs.get("column")
                element_count, unexpected_count = detail.get("element_count"), detail.get("unexpected_count")
                if suite_rows.witness and column is not None:
                    # the witness frame stands for suite_rows.rows rows: count them, not it
                    element_count = suite_rows.rows
                    unexpected_count = (
                        0
                        if item.success
                        else _unexpected_rows(con, suite_rows.relation, config.type, column, detail.get("unexpected_list"))
                    )
                results.append(
                    ExpectationResult(
                        suite_name=name,
                        table_name=suite_spec.get("table", "(query)"),
                        expectation_type=config.type,
                        column_name=column,
                        severity=severity,
                        success=bool(item.success),
                        element_count=element_count,
                        unexpected_count=unexpected_count,
                        unexpected_sample=_offending_rows(
                            con, suite_rows.relation, column, detail.get("partial_unexpected_list")
                        ),
                        kwargs={k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id", "value_set")},
                        **(
                            {
                                "names_reports": bool(suite_spec.get("offending_reports")),
                                "reports": reports[0],
                                "reports_total": reports[1],
                            }
                            if reports is not None and not item.success
                            else {}
                        ),
                    )
                )
            per_suite[name] = round(time.perf_counter() - suite_started, 2)
        validated_seconds = time.perf_counter() - suites_started
        # The Data Docs are GX's results alone: they are rendered while the audit's worker may
        # still be solving on the other core (five years: 0.3 s of the wait for it), not after.
        docs_started = time.perf_counter()
        docs_written_from = time.time() - 1  # the pages of this build (file times are not exact)
        _build_data_docs(context, run_id, saved_suites)
        offline = data_docs.make_offline(data_docs_index(settings).parent, changed_since=docs_written_from)
        docs_seconds = time.perf_counter() - docs_started
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
    seconds = {
        # the change set and the reading of the audit's sums run while GX is imported; then the wait
        # for the import's rest, and GX's context. The audit's seconds are the gate's own: reading
        # its sums, and waiting for its solver after the suites and the Data Docs
        "change_set": round(change_set_seconds, 2),
        "disclosure_audit": round(audit_seconds, 2),
        "gx_import_wait_and_context": round(setup_seconds, 2),
        "duckdb_rows_and_witness_frames": round(sql_seconds, 2),
        "gx_validation": round(validated_seconds - sql_seconds, 2),
        "data_docs": round(docs_seconds, 2),
        "per_suite": per_suite,
    }
    return dataclasses.replace(gate, seconds=seconds, data_docs=dataclasses.asdict(offline))


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


def _offending_rows(con, relation: str, column: str | None, unexpected: list | None, limit: int = 5) -> list:
    """Whole rows, not bare values: 'is_outlier = true' says nothing, the unit and month do.
    Read from DuckDB, in table order, since the validated frame holds only the columns checked."""
    if not unexpected:
        return []
    all_columns = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]
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
    rows = con.execute(f"select * from {relation} where {condition} limit {limit}", [values] if values else []).df()
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
    return settings.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


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
