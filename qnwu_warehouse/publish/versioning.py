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

import ctypes
import fcntl
import json
import os
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from qnwu_warehouse.checks import changes
from qnwu_warehouse.disclosure import audit as disclosure_audit
from qnwu_warehouse.publish import history, releases
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.warehouse import attached_tables, current_database, quoted_identifier, writer_lock

PUBLISHED_SCHEMA = "marts"
# The working warehouse's published layer (dbt_project/models/published/): the relations readers
# get, with hidden cells blanked. Publishing copies it into the version's schema marts.
LAYER_SCHEMA = "published"
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


# ioctl(FICLONE) of <linux/fs.h>: the target file shares the source's blocks, copy-on-write.
FICLONE = 0x40049409
# sync_file_range(2) with SYNC_FILE_RANGE_WRITE: start writing the dirty pages out, without
# waiting. None where the C library has no such call (not Linux).
SYNC_FILE_RANGE_WRITE = 2
_SYNC_FILE_RANGE = getattr(ctypes.CDLL(None), "sync_file_range", None)


def clone_or_copy(source: Path, target: Path) -> str:
    """Start the new version as the live one: a clone where the file system can make one (XFS with
    reflink, btrfs: the 1 GB of five national years in milliseconds, since the new version's
    blocks are shared until a changed row is written), a plain copy otherwise (ext4: 1.8 s for
    that gigabyte). Returns "clone" or "copy"."""
    try:
        with source.open("rb") as original, target.open("wb") as clone:
            fcntl.ioctl(clone.fileno(), FICLONE, original.fileno())
        return "clone"
    except OSError:  # EOPNOTSUPP (ext4, tmpfs), EXDEV, EINVAL: the file system cannot share blocks
        shutil.copyfile(source, target)
        start_writing_out(target)
        return "copy"


