"""Ingestion: landing zone -> raw tables, keeping every byte and accounting for every file.

Every file found in the landing zone is recognised by the SHA-256 of its content, never by its
name: a renamed or re-sent copy is a duplicate, not a new report. Each new file is archived byte
for byte, read, checked against the contract and recorded exactly once in the ledger
(``raw.received_files``) as accepted, rejected or duplicate. A submission with any error is
rejected whole and its file is kept in quarantine with its reasons. Everything a run writes to
the raw layer is committed in one transaction, so a crash leaves the raw layer as it was and
the next run picks the same files up again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path, PurePosixPath

import fsspec
import pandas as pd

from qnwu_warehouse.contract import (
    CONTRACT_VERSION,
    VIETNAM_TIME,
    Problem,
    UnreadableFile,
    clean_text,
    parse_period,
    validate,
)
from qnwu_warehouse.readers import read_document
from qnwu_warehouse.reference import load_reference
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.warehouse import working_connection

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.load_runs (
    load_id varchar primary key, started_at timestamptz, finished_at timestamptz,
    landing_url varchar, files_new integer, files_accepted integer, files_rejected integer,
    files_duplicate integer, contract_version varchar
);
create table if not exists raw.received_files (
    file_hash varchar, source_path varchar, file_name varchar, file_format varchar,
    size_bytes bigint, received_at timestamptz, load_id varchar, outcome varchar,
    duplicate_of_hash varchar, archive_path varchar, error_count integer, warning_count integer,
    claimed_unit_code varchar, claimed_period varchar
);
create table if not exists raw.submissions (
    file_hash varchar primary key, unit_code varchar, period varchar, submitted_at timestamptz,
    reporter varchar, template_version varchar, load_id varchar, loaded_at timestamptz,
    submitted_date_vn date
);
create table if not exists raw.submission_values (
    file_hash varchar, source_row integer, indicator_code varchar, category varchar, value bigint
);
create table if not exists raw.submission_clubs (
    file_hash varchar, source_row integer, club_id varchar, club_type varchar, club_name varchar,
    club_status varchar, members bigint
);
create table if not exists raw.submission_problems (
    file_hash varchar, load_id varchar, reason_code varchar, severity varchar, sheet varchar,
    source_row integer, source_column varchar, message_vi varchar, message_en varchar
);
"""


# Below this many files a batch is examined in-process: forking workers would cost more.
PARALLEL_THRESHOLD = 200


class LedgerImbalance(Exception):
    """Files went in that did not come out as accepted, rejected or duplicate."""


@dataclass
class IngestSummary:
    load_id: str
    files_seen: int
    files_new: int
    accepted: int
    rejected: int
    duplicates: int
    warnings: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Outcome:
    file_hash: str
    source_path: str
    size: int
    outcome: str
    file_format: str | None = None
    duplicate_of: str | None = None
    archive_path: str | None = None
    submission: object = None
    problems: tuple[Problem, ...] = ()
    # What the file says it is, even when it is rejected: feedback must reach the right unit.
    claimed_unit_code: str | None = None
    claimed_period: str | None = None


def _landing_files(settings: Settings) -> tuple[fsspec.AbstractFileSystem, list[str]]:
    fs, root = fsspec.core.url_to_fs(settings.landing_url)
    paths = sorted(p for p in fs.find(root) if not PurePosixPath(p).name.startswith("."))
    return fs, paths


def _examine(name: str, content: bytes, today: date, seeds_dir: Path) -> tuple:
    """Read and check one file: (format, claimed unit, claimed period, submission or None, problems).

    A pure function of the bytes, so batches of files can be examined in worker processes."""
    file_format = claimed_unit = claimed_period = submission = None
    try:
        file_format, document = read_document(name, content)
        claimed_unit = clean_text(document.header.get("unit_code", ("",))[0]) or None
        period = parse_period(document.header.get("period", ("",))[0])
        claimed_period = period.strftime("%Y-%m") if period else None
        submission, problems = validate(document, load_reference(seeds_dir), today)
    except UnreadableFile as unreadable:
        problems = [unreadable.problem]
    return file_format, claimed_unit, claimed_period, submission, tuple(problems)


def _examine_item(item: tuple[str, bytes, date, Path]) -> tuple:
    return _examine(*item)


