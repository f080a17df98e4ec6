"""Publishing: write-audit-publish for the readers' warehouse file.

Analysts and BI tools open ``published/warehouse.duckdb`` read-only; the pipeline never writes
to that path. A publish writes the checked marts into a new file under ``published/versions/``
(a copy of the live version with the changed rows replaced, or every mart copied afresh), makes it
durable, and then swaps it in with one atomic rename. A reader
that already had the old file open keeps reading the old version (its inode lives on); a new
reader gets the new one; nobody ever sees a half-written file, and a crash before the rename
leaves the old version in place. The last N versions are kept so any of them can be rolled back
to.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from qnwu_warehouse import changes
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.warehouse import attached_tables, current_database, writer_lock

PUBLISHED_SCHEMA = "marts"
# The published file is written in the storage format of DuckDB 1.4, which every later DuckDB
# reads: BI tools' DuckDB drivers (JDBC, Metabase, DBeaver) and the DuckDB command line lag the
# Python package by a major version, and a reader must never be locked out by a format bump.
# The working warehouse stays in the engine's own format.
PUBLISHED_STORAGE_VERSION = "v1.4.0"


class NothingToPublish(Exception):
    """The working warehouse has no marts yet."""


@dataclass(frozen=True)
class Publication:
    path: Path
    version_file: Path
    tables: dict[str, int]


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _swap_in(settings: Settings, version_file: Path) -> None:
    """Point published/warehouse.duckdb at a version file in one atomic rename."""
    staging_link = settings.published_dir / ".warehouse.duckdb.swap"
    staging_link.unlink(missing_ok=True)
    os.link(version_file, staging_link)
    os.replace(staging_link, settings.published_warehouse)
    _fsync(settings.published_dir)


def publish(settings: Settings, run_id: str, gate_summary: dict[str, object]) -> Publication:
    """Write a new version file and swap it in; call only after the gate passed.

    The new version starts as a copy of the live one, in which the rows of changed reports and
    period buckets are replaced (changes.py); a new month on five years of history then copies one
    month, not sixty. Without a live version, or when the rules changed since it was made, every
    mart is copied from scratch. Either way each table must end with the working mart's row count."""
    settings.published_versions_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version_file = settings.published_versions_dir / f"{stamp}_{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}.duckdb"
    partial = version_file.with_suffix(".partial")
    with writer_lock(settings):
        _remove_partials(settings)  # what a killed publish left, before this one needs the disk space
        live = current_version(settings)
        if live is not None:
            shutil.copyfile(live, partial)  # a plain file copy: far faster than copying rows
        con = _open_version(partial, settings)
        try:
            change_set = changes.changes_since(con, settings, "working", current_database(con) if live else None)
            if change_set.whole and live is not None:
                con.close()
                partial.unlink()
                con = _open_version(partial, settings)
            tables = attached_tables(con, "working", PUBLISHED_SCHEMA)
            if not tables:
                raise NothingToPublish(f"no tables in {PUBLISHED_SCHEMA} of {settings.working_warehouse}: "
                                       "run the transformation first.")
            counts = _write_marts(con, tables, change_set, settings.small_cell_threshold)
            suppressed = sum(con.execute(f"select count(*) from {PUBLISHED_SCHEMA}.{table} where value_is_suppressed")
                             .fetchone()[0] for table in tables if _has_column(con, table, "value_is_suppressed"))
            con.execute("create schema if not exists meta")
            # what this version contains and why it was allowed out: its submissions and its checks
            _write_published_submissions(con, change_set)
            submissions = con.execute("select count(*) from meta.published_submissions").fetchone()[0]
            con.execute("drop table if exists meta.validation_results")
            if con.execute("select count(*) from duckdb_tables() where database_name = 'working' "
                           "and schema_name = 'audit'").fetchone()[0]:
                con.execute("create table meta.validation_results as select * from working.audit.validation_results "
                            "where run_id = ?", [run_id])
            con.execute("""create or replace table meta.publication as select
                ? as run_id, ?::timestamptz as published_at, ? as current_submissions,
                ? as table_row_counts, ? as quality_gate, ? as small_cell_threshold, ? as cells_suppressed,
                ? as copied, ? as rules_fingerprint""",
                        [run_id, datetime.now(UTC), submissions, json.dumps(counts), json.dumps(gate_summary),
                         settings.small_cell_threshold, suppressed, json.dumps(change_set.as_dict()),
                         changes.rules_fingerprint(settings)])
            con.execute("detach working")
            con.execute("checkpoint")
        finally:
            con.close()
        _fsync(partial)
        os.replace(partial, version_file)
        _swap_in(settings, version_file)
        _prune(settings)
    return Publication(settings.published_warehouse, version_file, counts)


def _write_published_submissions(con, change_set: changes.ChangeSet) -> None:
    """meta.published_submissions: the current version of every report in this version, which the
    next publish compares with the working warehouse to find what changed."""
    columns = "submission_id, file_hash, submission_version, unit_code, period, submitted_at, loaded_at"
    source = "working.intermediate.int_submissions_current_placed"
    changed = change_set.condition("report")
    if changed:
        con.execute(f"delete from meta.published_submissions where {changed}")
        con.execute(f"insert into meta.published_submissions select {columns} from {source} where {changed}")
    else:
        con.execute(f"create or replace table meta.published_submissions as select {columns} from {source}")
    published, current = (con.execute(f"select count(*) from {table}").fetchone()[0]
                          for table in ("meta.published_submissions", source))
    if published != current:
        raise PublishMismatch(f"meta.published_submissions would list {published:,} reports, the working warehouse "
                              f"holds {current:,}; nothing was published.")