def start_writing_out(path: Path) -> None:
    """Have the kernel start writing a file's dirty pages to disk now, and return at once.

    A copied version must reach the disk before it is swapped in, and its gigabyte on five years
    is written out at the first sync that needs it: the first commit of DuckDB into the version
    (ext4's journal then waits for the copy's blocks), which stalled 1.1-1.9 s. Started right
    after the copy, the write-out goes on while publish reads the change set and the rows to
    replace. Only an optimisation: where the call is missing or fails, the later sync does it."""
    if _SYNC_FILE_RANGE is None:
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        _SYNC_FILE_RANGE(descriptor, ctypes.c_int64(0), ctypes.c_int64(0), ctypes.c_uint(SYNC_FILE_RANGE_WRITE))
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
    period buckets are replaced (qnwu_warehouse/checks/changes.py); a new month on five years of history then copies one
    month, not sixty. Without a live version, or when the rules changed since it was made, every
    mart is copied from scratch. Either way each table must end with the working mart's row count."""
    if not settings.working_warehouse.exists():
        raise NothingToPublish(
            f"{settings.working_warehouse}: no working warehouse yet: load and build first (`qnwu run`, or "
            "`qnwu ingest` then `qnwu build` and `qnwu gate`)."
        )
    settings.published_versions_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version_file = settings.published_versions_dir / f"{stamp}_{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}.duckdb"
    partial = version_file.with_suffix(".partial")
    with writer_lock(settings):
        _remove_partials(settings)  # what a killed publish left, before this one needs the disk space
        live = current_version(settings)
        if live is not None:
            clone_or_copy(live, partial)  # a file clone or copy: far faster than copying rows
        con = _open_version(partial, settings)
        try:
            change_set = changes.changes_since(con, settings, "working", current_database(con) if live else None)
            previous = current_database(con) if live is not None else None
            if change_set.whole and live is not None:
                con.close()
                partial.unlink()
                con = _open_version(partial, settings)
                # the history, and what the live version published, come from the live file itself
                con.execute(f"attach '{live}' as previous_version (read_only)")
                previous = "previous_version"
                history.copy_from(con, previous)
            tables = attached_tables(con, "working", LAYER_SCHEMA)
            if not tables:
                raise NothingToPublish(
                    f"no relations in {LAYER_SCHEMA} of {settings.working_warehouse}: run the transformation first."
                )
            if previous is not None and not history.has_history(con, previous):
                previous = None  # a live version made before the history: this version starts it, whole
            # the relations the version holds as views of another (dbt meta published_view): nothing to copy
            views = {name: view for name, view in change_set.views.items() if name in tables}
            # which rows each table replaces, read before any is written (the version is the live one still)
            row_filters = {table: _changed_rows(con, table, change_set) for table in tables if table not in views}
            history_started = time.perf_counter()
            adopted = 0
            if previous is not None:  # after a rollback: the versions it withdrew, and the rollback itself
                adopted = history.adopt_withdrawn_versions(
                    con, list(_earlier_version_files(settings, but=live)), live.stem, settings.published_dir
                )
            figure_filters = {
                table: " or ".join(f"({part})" for part in row_filters[table]) if previous else ""
                for table in history.FIGURE_TABLES
                if table in tables
            }
            history.snapshot_before(
                con, figure_filters, f"{quoted_identifier(previous)}.{PUBLISHED_SCHEMA}" if previous else ""
            )
            report_condition = change_set.condition("report") if previous else ""
            history.snapshot_reports_before(
                con, report_condition, f"{quoted_identifier(previous)}.meta" if previous else None
            )
            history_seconds = time.perf_counter() - history_started  # the snapshots, counted with the history
            counts = _write_marts(con, row_filters, views)
            con.execute("create schema if not exists meta")
            disclosure = _audit_disclosure(con, settings, change_set)
            # what this version contains and why it was allowed out: its submissions and its checks
            _write_published_submissions(con, change_set)
            entry = history.append(
                con,
                version_name=version_file.stem,
                run_id=run_id,
                published_at=datetime.now(UTC),
                rebuilt_whole=change_set.whole,
                reason=change_set.reason,
                row_filters=figure_filters,
                report_condition=report_condition,
                releases=releases.list_releases(settings),
                seconds_before=history_seconds,
            )
            disclosure["across_versions"] = _audit_history(
                con, settings, change_set, live.stem if live is not None else None, adopted
            )
            if "previous_version" in {
                row[0] for row in con.execute("select database_name from duckdb_databases()").fetchall()
            }:
                con.execute("detach previous_version")
            submissions = con.execute("select count(*) from meta.published_submissions").fetchone()[0]
            con.execute("drop table if exists meta.validation_results")
            if con.execute(
                "select count(*) from duckdb_tables() where database_name = 'working' and schema_name = 'audit'"
            ).fetchone()[0]:
                # without the sample rows: they quote what failed, a unit's count of victims included
                con.execute(
                    "create table meta.validation_results as select * exclude (unexpected_sample) "
                    "from working.audit.validation_results where run_id = ?",
                    [run_id],
                )
            con.execute(
                """create or replace table meta.publication as select
                ? as run_id, ?::timestamptz as published_at, ? as current_submissions,
                ? as table_row_counts, ? as quality_gate, ? as small_cell_threshold, ? as cells_suppressed,
                ? as copied, ? as rules_fingerprint, ? as disclosure, ? as history""",
                [
                    run_id,
                    datetime.now(UTC),
                    submissions,
                    json.dumps(counts),
                    json.dumps(gate_summary),
                    settings.small_cell_threshold,
                    disclosure["cells_suppressed"],
                    json.dumps(change_set.as_dict()),
                    changes.rules_fingerprint(settings),
                    json.dumps(disclosure),
                    json.dumps(entry.as_dict()),
                ],
            )
            con.execute("detach working")
            con.execute("checkpoint")
        except BaseException:
            con.close()
            _remove_partials(settings)  # a refused or failed version leaves nothing behind
            raise
        finally:
            con.close()
        _fsync(partial)
        os.replace(partial, version_file)
        _swap_in(settings, version_file)
        _prune(settings)
    return Publication(settings.published_warehouse, version_file, counts)


class DisclosureRefused(Exception):
    """The version about to be published would let a hidden cell be derived; nothing was swapped in."""


