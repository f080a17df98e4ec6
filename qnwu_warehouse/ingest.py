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
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

import fsspec
import pandas as pd

from qnwu_warehouse.contract import CONTRACT_VERSION, Problem, UnreadableFile, clean_text, parse_period, validate
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
    reporter varchar, template_version varchar, load_id varchar, loaded_at timestamptz
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


def _archive(settings: Settings, file_hash: str, name: str, content: bytes) -> Path:
    """Content-addressed copy: writing it twice is harmless, so a rerun after a crash is safe."""
    target = settings.archive_dir / file_hash[:2] / f"{file_hash}{PurePosixPath(name).suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        partial.write_bytes(content)
        os.replace(partial, target)
    return target


def _quarantine(settings: Settings, outcome: _Outcome, name: str) -> None:
    """A rejected file sits in quarantine byte for byte, beside the reasons it was refused."""
    stem = settings.quarantine_dir / outcome.file_hash
    shutil.copyfile(outcome.archive_path, stem.with_suffix(PurePosixPath(name).suffix.lower() or ".bin"))
    reasons = [{"reason_code": p.code, "severity": p.severity, "message_vi": p.message(name, "vi"),
                "message_en": p.message(name, "en")} for p in outcome.problems]
    stem.with_suffix(".reasons.json").write_text(
        json.dumps({"source_path": outcome.source_path, "reasons": reasons}, ensure_ascii=False, indent=1),
        encoding="utf-8")


def ingest(settings: Settings, load_id: str, today: date | None = None) -> IngestSummary:
    """Pull every new file from the landing zone into the raw layer; returns the ledger counts."""
    settings.ensure_landing()
    today = today or date.today()
    reference = load_reference()
    started_at = datetime.now(UTC)
    fs, paths = _landing_files(settings)

    with working_connection(settings) as con:
        con.execute(RAW_DDL)
        seen = set(con.execute("select source_path || '|' || file_hash from raw.received_files").fetchall())
        seen = {row[0] for row in seen}
        known_hashes = {row[0] for row in con.execute("select distinct file_hash from raw.received_files")
                        .fetchall()}

        outcomes: list[_Outcome] = []
        for path in paths:
            content = fs.cat_file(path)
            file_hash = hashlib.sha256(content).hexdigest()
            if f"{path}|{file_hash}" in seen:
                continue  # this very file was accounted for by an earlier run
            seen.add(f"{path}|{file_hash}")
            if file_hash in known_hashes:
                outcomes.append(_Outcome(file_hash, path, len(content), "duplicate", duplicate_of=file_hash))
                continue
            known_hashes.add(file_hash)
            name = PurePosixPath(path).name
            outcome = _Outcome(file_hash, path, len(content), "rejected",
                               archive_path=str(_archive(settings, file_hash, name, content)))
            try:
                outcome.file_format, document = read_document(name, content)
                outcome.claimed_unit_code = clean_text(document.header.get("unit_code", ("",))[0]) or None
                claimed_period = parse_period(document.header.get("period", ("",))[0])
                outcome.claimed_period = claimed_period.strftime("%Y-%m") if claimed_period else None
                outcome.submission, problems = validate(document, reference, today)
                outcome.problems = tuple(problems)
            except UnreadableFile as unreadable:
                outcome.problems = (unreadable.problem,)
            if outcome.submission is not None:
                outcome.outcome = "accepted"
            else:
                _quarantine(settings, outcome, name)
            outcomes.append(outcome)

        summary = IngestSummary(
            load_id=load_id,
            files_seen=len(paths),
            files_new=len(outcomes),
            accepted=sum(o.outcome == "accepted" for o in outcomes),
            rejected=sum(o.outcome == "rejected" for o in outcomes),
            duplicates=sum(o.outcome == "duplicate" for o in outcomes),
            warnings=sum(p.severity == "warning" for o in outcomes for p in o.problems),
        )
        if summary.accepted + summary.rejected + summary.duplicates != summary.files_new:
            raise LedgerImbalance(f"load {load_id}: {summary.files_new} new files but "
                                  f"{summary.accepted} accepted + {summary.rejected} rejected + "
                                  f"{summary.duplicates} duplicate")
        _write_raw(con, outcomes, summary, settings, started_at)
    return summary


def _write_raw(con, outcomes: list[_Outcome], summary: IngestSummary, settings: Settings,
               started_at: datetime) -> None:
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
                            s.template_version, load_id, loaded_at))
        values.extend((o.file_hash, *row) for row in s.values)
        clubs.extend((o.file_hash, *row) for row in s.clubs)

    tables = {
        "received_files": (files, ["file_hash", "source_path", "file_name", "file_format", "size_bytes",
                                   "received_at", "load_id", "outcome", "duplicate_of_hash", "archive_path",
                                   "error_count", "warning_count", "claimed_unit_code", "claimed_period"]),
        "submissions": (submissions, ["file_hash", "unit_code", "period", "submitted_at", "reporter",
                                      "template_version", "load_id", "loaded_at"]),
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
        con.execute("insert into raw.load_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [load_id, started_at, datetime.now(UTC), settings.landing_url, summary.files_new,
                     summary.accepted, summary.rejected, summary.duplicates, CONTRACT_VERSION])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
