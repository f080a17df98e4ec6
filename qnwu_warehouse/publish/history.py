"""What was published, and what changed since: the history every version file carries.

Each published version file holds, besides its marts, the schema ``history``:

- ``history.versions``: one row per version ever published (sequence number, file name, run id,
  time of publication, why it was made: new or corrected reports, or a change of rules);
- ``history.figure_changes``: the reported figures (the roll-ups by scope, period, indicator and
  category; the clubs at period end; the progress against the targets) in long form, **only when
  they changed**: a new figure, a new value, a cell newly hidden or shown, or a figure gone
  (``is_removed``). A version adds the figures it changed, so the history grows by those only;
- ``history.version_reports``: the reports whose load made each version (unit, period, version
  and file, before and after): the causes of its changes (the first version's are counted in
  ``versions.reports_changed``, not listed: all are new, and none can be a later change's cause);
- ``history.releases``: the named releases (`qnwu release create`), as registered when the
  version was published.

A new version starts as a copy of the live file (publish/versioning.py), so it inherits the history
and appends to it: the history outlives the pruning of old version files. Only published values
are kept: a hidden cell is kept as hidden (value null), so nothing here says more than the
versions did; the disclosure audit (disclosure/audit.py) checks that no hidden cell can be had
back by comparing versions.

The as-of queries are table macros in the file (and SQL functions in PostgreSQL, written from the
same text in serve/postgres_serving.py):

- ``history.figures_as_of_version(v)``: every figure as version ``v`` published it;
- ``history.figures_as_published_on(ts)``: as the version live at time ``ts`` published it;
- ``history.restatements_between(a, b)``: every figure whose published value or suppression
  differs between versions ``a`` and ``b``, with old value, new value, difference and causes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from qnwu_warehouse.warehouse import attached_tables, current_database, quoted_identifier

HISTORY_SCHEMA = "history"

# The figures kept, in long form. A figure is (figure_table, figure_id, measure); its scope and
# period say which reports can change it (the causes of a restatement).
_FIGURE_COLUMNS = (
    "figure_table, figure_id, measure, period_grain, period_label, scope_level, scope_code, "
    "subject_code, category, value, value_is_suppressed"
)
_PROVINCE = "(select unit_code from {marts}.dim_units where unit_level = 'province' and valid_to is null limit 1)"
_FIGURE_SOURCES = {
    "agg_indicators_by_period": [
        "select 'agg_indicators_by_period', indicator_total_id, 'value', period_grain, period_label, scope_level, "
        "scope_code, indicator_code, category, value::double, value_is_suppressed from {marts}.agg_indicators_by_period"
    ],
    "agg_clubs_by_period": [
        f"select 'agg_clubs_by_period', club_total_id, '{measure}', period_grain, period_label, scope_level, "
        f"scope_code, club_category_level, club_category_code, {measure}::double, false from {{marts}}.agg_clubs_by_period"
        for measure in ("clubs_open_at_period_end", "members_at_period_end", "clubs_new_in_period")
    ],
    "agg_target_progress": [
        f"select 'agg_target_progress', target_progress_id, '{measure}', 'year', report_year_label, 'province', "
        f"{_PROVINCE}, target_code, 'all', {measure}::double, value_is_suppressed from {{marts}}.agg_target_progress"
        for measure in ("numerator_value", "denominator_value", "achieved_value")
    ],
}
FIGURE_TABLES = tuple(_FIGURE_SOURCES)

_DDL = f"""
create schema if not exists {HISTORY_SCHEMA};
create table if not exists {HISTORY_SCHEMA}.versions (
    version_seq integer primary key, version_name varchar, run_id varchar, published_at timestamptz,
    rebuilt_whole boolean, reason varchar, reports_changed integer, figures_changed integer
);
create table if not exists {HISTORY_SCHEMA}.figure_changes (
    version_seq integer, figure_table varchar, figure_id varchar, measure varchar, period_grain varchar,
    period_label varchar, scope_level varchar, scope_code varchar, subject_code varchar, category varchar,
    value double, value_is_suppressed boolean, is_removed boolean
);
create table if not exists {HISTORY_SCHEMA}.version_reports (
    version_seq integer, submission_id varchar, unit_code varchar, district_code varchar, period varchar,
    quarter_label varchar, report_year varchar, change varchar, version_before bigint, version_after bigint,
    file_hash_before varchar, file_hash_after varchar
);
create table if not exists {HISTORY_SCHEMA}.releases (
    release_name varchar, version_name varchar, created_at timestamptz, note varchar
);
"""

# The as-of logic, once, in SQL that DuckDB (table macros) and PostgreSQL (SQL functions) both
# run: the last change of each figure at or before a version, unless that change removed it.
FIGURES_AS_OF_VERSION = """
select version_seq as changed_in_version, figure_table, figure_id, measure, period_grain, period_label,
    scope_level, scope_code, subject_code, category, value, value_is_suppressed