def _audit_disclosure(con, settings: Settings, change_set: changes.ChangeSet) -> dict[str, object]:
    """The disclosure audit (disclosure/audit.py) once more, on the version file itself: the gate
    audited the published layer, this audits exactly what readers will open, also when a version is
    published by hand (`qnwu publish`). Writes meta.disclosure_audit (each hidden cell's interval:
    what an attacker can compute anyway; whether a cell is primary stays in the working warehouse,
    as it would say which cells are the small ones) and returns the counts for meta.publication.
    Only the years with changed reports are audited again: the others' cells were copied unchanged
    from the live version, which was audited, and no sum crosses a year.
    The sums are always read from the version file; they are solved again only when no gate
    solved the very same sums (_gate_intervals)."""
    started = time.perf_counter()
    years = changes.changed_years(change_set)
    sums = disclosure_audit.read_published_sums(
        con, current_database(con), PUBLISHED_SCHEMA, settings.small_cell_threshold, years
    )
    audit = _gate_intervals(con, sums)
    solved_by = "gate" if audit is not None else "publish"
    if audit is None:
        audit = disclosure_audit.solve(sums)
    if not audit.passed:
        sample = "; ".join(f"{c.cell_id} in [{c.lower_bound:g}, {c.upper_bound:g}]" for c in audit.failures[:3])
        raise DisclosureRefused(
            f"the disclosure audit of the new version found {len(audit.failures)} hidden cell(s) that the published "
            f"figures pin or prove below {settings.small_cell_threshold}, and {len(audit.leaks)} leak(s) "
            f"({sample or '; '.join(audit.leaks[:3])}); nothing was published. Run the gate (`qnwu gate`) to see "
            "every cell, and check that QNWU_COMPLEMENTARY_SUPPRESSION is not off (docs/privacy.md)."
        )
    con.execute(
        "create table if not exists meta.disclosure_audit (cell_id varchar, component_id varchar, "
        "lower_bound double, upper_bound double)"
    )
    if years is None:
        con.execute("delete from meta.disclosure_audit")
    else:
        con.execute(
            "delete from meta.disclosure_audit where split_part(component_id, ':', 2) in (select unnest(?::varchar[]))",
            [sorted(years)],
        )
    con.execute(
        "insert into meta.disclosure_audit select * from (select unnest(?::varchar[]), unnest(?::varchar[]), "
        "unnest(?::double[]), unnest(?::double[]))",
        audit.columns()[:4],
    )
    # counted once per cell (a unit's month is in fct_indicator_values and fct_beneficiaries), by
    # kind, with the share of each level's sensitive total that complementary cells hold, rounded to
    # a whole percent (an exact share would be one more equation for an attacker)
    by_level = con.execute("""
        select cells.scope_level,
            count(hidden.cell_id) filter (where hidden.suppression = 'primary'),
            count(hidden.cell_id) filter (where hidden.suppression = 'secondary'),
            coalesce(sum(cells.value) filter (where hidden.suppression = 'secondary'), 0),
            coalesce(sum(cells.value), 0)
        from working.disclosure.disclosure_sensitive_cells as cells
        left join working.disclosure.disclosure_hidden_cells as hidden using (cell_id)
        group by cells.scope_level order by cells.scope_level""").fetchall()
    primary = sum(row[1] for row in by_level)
    secondary = sum(row[2] for row in by_level)
    return {
        "cells_suppressed": primary + secondary,
        "primary": primary,
        "secondary": secondary,
        "secondary_share_of_total_pct": {
            level: round(100 * held / total) if total else 0 for level, _p, _s, held, total in by_level
        },
        "audit": {
            **audit.summary(),
            "years": "all" if years is None else sorted(years),
            "solved_by": solved_by,
            "seconds": round(time.perf_counter() - started, 2),
        },
    }


def _gate_intervals(con, sums: disclosure_audit.PublishedSums) -> disclosure_audit.AuditResult | None:
    """The intervals the gate found for sums with the digest of the version file's `sums`
    (disclosure/audit.py, sums_digest): the same linear programs, so solving them again gives the
    same intervals (a new month on five years: 1.1 to 1.4 s). Which run's gate does not matter,
    only the digest: the intervals are a function of the sums alone. None when no gate solved
    these sums: other years, a version whose published layer differs from the working
    warehouse's, a working warehouse from before the digests were kept."""
    if "disclosure_audit_inputs" not in attached_tables(con, "working", "audit"):
        return None
    newest = con.execute(
        "select run_id, audited_at from working.audit.disclosure_audit_inputs where sums_digest = ? "
        "order by audited_at desc limit 1",
        [disclosure_audit.sums_digest(sums)],
    ).fetchone()
    if newest is None:
        return None
    cells = con.execute(
        "select distinct cell_id, component_id, lower_bound, upper_bound, protected "
        "from working.audit.disclosure_audit where run_id = ? and audited_at = ? order by component_id, cell_id",
        newest,
    ).fetchall()
    return disclosure_audit.AuditResult(
        sums.threshold, [disclosure_audit.CellBound(*cell) for cell in cells], leaks=list(sums.leaks)
    )