def _die_with_parent() -> None:
    """Worker initializer: if the ingesting process is killed (kill -9), its workers go too,
    instead of lingering as orphans."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _worker_pool(settings: Settings, file_count: int) -> ProcessPoolExecutor | None:
    """Worker processes for reading and checking files, started before the writer lock is taken
    and the warehouse opened, so no worker ever inherits the lock or the database handle."""
    if settings.ingest_workers < 2 or file_count < PARALLEL_THRESHOLD:
        return None
    return ProcessPoolExecutor(settings.ingest_workers, mp_context=get_context("fork"), initializer=_die_with_parent)


def _archive_batch(settings: Settings, load_id: str, batch_number: int,
                   files: list[tuple[str, str, bytes]]) -> Path:
    """Every new file of a batch, byte for byte, in one zip named after the load, made durable
    before the batch is committed. One file per batch, not per submission: creating thousands of
    small files costs more than reading them. A crash before the commit leaves an unreferenced
    zip that the rerun's own archive supersedes."""
    folder = settings.archive_dir / re.sub(r"[^A-Za-z0-9_.-]", "_", load_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"batch-{batch_number:05d}.zip"
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for file_hash, name, content in files:
            archive.writestr(f"{file_hash}{PurePosixPath(name).suffix.lower()}", content)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    return target


def read_archived(archive_path: str) -> bytes:
    """The bytes of a received file from its ledger entry's archive_path ('<zip>#<member>')."""
    zip_path, member = archive_path.split("#", 1)
    with zipfile.ZipFile(zip_path) as archive:
        return archive.read(member)


def _quarantine(settings: Settings, outcome: _Outcome, name: str, content: bytes) -> None:
    """A rejected file sits in quarantine byte for byte, beside the reasons it was refused."""
    stem = settings.quarantine_dir / outcome.file_hash
    stem.with_suffix(PurePosixPath(name).suffix.lower() or ".bin").write_bytes(content)
    reasons = [{"reason_code": p.code, "severity": p.severity, "message_vi": p.message(name, "vi"),
                "message_en": p.message(name, "en")} for p in outcome.problems]
    stem.with_suffix(".reasons.json").write_text(
        json.dumps({"source_path": outcome.source_path, "reasons": reasons}, ensure_ascii=False, indent=1),
        encoding="utf-8")


def ingest(settings: Settings, load_id: str, today: date | None = None) -> IngestSummary:
    """Pull every new file from the landing zone into the raw layer; returns the ledger counts.

    Files go through in batches; each batch is archived and then committed in one transaction
    (its ledger rows, submissions, values and problems together), so a crash loses at most the
    batch in flight, never half of a submission, and the next run picks its files up again.
    """
    settings.ensure_landing()
    today = today or date.today()
    load_reference(settings.seeds_dir)  # read the seeds once, before any worker process is forked
    started_at = datetime.now(UTC)
    fs, paths = _landing_files(settings)
    pool = _worker_pool(settings, len(paths))
    totals = IngestSummary(load_id=load_id, files_seen=len(paths), files_new=0, accepted=0, rejected=0,
                           duplicates=0, warnings=0)

    with working_connection(settings) as con:
        # One transaction, so a crash while creating the raw layer leaves all of it or none of it.
        con.execute("begin transaction")
        con.execute(RAW_DDL)
        con.execute("commit")
        seen = {row[0] for row in con.execute("select source_path || '|' || file_hash from raw.received_files")
                .fetchall()}
        known_hashes = {row[0] for row in con.execute("select distinct file_hash from raw.received_files")
                        .fetchall()}
        try:
            for batch_number, start in enumerate(range(0, len(paths), settings.ingest_batch_size)):
                batch_paths = paths[start:start + settings.ingest_batch_size]
                outcomes, fresh = [], []
                for path in batch_paths:
                    content = fs.cat_file(path)
                    file_hash = hashlib.sha256(content).hexdigest()
                    if f"{path}|{file_hash}" in seen:
                        continue  # this very file was accounted for by an earlier run
                    seen.add(f"{path}|{file_hash}")
                    if file_hash in known_hashes:
                        outcomes.append(_Outcome(file_hash, path, len(content), "duplicate", duplicate_of=file_hash))
                        continue
                    known_hashes.add(file_hash)
                    fresh.append((file_hash, path, content))
                if not outcomes and not fresh:
                    continue
                items = [(PurePosixPath(path).name, content, today, settings.seeds_dir) for _, path, content in fresh]
                if pool is not None and len(items) >= PARALLEL_THRESHOLD:
                    examined = list(pool.map(_examine_item, items, chunksize=64))
                else:
                    examined = [_examine_item(item) for item in items]
                archive = _archive_batch(settings, load_id, batch_number,
                                         [(h, PurePosixPath(p).name, c) for h, p, c in fresh])
                for (file_hash, path, content), result in zip(fresh, examined, strict=True):
                    file_format, claimed_unit, claimed_period, submission, problems = result
                    suffix = PurePosixPath(path).suffix.lower()
                    outcome = _Outcome(file_hash, path, len(content),
                                       "accepted" if submission is not None else "rejected",
                                       file_format=file_format, archive_path=f"{archive}#{file_hash}{suffix}",
                                       submission=submission, problems=problems,
                                       claimed_unit_code=claimed_unit, claimed_period=claimed_period)
                    if submission is None:
                        _quarantine(settings, outcome, PurePosixPath(path).name, content)
                    outcomes.append(outcome)
                batch = _count(load_id, outcomes)
                _write_raw(con, outcomes, batch, started_at)
                for name in ("files_new", "accepted", "rejected", "duplicates", "warnings"):
                    setattr(totals, name, getattr(totals, name) + getattr(batch, name))
        finally:
            if pool is not None:
                pool.shutdown()
        con.execute("insert into raw.load_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [load_id, started_at, datetime.now(UTC), settings.landing_url, totals.files_new,
                     totals.accepted, totals.rejected, totals.duplicates, CONTRACT_VERSION])
    return totals