class PublishMismatch(Exception):
    """A published table did not end with the working mart's rows; nothing was swapped in."""


def _open_version(path: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), config={"storage_compatibility_version": PUBLISHED_STORAGE_VERSION})
    con.execute(f"attach '{settings.working_warehouse}' as working (read_only)")
    return con


def _has_column(con, table: str, column: str, database: str | None = None) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_columns() where database_name = coalesce(?, current_database()) "
        "and schema_name = ? and table_name = ? and column_name = ?",
        [database, PUBLISHED_SCHEMA, table, column]).fetchone()[0])


def _write_marts(con, tables: list[str], change_set: changes.ChangeSet, threshold: int) -> dict[str, int]:
    """Each working mart into the version: whole, or (for a large mart) its changed rows replaced.
    Returns the row counts, which must equal the working marts'."""
    con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
    for stale in set(attached_tables(con, current_database(con), PUBLISHED_SCHEMA)) - set(tables):
        con.execute(f"drop table {PUBLISHED_SCHEMA}.{stale}")  # a mart that no longer exists
    sensitive = [row[0] for row in con.execute(
        f"select indicator_code from working.{PUBLISHED_SCHEMA}.dim_indicators where is_sensitive").fetchall()]
    counts = {}
    for table in tables:
        rows = published_rows(con, table, sensitive, threshold)
        changed = change_set.row_filter(table)
        if changed:
            con.execute(f"delete from {PUBLISHED_SCHEMA}.{table} where {changed}")
            con.execute(f"insert into {PUBLISHED_SCHEMA}.{table} {rows} where {changed}")
        else:
            con.execute(f"create or replace table {PUBLISHED_SCHEMA}.{table} as {rows}")
        counts[table] = con.execute(f"select count(*) from {PUBLISHED_SCHEMA}.{table}").fetchone()[0]
        expected = con.execute(f"select count(*) from working.{PUBLISHED_SCHEMA}.{table}").fetchone()[0]
        if counts[table] != expected:
            raise PublishMismatch(f"{PUBLISHED_SCHEMA}.{table}: the new version would hold {counts[table]:,} rows, "
                                  f"the working warehouse {expected:,}; nothing was published. If the marts were "
                                  "changed outside the pipeline, run `qnwu rebuild`.")
    return counts


def published_rows(con, table: str, sensitive: list[str], threshold: int) -> str:
    """The SELECT that gives a working mart's rows as readers get them.

    Small-cell protection for sensitive counts (victims of violence or trafficking): a sensitive
    indicator's value from 1 to threshold-1 for a unit or a district is blanked and flagged
    (value_is_suppressed), so nobody can single a victim out of a commune's monthly figure. Zeros
    and province totals stay: they identify no one and the province reports them. The working
    warehouse keeps the exact figures. See docs/privacy.md.
    """
    source = f"working.{PUBLISHED_SCHEMA}.{table}"
    has = {column: _has_column(con, table, column, "working") for column in ("indicator_code", "value", "scope_level")}
    if threshold <= 1 or not sensitive or not (has["indicator_code"] and has["value"]):
        return f"select * from {source}"
    codes = ", ".join("'" + code.replace("'", "''") + "'" for code in sensitive)
    small = (f"indicator_code in ({codes}) and value > 0 and value < {int(threshold)}"
             + (" and scope_level <> 'province'" if has["scope_level"] else ""))
    return (f"select * replace (case when {small} then null else value end as value), "
            f"coalesce({small}, false) as value_is_suppressed from {source}")


def versions(settings: Settings) -> list[Path]:
    """Published versions, oldest first."""
    return sorted(settings.published_versions_dir.glob("*.duckdb"))


def current_version(settings: Settings) -> Path | None:
    if not settings.published_warehouse.exists():
        return None
    live = settings.published_warehouse.stat().st_ino
    return next((v for v in versions(settings) if v.stat().st_ino == live), None)


def _prune(settings: Settings) -> None:
    for stale in versions(settings)[: -settings.published_versions_kept]:
        stale.unlink()
        # its HTML report (qnwu_warehouse/report.py) goes with it
        (settings.published_dir / "reports" / f"{stale.stem}.html").unlink(missing_ok=True)
    _remove_partials(settings)


# X.partial and DuckDB's files beside it (X.partial.wal, X.partial.tmp, ...); never X.partial.duckdb(.wal)
_PARTIAL_LEFTOVER = re.compile(r"\.partial(\.(?!duckdb\b)[a-z]+)*$")


def _remove_partials(settings: Settings) -> None:
    """Remove what a publish that died before its rename left in the versions folder: its partial
    file and what DuckDB keeps beside it (the write-ahead log X.partial.wal, the spill folder
    X.partial.tmp). Call under the writer lock: no other publish is writing one then."""
    for leftover in settings.published_versions_dir.glob("*.partial*"):
        if not _PARTIAL_LEFTOVER.search(leftover.name):
            continue  # a published version (or its file) whose run id happens to contain ".partial"
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def rollback(settings: Settings, version_name: str) -> Path:
    """Make an earlier published version the live one again."""
    candidates = [v for v in versions(settings) if v.name == version_name or v.stem == version_name]
    if not candidates:
        known = ", ".join(v.name for v in versions(settings)) or "none"
        raise FileNotFoundError(f"no published version {version_name!r}; kept versions: {known}")
    with writer_lock(settings):
        _swap_in(settings, candidates[0])
    return candidates[0]