def _audit_history(con, settings: Settings, change_set: changes.ChangeSet, live_name: str | None, adopted: int) -> dict:
    """The disclosure audit across versions: a cell hidden now must not be had back from an earlier
    version that published it (the history's roll-ups, and the kept and released version files'
    unit cells) while nothing has changed it since, nor from such values and today's sums.

    Only the changed years are audited when the live version's own audit covered the rest
    (_history_audit_scope); the counts of the other years are carried from it. Returns the summary
    for meta.publication.disclosure.across_versions."""
    started = time.perf_counter()
    catalog = current_database(con)
    earlier = _earlier_version_files(settings)
    compared = set(earlier.values())
    years, scope_reason, previous = _history_audit_scope(con, settings, change_set, compared, live_name, adopted)
    others = {}
    try:
        for number, (path, version_name) in enumerate(earlier.items()):
            alias = f"earlier_version_{number}"
            con.execute(f"attach '{path}' as {alias} (read_only)")
            others[alias] = version_name
        pinned = disclosure_audit.pinned_by_history(
            con, catalog, "working.disclosure.disclosure_sensitive_cells", others, years
        )
        by_year = Counter(_cell_year(cell) for cell in pinned)
        sample = [f"{cell} in {version}" for cell, (_v, version) in list(pinned.items())[:5]]
        if previous is not None:  # the years not audited again: as the live version's audit found them
            by_year.update({year: n for year, n in previous["already_published_by_year"].items() if year not in years})
            sample += [entry for entry in previous["already_published_sample"] if _cell_year(entry) not in years]
        summary: dict[str, object] = {
            "versions_compared": len(others),
            # the version names compared: the next publish audits only its changed years if no other is new
            "versions": sorted(set(others.values())),
            "years_audited": "all" if years is None else sorted(years),
            "scope": scope_reason,
            "full_audit_at": (previous["full_audit_at"] if previous is not None else datetime.now(UTC)).isoformat(),
            # hidden now, but published with this value by an earlier version: already public
            "already_published_earlier": sum(by_year.values()),
            "already_published_by_year": dict(sorted(by_year.items())),
            "already_published_sample": sample[:5],
        }
        if pinned:
            audit = disclosure_audit.run_audit(
                con,
                catalog,
                PUBLISHED_SCHEMA,
                settings.small_cell_threshold,
                {_cell_year(cell) for cell in pinned},
                pinned={cell: value for cell, (value, _version) in pinned.items()},
            )
            summary["hidden_cells_checked"] = len(audit.cells)
            if not audit.passed:
                sample = "; ".join(f"{c.cell_id} in [{c.lower_bound:g}, {c.upper_bound:g}]" for c in audit.failures[:3])
                raise DisclosureRefused(
                    f"{len(pinned)} cell(s) hidden in the new version were published with the same value by an "
                    f"earlier version, and with them known {len(audit.failures)} other hidden cell(s) can be pinned "
                    f"or proven below {settings.small_cell_threshold} ({sample}); nothing was published. An earlier "
                    "version's figures stay public: see docs/privacy.md, 'Across versions'."
                )
    finally:
        for alias in others:
            con.execute(f"detach {alias}")
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def _cell_year(cell_id: str) -> str:
    """The year of a cell id (unit cells 'unit:2023-05:...', roll-ups 'month:2023-05:...'), or of a
    sample entry that starts with one: its second field's first four characters."""
    return cell_id.split(":")[1][:4]


