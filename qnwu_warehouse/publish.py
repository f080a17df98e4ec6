"""Publishing: write-audit-publish for the readers' warehouse file.

Analysts and BI tools open ``published/warehouse.duckdb`` read-only; the pipeline never writes
to that path. A publish copies the checked marts from the working warehouse into a new file under
``published/versions/``, makes it durable, and then swaps it in with one atomic rename. A reader
that already had the old file open keeps reading the old version (its inode lives on); a new
reader gets the new one; nobody ever sees a half-written file, and a crash before the rename
leaves the old version in place. The last N versions are kept so any of them can be rolled back
to.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from qnwu_warehouse.settings import Settings
from qnwu_warehouse.warehouse import attached_tables, writer_lock

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
    """Copy the marts into a new version file and swap it in; call only after the gate passed."""
    settings.published_versions_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version_file = settings.published_versions_dir / f"{stamp}_{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}.duckdb"
    partial = version_file.with_suffix(".partial")
    with writer_lock(settings):
        partial.unlink(missing_ok=True)
        con = duckdb.connect(str(partial), config={"storage_compatibility_version": PUBLISHED_STORAGE_VERSION})
        try:
            con.execute(f"attach '{settings.working_warehouse}' as working (read_only)")
            tables = attached_tables(con, "working", PUBLISHED_SCHEMA)
            if not tables:
                raise NothingToPublish(f"no tables in {PUBLISHED_SCHEMA} of {settings.working_warehouse}: "
                                       "run the transformation first.")
            con.execute(f"create schema {PUBLISHED_SCHEMA}")
            counts = {}
            for table in tables:
                con.execute(f"create table {PUBLISHED_SCHEMA}.{table} as select * from working.{PUBLISHED_SCHEMA}.{table}")
                counts[table] = con.execute(f"select count(*) from {PUBLISHED_SCHEMA}.{table}").fetchone()[0]
            suppressed = suppress_small_cells(con, tables, settings.small_cell_threshold)
            con.execute("create schema meta")
            # what this version contains and why it was allowed out: its submissions and its checks
            con.execute("""create table meta.published_submissions as
                select submission_id, file_hash, submission_version, unit_code, period, submitted_at, loaded_at
                from working.intermediate.int_submissions_current_placed""")
            submissions = con.execute("select count(*) from meta.published_submissions").fetchone()[0]
            if con.execute("select count(*) from duckdb_tables() where database_name = 'working' "
                           "and schema_name = 'audit'").fetchone()[0]:
                con.execute("create table meta.validation_results as select * from working.audit.validation_results "
                            "where run_id = ?", [run_id])
            con.execute("""create table meta.publication as select
                ? as run_id, ?::timestamptz as published_at, ? as current_submissions,
                ? as table_row_counts, ? as quality_gate, ? as small_cell_threshold, ? as cells_suppressed""",
                        [run_id, datetime.now(UTC), submissions, json.dumps(counts), json.dumps(gate_summary),
                         settings.small_cell_threshold, suppressed])
            con.execute("detach working")
            con.execute("checkpoint")
        finally:
            con.close()
        _fsync(partial)
        os.replace(partial, version_file)
        _swap_in(settings, version_file)
        _prune(settings)
    return Publication(settings.published_warehouse, version_file, counts)


def suppress_small_cells(con, tables: list[str], threshold: int) -> int:
    """Small-cell protection for sensitive counts (victims of violence or trafficking).

    In the published copy, a sensitive indicator's value from 1 to threshold-1 for a unit or a
    district is blanked and flagged (value_is_suppressed), so nobody can single a victim out of
    a commune's monthly figure. Zeros and province totals stay: they identify no one and the
    province reports them. The working warehouse keeps the exact figures. See docs/privacy.md.
    """
    if threshold <= 1:
        return 0
    sensitive = [row[0] for row in con.execute(
        f"select indicator_code from {PUBLISHED_SCHEMA}.dim_indicators where is_sensitive").fetchall()]
    suppressed = 0
    for table in tables:
        columns = {row[0] for row in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
            "and database_name = current_database()", [PUBLISHED_SCHEMA, table]).fetchall()}
        if not {"indicator_code", "value"} <= columns or not sensitive:
            continue
        target = f"{PUBLISHED_SCHEMA}.{table}"
        not_province = "and scope_level <> 'province'" if "scope_level" in columns else ""
        condition = (f"indicator_code in ({', '.join('?' for _ in sensitive)}) and value > 0 and value < ? "
                     f"{not_province}")
        con.execute(f"alter table {target} add column value_is_suppressed boolean default false")
        count = con.execute(f"select count(*) from {target} where {condition}", [*sensitive, threshold]).fetchone()[0]
        con.execute(f"update {target} set value = null, value_is_suppressed = true where {condition}",
                    [*sensitive, threshold])
        suppressed += count
    return suppressed


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
    for leftover in settings.published_versions_dir.glob("*.partial"):
        leftover.unlink()  # a publish that died before its rename


def rollback(settings: Settings, version_name: str) -> Path:
    """Make an earlier published version the live one again."""
    candidates = [v for v in versions(settings) if v.name == version_name or v.stem == version_name]
    if not candidates:
        known = ", ".join(v.name for v in versions(settings)) or "none"
        raise FileNotFoundError(f"no published version {version_name!r}; kept versions: {known}")
    with writer_lock(settings):
        _swap_in(settings, candidates[0])
    return candidates[0]