from (
    select distinct on (figure_table, figure_id, measure) *
    from history.figure_changes
    where version_seq <= as_of_version
    order by figure_table, figure_id, measure, version_seq desc
) as latest
where not is_removed
"""

VERSION_LIVE_AT = "(select max(version_seq) from history.versions where published_at <= as_of_time)"

# Every figure whose published value or suppression differs between two versions, with its causes:
# the reports loaded by the versions in between that fall in the figure's scope and period, and
# the reason of any version in between rebuilt whole (a change of rules or reference data).
RESTATEMENTS_BETWEEN = """
with before_figures as (
    select * from history.figures_as_of_version(from_version)
),
after_figures as (
    select * from history.figures_as_of_version(to_version)
),
changed as (
    select
        coalesce(a.figure_table, b.figure_table) as figure_table,
        coalesce(a.figure_id, b.figure_id) as figure_id,
        coalesce(a.measure, b.measure) as measure,
        coalesce(a.period_grain, b.period_grain) as period_grain,
        coalesce(a.period_label, b.period_label) as period_label,
        coalesce(a.scope_level, b.scope_level) as scope_level,
        coalesce(a.scope_code, b.scope_code) as scope_code,
        coalesce(a.subject_code, b.subject_code) as subject_code,
        coalesce(a.category, b.category) as category,
        b.value as old_value,
        a.value as new_value,
        a.value - b.value as difference,
        coalesce(b.value_is_suppressed, false) as old_is_suppressed,
        coalesce(a.value_is_suppressed, false) as new_is_suppressed
    from after_figures as a
    full outer join before_figures as b
        on a.figure_table = b.figure_table and a.figure_id = b.figure_id and a.measure = b.measure
    where a.figure_id is null or b.figure_id is null
        or a.value is distinct from b.value or a.value_is_suppressed is distinct from b.value_is_suppressed
),
reports as (
    select * from history.version_reports where version_seq > from_version and version_seq <= to_version
),
rebuilds as (
    select string_agg('version ' || version_seq || ': ' || reason, '; ' order by version_seq) as reasons
    from history.versions
    where version_seq > from_version and version_seq <= to_version and rebuilt_whole
),
causes as (
    select
        changed.figure_table,
        changed.figure_id,
        changed.measure,
        count(*) as reports_behind,
        string_agg(
            reports.unit_code || ' ' || reports.period || ' ' || reports.change
            || ' v' || coalesce(cast(reports.version_after as varchar), '-')
            || ' file ' || left(coalesce(reports.file_hash_after, reports.file_hash_before), 12)
            || ' (version ' || reports.version_seq || ')',
            '; ' order by reports.unit_code, reports.period, reports.version_seq
        ) as reports_cause
    from changed
    inner join reports
        on (changed.scope_level = 'province'
            or (changed.scope_level = 'district' and reports.district_code = changed.scope_code)
            or (changed.scope_level = 'unit' and reports.unit_code = changed.scope_code))
        and ((changed.period_grain = 'month' and reports.period = changed.period_label)
            or (changed.period_grain = 'quarter' and reports.quarter_label = changed.period_label)
            or (changed.period_grain = 'year' and reports.report_year = changed.period_label))
    group by changed.figure_table, changed.figure_id, changed.measure
)
select
    changed.*,
    coalesce(causes.reports_behind, 0) as reports_behind,
    causes.reports_cause,
    (select reasons from rebuilds) as rules_cause
from changed
left join causes
    on changed.figure_table = causes.figure_table and changed.figure_id = causes.figure_id
    and changed.measure = causes.measure
"""

_MACROS = f"""
create or replace macro {HISTORY_SCHEMA}.figures_as_of_version(as_of_version) as table {FIGURES_AS_OF_VERSION};
create or replace macro {HISTORY_SCHEMA}.figures_as_published_on(as_of_time) as table
    select * from {HISTORY_SCHEMA}.figures_as_of_version({VERSION_LIVE_AT});