def _history_audit_scope(
    con, settings: Settings, change_set: changes.ChangeSet, compared: set[str], live_name: str | None, adopted: int
) -> tuple[set[str] | None, str, dict | None]:
    """Which years the audit across versions must read: (years or None for all, why, the live
    version's own summary when it covers the rest).

    A year without a changed report is as the live version left it: its hidden cells (chosen per
    year, disclosure_hidden_cells), their true values and its sums are the same, and the figures
    this version adds to the history are all in changed years. The live version's audit read that
    year against its history and every version file it compared. If no version file is here that it
    did not compare, besides itself (which hid the same cells), auditing the year again finds the
    same cells with the same result, and its count is carried over. Everything is audited again
    when the rules changed (the version is rebuilt whole), after a rollback (the withdrawn versions
    were never compared with the version rolled back to), when a version file is new to the
    comparison, when the live version does not record its audit, and as a full sweep when the last
    full audit is QNWU_FULL_SWEEP_HOURS old (0: every publish)."""
    if change_set.whole:
        return None, f"every year: rebuilt whole ({change_set.reason})", None
    if adopted:
        return None, f"every year: a rollback withdrew {adopted} version(s) since the live version", None
    previous = _live_history_audit(con)
    if previous is None:
        return None, "every year: the live version records no audit across versions to build on", None
    age_hours = (datetime.now(UTC) - previous["full_audit_at"]).total_seconds() / 3600
    if settings.full_sweep_hours == 0:
        return None, "every year: QNWU_FULL_SWEEP_HOURS=0, a full audit on every publish", None
    if age_hours >= settings.full_sweep_hours:
        sweep = f"QNWU_FULL_SWEEP_HOURS={settings.full_sweep_hours:g}"
        return None, f"every year: the last full audit is {age_hours:.1f} h old ({sweep})", None
    new = compared - set(previous["versions"]) - {live_name}
    if new:
        return None, f"every year: the live version's audit did not compare {', '.join(sorted(new))}", None
    years = changes.changed_years(change_set) or set()
    return years, f"the changed years; the others as the live version {live_name} audited them", previous


def _live_history_audit(con) -> dict | None:
    """The live version's audit across versions (meta.publication of the copy this version starts
    as), with `full_audit_at` as a datetime, if it recorded what the next one needs to build on.
    None for anything else (an older version, a record of another shape): then every year is
    audited, never a publish stopped by what an earlier one wrote."""
    if not _has_column(con, "publication", "disclosure", schema="meta"):
        return None
    row = con.execute("select disclosure from meta.publication limit 1").fetchone()
    try:
        summary = json.loads(row[0])["across_versions"]
        full_audit_at = datetime.fromisoformat(summary["full_audit_at"])
        well_formed = (
            full_audit_at.tzinfo is not None
            and isinstance(summary["versions"], list)
            and isinstance(summary["already_published_sample"], list)
            and all(isinstance(name, str) for name in summary["versions"])
            and all(isinstance(year, str) and type(n) is int for year, n in summary["already_published_by_year"].items())
            and all(isinstance(entry, str) and ":" in entry for entry in summary["already_published_sample"])
        )
    except (TypeError, ValueError, KeyError, AttributeError):  # no row, not JSON, a key missing or of another type
        return None
    return {**summary, "full_audit_at": full_audit_at} if well_formed else None


def _earlier_version_files(settings: Settings, but: Path | None = None) -> dict[Path, str]:
    """{file: version name} of the kept and released versions, each file once (a release is a hard
    link to its version's file), without the one `but` names."""
    files = {path: path.stem for path in versions(settings)}
    files |= {Path(record["file"]): record["version"] for record in releases.list_releases(settings)}
    seen = {but.stat().st_ino} if but is not None and but.exists() else set()
    unique = {}
    for path, version_name in sorted(files.items()):
        if path.exists() and path.stat().st_ino not in seen:
            seen.add(path.stat().st_ino)
            unique[path] = version_name
    return unique


def _write_published_submissions(con, change_set: changes.ChangeSet) -> None:
    """meta.published_submissions: the current version of every report in this version, which the
    next publish compares with the working warehouse to find what changed."""
    columns = "submission_id, file_hash, submission_version, unit_code, period, submitted_at, loaded_at"
    source = "(select * from working.marts.fct_submission_versions where is_current_placed) as current_reports"
    changed = change_set.condition("report")
    if changed:
        con.execute(f"delete from meta.published_submissions where {changed}")
        con.execute(f"insert into meta.published_submissions select {columns} from {source} where {changed}")
    else:
        con.execute(f"create or replace table meta.published_submissions as select {columns} from {source}")
    published, current = (
        con.execute(f"select count(*) from {table}").fetchone()[0] for table in ("meta.published_submissions", source)
    )
    if published != current:
        raise PublishMismatch(
            f"meta.published_submissions would list {published:,} reports, the working warehouse "
            f"holds {current:,}; nothing was published."
        )


class PublishMismatch(Exception):
    """A published table did not end with the working mart's rows; nothing was swapped in."""


def _open_version(path: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), config={"storage_compatibility_version": PUBLISHED_STORAGE_VERSION})
    con.execute(f"attach '{settings.working_warehouse}' as working (read_only)")
    return con