def _count(load_id: str, outcomes: list[_Outcome]) -> IngestSummary:
    """The ledger of a batch; it must balance before anything is committed."""
    summary = IngestSummary(
        load_id=load_id,
        files_seen=len(outcomes),
        files_new=len(outcomes),
        accepted=sum(o.outcome == "accepted" for o in outcomes),
        rejected=sum(o.outcome == "rejected" for o in outcomes),
        duplicates=sum(o.outcome == "duplicate" for o in outcomes),
        warnings=sum(p.severity == "warning" for o in outcomes for p in o.problems),
    )
    if summary.accepted + summary.rejected + summary.duplicates != summary.files_new:
        raise LedgerImbalance(f"load {load_id}: {summary.files_new} new files but {summary.accepted} accepted + "
                              f"{summary.rejected} rejected + {summary.duplicates} duplicate")
    return summary


def _write_raw(con, outcomes: list[_Outcome], summary: IngestSummary, started_at: datetime) -> None:
    loaded_at = datetime.now(UTC)
    load_id = summary.load_id
    files, submissions, values, clubs, problems = [], [], [], [], []
    for o in outcomes:
        name = PurePosixPath(o.source_path).name
        errors = sum(p.severity == "error" for p in o.problems)
        files.append((o.file_hash, o.source_path, name, o.file_format, o.size, started_at, load_id,
                      o.outcome, o.duplicate_of, o.archive_path, errors, len(o.problems) - errors,
                      o.claimed_unit_code, o.claimed_period))
        for p in o.problems:
            problems.append((o.file_hash, load_id, p.code, p.severity, p.location.sheet, p.location.row,
                             p.location.column, p.message(name, "vi"), p.message(name, "en")))
        s = o.submission
        if s is None:
            continue
        submissions.append((o.file_hash, s.unit_code, s.period, s.submitted_at, s.reporter,
                            s.template_version, load_id, loaded_at, s.submitted_at.astimezone(VIETNAM_TIME).date()))
        values.extend((o.file_hash, *row) for row in s.values)
        clubs.extend((o.file_hash, *row) for row in s.clubs)

    tables = {
        "received_files": (files, ["file_hash", "source_path", "file_name", "file_format", "size_bytes",
                                   "received_at", "load_id", "outcome", "duplicate_of_hash", "archive_path",
                                   "error_count", "warning_count", "claimed_unit_code", "claimed_period"]),
        "submissions": (submissions, ["file_hash", "unit_code", "period", "submitted_at", "reporter",
                                      "template_version", "load_id", "loaded_at", "submitted_date_vn"]),
        "submission_values": (values, ["file_hash", "source_row", "indicator_code", "category", "value"]),
        "submission_clubs": (clubs, ["file_hash", "source_row", "club_id", "club_type", "club_name",
                                     "club_status", "members"]),
        "submission_problems": (problems, ["file_hash", "load_id", "reason_code", "severity", "sheet",
                                           "source_row", "source_column", "message_vi", "message_en"]),
    }
    con.execute("begin transaction")
    try:
        for table, (rows, columns) in tables.items():
            if rows:
                frame = pd.DataFrame.from_records(rows, columns=columns)
                con.register("incoming", frame)
                con.execute(f"insert into raw.{table} ({', '.join(columns)}) "
                            f"select {', '.join(columns)} from incoming")
                con.unregister("incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