create or replace macro {HISTORY_SCHEMA}.restatements_between(from_version, to_version) as table {RESTATEMENTS_BETWEEN};
"""


class HistoryError(Exception):
    """An as-of question the history cannot answer; the message says what it can."""


def resolve_version(con, *, version: int | None = None, as_of: str | None = None, release: str | None = None) -> int:
    """The version number asked for: by number, as live at a time, or as a release's version name
    (default: the newest in the history of the file on `con`)."""
    rows = con.execute(f"select version_seq, version_name, published_at from {HISTORY_SCHEMA}.versions").fetchall()
    if not rows:
        raise HistoryError("the published version carries no history yet: publish once more")
    if version is not None:
        if version not in {seq for seq, _name, _at in rows}:
            raise HistoryError(
                f"no version {version}; versions 1 to {max(seq for seq, _n, _a in rows)} (`qnwu history versions`)"
            )
        return version
    if release is not None:
        matches = [seq for seq, name, _at in rows if name == release]
        if not matches:
            raise HistoryError(f"version {release} of the release is not in the live version's history")
        return matches[0]
    if as_of is not None:
        try:
            (seq,) = con.execute(
                f"select max(version_seq) from {HISTORY_SCHEMA}.versions where published_at <= ?::timestamptz", [as_of]
            ).fetchone()
        except Exception as error:  # DuckDB's conversion error names the text
            raise HistoryError(
                f"--as-of {as_of!r} is not a date or time (ISO 8601, e.g. 2024-01-10 or 2024-01-10T08:00)"
            ) from error
        if seq is None:
            raise HistoryError(f"nothing was published on or before {as_of}")
        return seq
    return max(seq for seq, _name, _at in rows)


def figures_sql(version: int, subject: str | None, period: str | None, scope: str | None) -> tuple[str, list]:
    """The as-of query for `qnwu history figures`, with its parameters."""
    return (
        f"""select period_grain, period_label, scope_level, scope_code, figure_table, subject_code, category, measure,
            value, value_is_suppressed, changed_in_version
        from {HISTORY_SCHEMA}.figures_as_of_version(?)
        where (?::varchar is null or subject_code = ?) and (?::varchar is null or period_label = ?)
            and (?::varchar is null or scope_code = ?)
        order by figure_table, subject_code, period_label, scope_level desc, scope_code, category, measure""",
        [version, subject, subject, period, period, scope, scope],
    )


def restatements_sql(from_version: int, to_version: int, subject: str | None) -> tuple[str, list]:
    """The restatements query for `qnwu history restatements`, with its parameters."""
    return (
        f"""select period_label, scope_level, scope_code, figure_table, subject_code, category, measure,
            old_value, new_value, difference, old_is_suppressed, new_is_suppressed, reports_behind,
            coalesce(reports_cause, rules_cause) as cause
        from {HISTORY_SCHEMA}.restatements_between(?, ?)
        where ?::varchar is null or subject_code = ?
        order by figure_table, subject_code, period_label, scope_level desc, scope_code, category, measure""",
        [from_version, to_version, subject, subject],
    )


_FIGURE_TYPES = (
    "figure_table varchar, figure_id varchar, measure varchar, period_grain varchar, period_label varchar, "
    "scope_level varchar, scope_code varchar, subject_code varchar, category varchar"
)


def postgres_functions(schema: str) -> list[str]:
    """The as-of queries as SQL functions of PostgreSQL, created in `schema` (the staging copy of
    history, renamed to history when it goes live): the same text as the DuckDB macros. Create
    them with check_function_bodies off, since their bodies name history.*, which is live only
    after the swap."""
    as_of_columns = f"changed_in_version integer, {_FIGURE_TYPES}, value double precision, value_is_suppressed boolean"
    restatement_columns = (
        f"{_FIGURE_TYPES}, old_value double precision, new_value double precision, difference double precision, "
        "old_is_suppressed boolean, new_is_suppressed boolean, reports_behind bigint, reports_cause text, rules_cause text"
    )
    return [
        f"create function {schema}.figures_as_of_version(as_of_version integer) returns table ({as_of_columns}) "
        f"language sql stable as $body${FIGURES_AS_OF_VERSION}$body$",
        f"create function {schema}.figures_as_published_on(as_of_time timestamptz) returns table ({as_of_columns}) "
        f"language sql stable as $body$select * from history.figures_as_of_version({VERSION_LIVE_AT})$body$",
        f"create function {schema}.restatements_between(from_version integer, to_version integer) "
        f"returns table ({restatement_columns}) language sql stable as $body${RESTATEMENTS_BETWEEN}$body$",
    ]


@dataclass(frozen=True)
class HistoryEntry:
    version_seq: int
    figures_changed: int
    reports_changed: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "version_seq": self.version_seq,
            "figures_changed": self.figures_changed,
            "reports_changed": self.reports_changed,
            "seconds": round(self.seconds, 3),
        }


def figures_query(marts: str, row_filters: dict[str, str] | None = None) -> str:
    """The published figures of catalog.schema `marts` in long form; `row_filters` ({figure table:
    WHERE condition}) keeps only some rows of a table ('' = all of it)."""
    parts = []
    for table, selects in _FIGURE_SOURCES.items():
        condition = (row_filters or {}).get(table, "")
        for select in selects:
            parts.append(select.format(marts=marts) + (f" where {condition}" if condition else ""))
    return " union all ".join(parts)


# What ensure_schema() writes, named by its text: the comment on history.versions in a file whose
# tables and macros are this text's (a file written by a different version of this module has another).
_SCHEMA_COMMENT = "history schema " + hashlib.sha256((_DDL + _MACROS).encode()).hexdigest()[:16]


def ensure_schema(con) -> None:
    """The history tables and the as-of macros, in the version file on `con`. A new version starts as
    a copy of the live one, which has them already: they are written only when the file's differ
    from this module's text (the comment on history.versions says whose they are). They were
    written twice per publish: 0.02 s each on a province month, and 0.68 s for the first on five
    years, the first write to the copied file (docs/benchmarks.md, stop 41)."""
    written = con.execute(
        "select comment from duckdb_tables() where database_name = current_database() and schema_name = ? "
        "and table_name = 'versions'",
        [HISTORY_SCHEMA],
    ).fetchone()
    if written is not None and written[0] == _SCHEMA_COMMENT:
        return
    for statement in (_DDL + _MACROS).split(";\n"):
        if statement.strip():
            con.execute(statement)
    con.execute(f"comment on table {HISTORY_SCHEMA}.versions is '{_SCHEMA_COMMENT}'")


def has_history(con, catalog: str) -> bool:
    """Whether the version attached as `catalog` carries a history with at least one version."""
    if "versions" not in attached_tables(con, catalog, HISTORY_SCHEMA):
        return False
    return _newest_seq(con, catalog) > 0


def copy_from(con, source_catalog: str) -> None:
    """Carry the history of the version attached as `source_catalog` into this one (a version
    rebuilt whole starts from an empty file, not a copy of the live one)."""
    ensure_schema(con)
    for table in attached_tables(con, source_catalog, HISTORY_SCHEMA):
        con.execute(f"delete from {HISTORY_SCHEMA}.{table}")
        con.execute(
            f"insert into {HISTORY_SCHEMA}.{table} by name "
            f"select * from {quoted_identifier(source_catalog)}.{HISTORY_SCHEMA}.{table}"
        )


def rollback_log(published_dir: Path) -> Path:
    """published/rollbacks.jsonl: one line per rollback (time, version rolled back to), written by
    `qnwu rollback` and read by the next publish, which records it in the history."""
    return published_dir / "rollbacks.jsonl"


def record_rollback(published_dir: Path, version_name: str) -> None:
    with rollback_log(published_dir).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"at": datetime.now(UTC).isoformat(), "version": version_name}) + "\n")
        log.flush()
        os.fsync(log.fileno())


def _last_rollback_to(published_dir: Path, version_name: str) -> datetime | None:
    """When the live version was last rolled back to, from the rollback log (None: never)."""
    log = rollback_log(published_dir)
    found = None
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash
            if entry.get("version") == version_name:
                found = datetime.fromisoformat(entry["at"])
    return found


def _newest_seq(con, catalog: str) -> int:
    (seq,) = con.execute(
        f"select coalesce(max(version_seq), 0) from {quoted_identifier(catalog)}.{HISTORY_SCHEMA}.versions"
    ).fetchone()
    return seq


def adopt_withdrawn_versions(con, candidates: list[Path], live_name: str, published_dir: Path) -> int:
    """After a rollback the live file's history ends at the version rolled back to, and the versions
    published after it (withdrawn by the rollback) live on only in their own files. Carry them
    into this history, then record the rollback itself as a version that restores the live
    version's figures, so that every version ever published stays in the history and the as-of
    queries answer for the time in between. `candidates`: the kept and released version files.
    Call before snapshot_before; returns how many versions were adopted."""
    ensure_schema(con)
    rolled_back_at = _last_rollback_to(published_dir, live_name)
    (recorded_until,) = con.execute(f"select max(published_at) from {HISTORY_SCHEMA}.versions").fetchone()
    if rolled_back_at is None or (recorded_until is not None and rolled_back_at <= recorded_until):
        return 0  # no rollback to the live version since its history was written: nothing withdrawn
    local = _newest_seq(con, current_database(con))
    newest, newest_seq = None, local
    for number, path in enumerate(candidates):
        alias = f"history_candidate_{number}"
        con.execute(f"attach '{path}' as {alias} (read_only)")
        try:
            if has_history(con, alias) and _newest_seq(con, alias) > newest_seq:
                newest, newest_seq = path, _newest_seq(con, alias)
        finally:
            con.execute(f"detach {alias}")
    if newest is None:
        return 0
    con.execute(f"attach '{newest}' as withdrawn (read_only)")
    try:
        for table in ("versions", "version_reports", "figure_changes"):
            con.execute(
                f"insert into {HISTORY_SCHEMA}.{table} by name select * from withdrawn.{HISTORY_SCHEMA}.{table} "
                "where version_seq > ?",
                [local],
            )
    finally:
        con.execute("detach withdrawn")
    seq = newest_seq + 1
    con.execute(
        f"create or replace temp table figures_live as select * from ({figures_query('marts')}) as f({_FIGURE_COLUMNS})"
    )
    con.execute(
        f"create or replace temp table withdrawn_state as select * from {HISTORY_SCHEMA}.figures_as_of_version(?)",
        [newest_seq],
    )
    restored = _append_differences(con, seq, "withdrawn_state", "figures_live")
    con.execute("drop table withdrawn_state")
    con.execute(
        f"insert into {HISTORY_SCHEMA}.versions values (?, ?, ?, ?::timestamptz, true, ?, 0, ?)",
        [seq, live_name, "rollback", rolled_back_at, f"rolled back to {live_name}", restored],
    )
    con.execute("drop table figures_live")
    return newest_seq - local


def _append_differences(con, seq: int, before: str, after: str) -> int:
    """Append to figure_changes, as version `seq`, every figure of relation `after` that is new or
    differs from `before` (value or suppression), and every figure of `before` gone from `after`.
    Returns how many rows were appended."""
    keys = "figure_table, figure_id, measure"
    columns = "period_grain, period_label, scope_level, scope_code, subject_code, category"
    # an INSERT returns how many rows it wrote: no count over figure_changes afterwards
    (appended,) = con.execute(
        f"""
        insert into {HISTORY_SCHEMA}.figure_changes
        select ?, a.figure_table, a.figure_id, a.measure, {", ".join("a." + c for c in columns.split(", "))},
            a.value, a.value_is_suppressed, false
        from {after} as a left join {before} as b using ({keys})
        where b.figure_id is null or a.value is distinct from b.value
            or a.value_is_suppressed is distinct from b.value_is_suppressed
        union all
        select ?, b.figure_table, b.figure_id, b.measure, {", ".join("b." + c for c in columns.split(", "))},
            null, null, true
        from {before} as b anti join {after} as a using ({keys})""",
        [seq, seq],
    ).fetchone()
    return appended


def snapshot_before(con, row_filters: dict[str, str] | None, source: str) -> None:
    """Keep the figures about to be replaced (temp table figures_before): the live version's rows
    in the changed buckets, read from `source` (catalog.schema of the live marts). Call before the
    marts are written; `row_filters` None means every figure."""
    if source:
        con.execute(
            f"create or replace temp table figures_before as select * from ({figures_query(source, row_filters)}) "
            f"as f({_FIGURE_COLUMNS})"
        )
    else:
        con.execute(f"""create or replace temp table figures_before as select * from (values (
            null::varchar, null::varchar, null::varchar, null::varchar, null::varchar, null::varchar, null::varchar,
            null::varchar, null::varchar, null::double, null::boolean)) as f({_FIGURE_COLUMNS}) where false""")


def snapshot_reports_before(con, condition: str, source: str | None) -> None:
    """Keep the live version's current reports (temp table reports_before) in the changed set."""
    if source is None:
        con.execute(
            "create or replace temp table reports_before as select submission_id, file_hash, submission_version, "
            "unit_code, period from (select null::varchar as submission_id, null::varchar as file_hash, "
            "null::bigint as submission_version, null::varchar as unit_code, null::varchar as period) where false"
        )
        return
    where = f"where {condition}" if condition else ""
    con.execute(
        "create or replace temp table reports_before as select submission_id, file_hash, submission_version, "
        f"unit_code, period from {source}.published_submissions {where}"
    )