def _columns(con, database: str | None, schema: str, table: str) -> list[str]:
    """A table's or view's columns in order (database None: the connection's own file)."""
    return [
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where database_name = coalesce(?, current_database()) "
            "and schema_name = ? and table_name = ? order by column_index",
            [database, schema, table],
        ).fetchall()
    ]


def _has_column(con, table: str, column: str, database: str | None = None, schema: str = PUBLISHED_SCHEMA) -> bool:
    return column in _columns(con, database, schema, table)


def _published_layer_rows(con, table: str) -> int:
    """How many rows the working warehouse's published layer holds for `table`.

    A view that blanks hidden cells (with_suppression in dbt_project/macros/disclosure.sql) is its
    mart's columns plus value_is_suppressed, a left join of the mart to disclosure_hidden_cells on
    its cell id. Counting the view evaluates that join over every row (1.6 s for
    fct_indicator_values at five years); the mart's own count is at hand. The two are equal while
    the hidden cells' ids are unique (a dbt test that the gate requires); were they not, the version
    copied from the view would hold more rows than the mart, and the comparison in _write_marts
    refuses it all the same."""
    mart_columns = _columns(con, "working", "marts", table)
    if mart_columns and _columns(con, "working", LAYER_SCHEMA, table) == [*mart_columns, "value_is_suppressed"]:
        return con.execute(f"select count(*) from working.marts.{table}").fetchone()[0]
    return con.execute(f"select count(*) from working.{LAYER_SCHEMA}.{table}").fetchone()[0]


def _write_marts(
    con, row_filters: dict[str, list[str]], views: dict[str, changes.PublishedView] | None = None
) -> dict[str, int]:
    """Each relation of the working warehouse's published layer into the version, in schema marts:
    as a table, whole or (for a large one) with the rows of its filters (_changed_rows) replaced;
    or, for a relation of `views`, as a view of the table it is a slice of, which copies nothing.
    Returns the row counts, which must equal the published layer's.

    The published layer (dbt_project/models/published/) is where the hidden cells are blanked; this
    copies it and builds no suppression of its own."""
    views = views or {}
    con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
    for stale in set(attached_tables(con, current_database(con), PUBLISHED_SCHEMA)) - set(row_filters) - set(views):
        _drop_relation(con, stale)  # a mart that no longer exists
    counts = {}
    for table, parts in row_filters.items():
        source = f"working.{LAYER_SCHEMA}.{table}"
        if _version_relation_kind(con, table) == "view":  # a view in the live version, a table of its own now
            con.execute(f"drop view {PUBLISHED_SCHEMA}.{table}")
            parts = []
        for part in parts:  # each a semi-join of its own: joined by `or`, they were scanned together, slower
            con.execute(f"delete from {PUBLISHED_SCHEMA}.{table} where {part}")
            con.execute(f"insert into {PUBLISHED_SCHEMA}.{table} select * from {source} where {part}")
        if not parts:
            con.execute(f"create or replace table {PUBLISHED_SCHEMA}.{table} as select * from {source}")
        counts[table] = _checked_rows(con, table)
    for name, view in views.items():
        columns = _columns(con, "working", LAYER_SCHEMA, name)
        missing = [column for column in columns if column not in _columns(con, None, PUBLISHED_SCHEMA, view.of)]
        if view.of not in row_filters or missing:
            raise PublishMismatch(
                f"{PUBLISHED_SCHEMA}.{name}: dbt's meta published_view makes it a view of {view.of}, which "
                + (f"lacks its columns {', '.join(missing)}" if view.of in row_filters else "is not a published table")
                + "; nothing was published. Correct the model's meta in dbt_project/models/published/."
            )
        if _version_relation_kind(con, name) == "table":  # copied by an earlier version
            con.execute(f"drop table {PUBLISHED_SCHEMA}.{name}")
        con.execute(
            f"create or replace view {PUBLISHED_SCHEMA}.{name} as select "
            f"{', '.join(map(quoted_identifier, columns))} from {PUBLISHED_SCHEMA}.{view.of} where {view.where}"
        )
        counts[name] = _checked_rows(con, name)
    return dict(sorted(counts.items()))


def _checked_rows(con, name: str) -> int:
    """The rows of the version's relation `name`, which must be as many as the published layer's."""
    rows = con.execute(f"select count(*) from {PUBLISHED_SCHEMA}.{name}").fetchone()[0]
    expected = _published_layer_rows(con, name)
    if rows != expected:
        raise PublishMismatch(
            f"{PUBLISHED_SCHEMA}.{name}: the new version would hold {rows:,} rows, "
            f"the working warehouse {expected:,}; nothing was published. If the marts were "
            "changed outside the pipeline, run `qnwu rebuild`."
        )
    return rows


def _version_relation_kind(con, name: str) -> str | None:
    """What the version (the connection's own file) holds as marts.`name`: "table", "view" or None."""
    found = con.execute(
        "select 'table' from duckdb_tables() where database_name = current_database() and schema_name = ? "
        "and table_name = ? union all select 'view' from duckdb_views() where database_name = current_database() "
        "and schema_name = ? and view_name = ?",
        [PUBLISHED_SCHEMA, name, PUBLISHED_SCHEMA, name],
    ).fetchone()
    return found[0] if found else None


def _drop_relation(con, name: str) -> None:
    kind = _version_relation_kind(con, name)
    if kind is not None:
        con.execute(f"drop {kind} {PUBLISHED_SCHEMA}.{name}")


def _changed_rows(con, table: str, change_set: changes.ChangeSet) -> list[str]:
    """The rows of `table` to replace in a version that starts as the live one, as conditions that
    no row meets twice ([] = all of them): the changed reports' or buckets', and in a table with
    hidden cells, the cells of other reports that were hidden or shown again.

    A new report can change which cells of its year are hidden, also in other reports' rows (the
    complementary cells of disclosure_hidden_cells). Hidden cells are chosen per year, so only the
    changed years can hold such a cell; of their rows, the ones whose suppression flipped are
    listed (temporary table changed_cells_<table>), comparing the working layer's hidden cells
    with the live version's. On five years, replacing every sensitive row of the changed year
    instead rewrote 384,000 rows of fct_beneficiaries and as many of fct_indicator_values, and
    snapshotted them into the history, to change a few hundred (a new month's publish: 5.84 s, then
    4.47 to 5.64 s; docs/benchmarks.md). Call before the version's table is written."""
    changed = change_set.row_filter(table)
    key = change_set.cell_keys.get(table)
    if not changed or not _has_column(con, table, "value_is_suppressed", "working", LAYER_SCHEMA):
        return [changed] if changed else []
    if key is None:  # hidden cells whose id column is not known: the whole table, rather than guess
        return []
    years = sorted(year for year in changes.changed_years(change_set) or () if year.isdigit())
    if not years:
        return [changed]
    period = "period_label" if _has_column(con, table, "period_label", "working", LAYER_SCHEMA) else "period"
    in_years = changes.in_years(period, years)
    working_hidden = f"select {key} from working.{LAYER_SCHEMA}.{table} where value_is_suppressed and ({in_years})"
    live_hidden = f"select {key} from {PUBLISHED_SCHEMA}.{table} where value_is_suppressed and ({in_years})"
    flipped = f"changed_cells_{table}"
    con.execute(
        f"create or replace temp table {flipped} as "
        f"({working_hidden} except {live_hidden}) union all ({live_hidden} except {working_hidden})"
    )
    return [changed, f"({in_years}) and {key} in (select {key} from {flipped}) and not ({changed})"]


def versions(settings: Settings) -> list[Path]:
    """Published versions, oldest first."""
    return sorted(settings.published_versions_dir.glob("*.duckdb"))


def current_version(settings: Settings) -> Path | None:
    if not settings.published_warehouse.exists():
        return None
    live = settings.published_warehouse.stat().st_ino
    return next((v for v in versions(settings) if v.stat().st_ino == live), None)


def _prune(settings: Settings) -> None:
    released = releases.released_version_names(settings)  # a release is never pruned
    for stale in versions(settings)[: -settings.published_versions_kept]:
        if stale.stem in released:
            continue
        stale.unlink()
        # its HTML report (qnwu_warehouse/serve/report.py) goes with it
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
        history.record_rollback(settings.published_dir, candidates[0].stem)  # the next publish records it
    return candidates[0]


def published_watermark(settings: Settings) -> str | None:
    """The latest load in the live published version (ISO 8601), if that version was made with
    today's rules: rows loaded after it have not passed the tests and the gate yet. None: test all."""
    live = current_version(settings)
    if live is None:
        return None
    with duckdb.connect(str(live), read_only=True) as con:
        if changes.reason_to_redo_all(con, settings, current_database(con)):
            return None
        latest = con.execute("select max(loaded_at) from meta.published_submissions").fetchone()[0]
    return latest.isoformat() if latest is not None else None