def append(
    con,
    *,
    version_name: str,
    run_id: str,
    published_at,
    rebuilt_whole: bool,
    reason: str,
    row_filters: dict[str, str] | None,
    report_condition: str,
    releases: list[dict[str, str]],
    seconds_before: float = 0.0,
) -> HistoryEntry:
    """Append this version to the history: the figures that differ from figures_before, and the
    reports that differ from reports_before. Call after the marts and meta.published_submissions
    of the new version are written. `seconds_before`: what the snapshots cost, for the entry's time."""
    started = time.perf_counter()
    ensure_schema(con)
    (seq,) = con.execute(f"select coalesce(max(version_seq), 0) + 1 from {HISTORY_SCHEMA}.versions").fetchone()
    con.execute(
        f"create or replace temp table figures_after as select * from ({figures_query('marts', row_filters)}) "
        f"as f({_FIGURE_COLUMNS})"
    )
    figures_changed = _append_differences(con, seq, "figures_before", "figures_after")
    where = f"where {report_condition}" if report_condition else ""
    starts_history = seq == 1
    if starts_history:
        # The first version's reports are all new and can be no restatement's cause (causes are the
        # reports of the versions after the one compared with): counted, not listed. Its own file's
        # meta.published_submissions lists them; listing 120,000 here cost 0.3 s of a national year.
        where = "where false"
    (reports_changed,) = con.execute(
        f"""
        insert into {HISTORY_SCHEMA}.version_reports
        with after_reports as (
            select submission_id, file_hash, submission_version, unit_code, period
            from meta.published_submissions {where}
        ),
        changed as (
            select coalesce(a.submission_id, b.submission_id) as submission_id,
                coalesce(a.unit_code, b.unit_code) as unit_code, coalesce(a.period, b.period) as period,
                case when b.submission_id is null then 'new' when a.submission_id is null then 'withdrawn'
                    else 'corrected' end as change,
                b.submission_version as version_before, a.submission_version as version_after,
                b.file_hash as file_hash_before, a.file_hash as file_hash_after
            from after_reports as a full outer join reports_before as b using (submission_id)
            where a.file_hash is distinct from b.file_hash
        )
        -- the unit's district when the month began: a join, one row per report (a correlated
        -- subquery took twice as long on a new month of five years: 0.011-0.023 s against 0.007-0.013)
        select ?, changed.submission_id, changed.unit_code, units.district_code,
            changed.period, periods.quarter_label, left(changed.period, 4), changed.change,
            changed.version_before, changed.version_after, changed.file_hash_before, changed.file_hash_after
        from changed left join marts.dim_periods as periods using (period)
        left join marts.dim_units as units
            on units.unit_code = changed.unit_code and units.valid_from <= periods.period_start_date
            and (units.valid_to is null or units.valid_to > periods.period_start_date)
        qualify row_number() over (partition by changed.submission_id order by units.valid_from desc) = 1""",
        [seq],
    ).fetchone()
    if starts_history:
        (reports_changed,) = con.execute("select count(*) from meta.published_submissions").fetchone()
    con.execute(
        f"insert into {HISTORY_SCHEMA}.versions values (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, version_name, run_id, published_at, rebuilt_whole, reason, reports_changed, figures_changed],
    )
    con.execute(f"delete from {HISTORY_SCHEMA}.releases")
    if releases:  # in one statement, not one per release
        con.execute(
            f"insert into {HISTORY_SCHEMA}.releases select unnest(?::varchar[]), unnest(?::varchar[]), "
            "unnest(?::varchar[])::timestamptz, unnest(?::varchar[])",
            [
                [release["name"] for release in releases],
                [release["version"] for release in releases],
                [str(release["created_at"]) for release in releases],
                [release.get("note", "") for release in releases],
            ],
        )
    con.execute("drop table if exists figures_before")
    con.execute("drop table if exists figures_after")
    con.execute("drop table if exists reports_before")
    return HistoryEntry(seq, figures_changed, reports_changed, seconds_before + time.perf_counter() - started)
