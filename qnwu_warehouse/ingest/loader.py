"""Ingestion: landing zone -> raw tables, keeping every byte and accounting for every file.

Every file found in the landing zone is recognised by the SHA-256 of its content, never by its
name: a renamed or re-sent copy is a duplicate, not a new report. Each new file is archived byte
for byte, read, checked against the contract and recorded exactly once in the ledger
(``raw.received_files``) as accepted, rejected or duplicate. A submission with any error is
rejected whole and its file is kept in quarantine with its reasons. Everything a run writes to
the raw layer is committed in one transaction, so a crash leaves the raw layer as it was and
the next run picks the same files up again.

Nothing a file holds can stop the run: each file is read and checked in a worker process with a
memory and a time limit (isolation.py), the landing zone is listed without following links or
trusting names (landing.py), and every entry ends as a ledger row or a recorded skip reason.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

import pandas as pd

from qnwu_warehouse.contract.reference import load_reference
from qnwu_warehouse.contract.rules import CONTRACT_VERSION, VIETNAM_TIME, Location, Problem, day_in_vietnam
from qnwu_warehouse.ingest.isolation import Examined, IsolatedExaminer, Job, WorkerLimits
from qnwu_warehouse.ingest.landing import (
    SKIP_STILL_ARRIVING,
    SKIP_VANISHED,
    ChangedWhileReading,
    Entry,
    Landing,
    NotRegularFile,
    Skipped,
)
from qnwu_warehouse.settings import Settings, path_safe
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
create table if not exists raw.skipped_entries (
    source_path varchar, reason varchar, first_seen_at timestamptz, last_seen_at timestamptz,
    last_load_id varchar, primary key (source_path, reason)
);
-- columns added after the first release: a raw layer made by it gains them in place
alter table raw.received_files add column if not exists source_changed_ns bigint;
alter table raw.load_runs add column if not exists status varchar;
alter table raw.load_runs add column if not exists files_skipped integer;
-- contract version 2: the unit said it has no clubs (an empty register) or no values at all;
-- null in rows loaded before, which is what false means (version 1 had no way to say it)
alter table raw.submissions add column if not exists clubs_declared_none boolean;
alter table raw.submissions add column if not exists values_declared_none boolean;
"""


# A batch is committed when it holds this many files or this many bytes of them, whichever comes
# first: memory stays bounded whatever the landing holds.
BATCH_BYTES = 64 * 2**20
# How much write-ahead log a run lets grow before DuckDB checkpoints by itself (see ingest()).
INGEST_CHECKPOINT_THRESHOLD = "256MB"


class LedgerImbalance(Exception):
    """Files went in that did not come out as accepted, rejected or duplicate."""


@dataclass
class IngestSummary:
    load_id: str
    files_seen: int  # entries in the landing zone
    files_new: int  # entries this run gave a ledger row
    accepted: int
    rejected: int
    duplicates: int
    warnings: int
    skipped: int = 0  # entries not read this run, each with a reason (raw.skipped_entries)
    already_accounted: int = 0  # entries an earlier run already gave a ledger row

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Outcome:
    file_hash: str
    source_path: str  # relative to the landing root
    size: int
    outcome: str
    file_format: str | None = None
    duplicate_of: str | None = None
    archive_path: str | None = None  # relative to the data directory: '<zip>#<member>'
    submission: object = None
    problems: tuple[Problem, ...] = ()
    # What the file says it is, even when it is rejected: feedback must reach the right unit.
    claimed_unit_code: str | None = None
    claimed_period: str | None = None
    source_changed_ns: int | None = None


def _examiner(settings: Settings) -> IsolatedExaminer:
    return IsolatedExaminer(
        settings.ingest_workers,
        settings.seeds_dir,
        settings.limits,
        WorkerLimits(settings.ingest_file_memory_mb * 2**20, settings.ingest_file_seconds),
    )


class _BatchArchive:
    """Every new file of a batch, byte for byte, in one zip named after the load, made durable
    before the batch is committed. One file per batch, not per submission: creating thousands of
    small files costs more than reading them. A crash before the commit leaves an unreferenced
    partial zip, removed by the next run."""

    def __init__(self, settings: Settings, load_id: str, batch_number: int):
        self.data_dir = settings.data_dir
        folder = settings.archive_dir / path_safe(load_id)
        folder.mkdir(parents=True, exist_ok=True)
        self.target = folder / f"batch-{batch_number:05d}.zip"
        self.partial = self.target.with_suffix(".zip.partial")
        self.zip = zipfile.ZipFile(self.partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.members: set[str] = set()

    def _path(self, member: str) -> str:
        return f"{self.target.relative_to(self.data_dir).as_posix()}#{member}"

    def add(self, file_hash: str, name: str, content: bytes) -> str:
        member = f"{file_hash}{_suffix(name)}"
        if member not in self.members:
            self.zip.writestr(member, content)
            self.members.add(member)
        return self._path(member)

    def finish(self) -> None:
        self.zip.close()
        with self.partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.partial, self.target)


def _suffix(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


def read_archived(archive_path: str, settings: Settings | None = None) -> bytes:
    """The bytes of a received file from its ledger entry's archive_path ('<zip>#<member>'), which is
    relative to the data directory (older ledgers hold absolute paths)."""
    zip_path, member = archive_path.split("#", 1)
    path = Path(zip_path)
    if not path.is_absolute():
        path = (settings or Settings.from_env()).data_dir / path
    with zipfile.ZipFile(path) as archive:
        return archive.read(member)


def _quarantine(settings: Settings, outcome: Outcome, content: bytes | None) -> None:
    """A rejected file sits in quarantine byte for byte, beside the reasons it was refused. A file
    never read (a link, a special file, one over the size limit) has its reasons only: its bytes,
    where it had any to keep, are in the archive."""
    name = PurePosixPath(outcome.source_path).name
    stem = settings.quarantine_dir / outcome.file_hash
    if content is not None:
        stem.with_name(stem.name + (_suffix(name) or ".bin")).write_bytes(content)
    reasons = [
        {
            "reason_code": p.code,
            "severity": p.severity,
            "message_vi": p.message(name, "vi"),
            "message_en": p.message(name, "en"),
        }
        for p in outcome.problems
    ]
    stem.with_name(stem.name + ".reasons.json").write_text(
        json.dumps(
            {"source_path": outcome.source_path, "archive_path": outcome.archive_path, "reasons": reasons},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )


def _not_read(entry: Entry, code: str, detail: str) -> Outcome:
    """The ledger row of an entry that is never read (a link, a special file, a file over the size
    limit): its hash is of what it is, so a rerun recognises it, and it cannot collide with a
    file's content hash."""
    identity = f"{code}\0{entry.relative}\0{entry.link_target or ''}\0{entry.size}\0{entry.changed_ns}".encode(
        "utf-8", "surrogateescape"
    )
    return Outcome(
        "entry:" + hashlib.sha256(identity).hexdigest(),
        entry.relative,
        0,
        "rejected",
        problems=(Problem(code, Location("(file)"), detail),),
        source_changed_ns=entry.changed_ns,
    )


class _Ledger:
    """What earlier runs recorded, to give each entry of this run its outcome exactly once.

    Only the ledger rows of this run's paths are read (and those written with absolute paths by
    older releases), not the whole ledger: on five years (605,000 files) reading every row into
    Python took 3.7 s of a new month's ingest, and grew with every month. Duplicate content is
    looked up by hash over the whole ledger, once per batch for the hashes of that batch
    (recall_hashes): reading every hash of five years into a set took 1.3-2.0 s more."""

    def __init__(self, con, landing: Landing, entries: list[Entry]):
        self.con = con
        self.receipts: set[str] = set()  # "path|hash"
        self.stamps: set[tuple[str, int, int]] = set()  # (path, size, changed_ns): known without reading
        self.hashes: set[str] = set()  # contents received: by earlier runs (as recalled) or this one
        absolute_prefix = landing.root.rstrip("/") + "/"
        for path, file_hash, size, changed_ns in con.execute(
            "select source_path, file_hash, size_bytes, source_changed_ns from raw.received_files "
            "where source_path in (select unnest(?::varchar[])) or starts_with(source_path, ?)",
            [[entry.relative for entry in entries], absolute_prefix],
        ).fetchall():
            relative = landing.relative(path)  # older ledgers hold absolute paths
            self.receipts.add(f"{relative}|{file_hash}")
            self.hashes.add(file_hash)
            if changed_ns is not None:
                self.stamps.add((relative, size, changed_ns))

    def recall_hashes(self, hashes: set[str]) -> None:
        """Learn which of these contents an earlier run received (one scan of the ledger's hashes)."""
        unknown = sorted(hashes - self.hashes)
        if unknown:
            self.hashes.update(
                row[0]
                for row in self.con.execute(
                    "select distinct file_hash from raw.received_files where file_hash in (select unnest(?::varchar[]))",
                    [unknown],
                ).fetchall()
            )

    def knows_unread(self, entry: Entry) -> bool:
        return entry.changed_ns is not None and (entry.relative, entry.size, entry.changed_ns) in self.stamps

    def first_receipt(self, relative: str, file_hash: str) -> bool:
        key = f"{relative}|{file_hash}"
        if key in self.receipts:
            return False
        self.receipts.add(key)
        return True


def ingest(settings: Settings, load_id: str, today: date | None = None) -> IngestSummary:
    """Pull every new file from the landing zone into the raw layer; returns the ledger counts.

    Files go through in batches; each batch is archived and then committed in one transaction
    (its ledger rows, submissions, values and problems together), so a crash loses at most the
    batch in flight, never half of a submission, and the next run picks its files up again.
    """
    settings.ensure_data_dir()
    settings.ensure_landing()
    today = today or day_in_vietnam()  # the union's month decides what is in the future, not the machine's zone
    landing = Landing(settings.landing_url)
    entries, skipped = landing.scan(settings.landing_settle_seconds)
    totals = IngestSummary(
        load_id=load_id,
        files_seen=len(entries) + len(skipped),
        files_new=0,
        accepted=0,
        rejected=0,
        duplicates=0,
        warnings=0,
    )
    load_reference(settings.seeds_dir)  # a broken seed fails here, once, not in every worker
    # the workers start with the first file to examine (none on a rerun with nothing new)
    examiner = _examiner(settings)
    started_at = datetime.now(UTC)
    try:
        with working_connection(settings) as con:
            # Each batch's commit is durable in the write-ahead log. DuckDB folds the log into the
            # file (a checkpoint) whenever it passes 16 MB, and on five years of raw a checkpoint
            # rewrites the primary-key index of raw.submissions: a national month's three batch
            # commits took 1.11, 1.17 and 0.39 s, against 0.34, 0.26 and 0.34 s without them plus
            # 0.32 s for one checkpoint at the end (docs/benchmarks.md). So: one checkpoint at the
            # end; a full load still checkpoints every 256 MB of log, which bounds the memory that
            # rows not yet checkpointed hold.
            con.execute(f"set checkpoint_threshold = '{INGEST_CHECKPOINT_THRESHOLD}'")
            # One transaction, so a crash while creating the raw layer leaves all of it or none of it.
            con.execute("begin transaction")
            con.execute(RAW_DDL)
            con.execute("commit")
            _close_interrupted_loads(con)
            _remove_partial_archives(settings)
            con.execute(
                "insert into raw.load_runs (load_id, started_at, landing_url, contract_version, status) "
                "values (?, ?, ?, ?, 'running') on conflict (load_id) do update set status = 'running'",
                [load_id, started_at, settings.landing_url, CONTRACT_VERSION],
            )
            ledger = _Ledger(con, landing, entries)
            for batch_number, batch in enumerate(_batches(entries, settings.ingest_batch_size)):
                outcomes = _ingest_batch(
                    settings, landing, ledger, examiner, load_id, batch_number, batch, today, started_at, skipped
                )
                if not outcomes:
                    continue
                counted = count_outcomes(load_id, outcomes)
                write_raw(con, outcomes, counted, started_at)
                for name in ("files_new", "accepted", "rejected", "duplicates", "warnings"):
                    setattr(totals, name, getattr(totals, name) + getattr(counted, name))
            totals.skipped = len(skipped)
            totals.already_accounted = totals.files_seen - totals.files_new - totals.skipped
            _record_skipped(con, skipped, load_id, started_at)
            con.execute(
                """update raw.load_runs set finished_at = ?, status = 'finished', files_skipped = ?
                           where load_id = ?""",
                [datetime.now(UTC), totals.skipped, load_id],
            )
            _update_load_counts(con, load_id)
            con.execute("checkpoint")
    finally:
        examiner.close()
    return totals


def _batches(entries: list[Entry], batch_files: int):
    batch, size = [], 0
    for entry in entries:
        batch.append(entry)
        size += entry.size or 0
        if len(batch) >= batch_files or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _ingest_batch(
    settings: Settings,
    landing: Landing,
    ledger: _Ledger,
    examiner: IsolatedExaminer,
    load_id: str,
    batch_number: int,
    batch: list[Entry],
    today: date,
    received_at: datetime,
    skipped: list[Skipped],
) -> list[Outcome]:
    """Read, archive and examine one batch of entries; returns their outcomes (nothing committed)."""
    outcomes: list[Outcome] = []
    archive: _BatchArchive | None = None
    pending: dict[int, tuple[Outcome, bytes]] = {}  # files sent to the examiners, by job key
    pending_keys: list[int] = []
    limits = settings.limits

    def batch_archive() -> _BatchArchive:
        nonlocal archive
        if archive is None:
            archive = _BatchArchive(settings, load_id, batch_number)
        return archive

    def read_ahead():
        """(entry, what reading it gave; None: not to be read) for each entry of the batch, in order.
        Files are read and hashed ahead, and the ledger is asked once per stretch which of those
        contents an earlier run received. A stretch ends at BATCH_BYTES of bytes actually read: a
        batch is bounded by the sizes its listing declared, and a remote listing may declare none."""
        stretch: collections.deque[tuple[Entry, _Read | None]] = collections.deque()
        held = 0
        for entry in batch:
            got = None
            if entry.kind not in ("link", "special") and not ledger.knows_unread(entry):
                try:
                    content = landing.read(entry, limits.max_file_bytes)
                except (ChangedWhileReading, NotRegularFile, OSError) as error:  # FileNotFoundError is an OSError
                    got = _Read(error=error)
                else:
                    got = _Read(content, None if content is None else hashlib.sha256(content).hexdigest())
                    held += len(content or b"")
            stretch.append((entry, got))
            if held >= BATCH_BYTES:
                yield from recalled(stretch)
                held = 0
        yield from recalled(stretch)

    def recalled(stretch):
        """The stretch's entries, once the ledger has recalled their hashes; each is let go as it is
        handed on, so an examined file's bytes are not kept to the stretch's end."""
        ledger.recall_hashes({got.file_hash for _, got in stretch if got is not None and got.file_hash is not None})
        while stretch:
            yield stretch.popleft()

    def jobs():
        """The batch's files to examine, one by one: the examiners pull from here as they go.
        Entries that need no examining get their outcome on the way."""
        for entry, got in read_ahead():
            if entry.kind == "link":
                # the detail names the entry, not where it points: a message may reach the sender
                outcome = _not_read(entry, "FILE_IS_LINK", entry.relative)
            elif entry.kind == "special":
                outcome = _not_read(entry, "FILE_NOT_REGULAR", entry.relative)
            elif got is None:
                continue  # this very file (path, size, change time) was accounted for by an earlier run
            elif isinstance(got.error, ChangedWhileReading):
                skipped.append(Skipped(entry.relative, SKIP_STILL_ARRIVING))
                continue
            elif isinstance(got.error, NotRegularFile):
                outcome = _not_read(entry, "FILE_NOT_REGULAR", entry.relative)
            elif isinstance(got.error, FileNotFoundError):
                skipped.append(Skipped(entry.relative, SKIP_VANISHED))
                continue
            elif got.error is not None:
                outcome = _not_read(entry, "FILE_UNREADABLE", got.error.strerror or type(got.error).__name__)
            else:
                outcome = _received_file(ledger, entry, got, limits.max_file_bytes, batch_archive)
                if outcome is None:
                    continue
                if outcome.outcome == "examine":
                    key = len(pending_keys)
                    pending_keys.append(key)
                    pending[key] = (outcome, got.content)
                    yield Job(key, entry.name, got.content, received_at, today)
                    continue
                if outcome.outcome == "rejected":
                    _quarantine(settings, outcome, None)
                outcomes.append(outcome)
                continue
            if ledger.first_receipt(outcome.source_path, outcome.file_hash):
                _quarantine(settings, outcome, None)
                outcomes.append(outcome)

    sender_check = None
    for key, examined in examiner.examine_all(jobs()):
        outcome, content = pending.pop(key)
        _apply(outcome, examined)
        if outcome.outcome == "accepted" and outcome.source_path.startswith("mailbox/"):
            # a report that came by mail: its sender must be registered for its unit (mailbox/senders.py)
            from qnwu_warehouse.mailbox.senders import SenderCheck

            sender_check = sender_check or SenderCheck(settings)
            sender_check.apply(outcome)
        if outcome.outcome == "rejected":
            _quarantine(settings, outcome, content)
        outcomes.append(outcome)
    if archive is not None:
        archive.finish()
    return outcomes


@dataclass
class _Read:
    """An entry read from the landing zone: its bytes and their hash (None: over the size limit), or
    the error reading it raised."""

    content: bytes | None = None
    file_hash: str | None = None
    error: Exception | None = None


def _received_file(ledger: _Ledger, entry: Entry, got: _Read, max_bytes: int, batch_archive) -> Outcome | None:
    """The outcome of a file that was read (or found too large): None when an earlier run already
    answered it, "duplicate", "rejected" (too large), or "examine" (to be read and checked)."""
    content, file_hash = got.content, got.file_hash
    if content is None:
        # Over the size limit: neither read nor kept. Hashing or archiving it would let any sender
        # spend the server's time and disk at will (a sparse file can claim terabytes); it is
        # rejected as what it is, by path, size and change time, like an entry that is never read.
        outcome = _not_read(entry, "FILE_TOO_LARGE", f"{entry.size or 0:,} bytes > {max_bytes:,}")
        outcome.size = entry.size or 0
        return outcome if ledger.first_receipt(outcome.source_path, outcome.file_hash) else None
    if not ledger.first_receipt(entry.relative, file_hash):
        return None
    if file_hash in ledger.hashes:
        return Outcome(
            file_hash, entry.relative, len(content), "duplicate", duplicate_of=file_hash, source_changed_ns=entry.mtime_ns
        )
    ledger.hashes.add(file_hash)
    archive_path = batch_archive().add(file_hash, entry.name, content)
    return Outcome(
        file_hash, entry.relative, len(content), "examine", archive_path=archive_path, source_changed_ns=entry.mtime_ns
    )


def _apply(outcome: Outcome, examined: Examined) -> None:
    outcome.outcome = "accepted" if examined.submission is not None else "rejected"
    outcome.file_format = examined.file_format
    outcome.submission = examined.submission
    outcome.problems = examined.problems
    outcome.claimed_unit_code = examined.claimed_unit_code
    outcome.claimed_period = examined.claimed_period


def _close_interrupted_loads(con) -> None:
    """A load killed mid-way left committed batches behind: give it its load_runs row (status
    'interrupted', counts from its ledger rows). Under the writer lock no other load is running,
    so a row still 'running' is such a load too."""
    con.execute("""insert into raw.load_runs (load_id, started_at, landing_url, contract_version, status)
        select load_id, min(received_at), null, null, 'running' from raw.received_files
        where load_id not in (select load_id from raw.load_runs) group by load_id""")
    for (load_id,) in con.execute(
        "select load_id from raw.load_runs where status is null and finished_at is null or status = 'running'"
    ).fetchall():
        con.execute("update raw.load_runs set status = 'interrupted' where load_id = ?", [load_id])
        _update_load_counts(con, load_id)


def _update_load_counts(con, load_id: str) -> None:
    """A load's counts, from its ledger rows: right even for a load that was killed mid-way."""
    con.execute(
        """update raw.load_runs set
            files_new = counts.files_new, files_accepted = counts.accepted, files_rejected = counts.rejected,
            files_duplicate = counts.duplicates
        from (select count(*) as files_new, count(*) filter (where outcome = 'accepted') as accepted,
                     count(*) filter (where outcome = 'rejected') as rejected,
                     count(*) filter (where outcome = 'duplicate') as duplicates
              from raw.received_files where load_id = ?) as counts
        where raw.load_runs.load_id = ?""",
        [load_id, load_id],
    )


def _remove_partial_archives(settings: Settings) -> None:
    """Archives of batches that never committed (the run was killed): nothing refers to them."""
    for leftover in settings.archive_dir.glob("*/*.partial*"):
        leftover.unlink(missing_ok=True)


def _record_skipped(con, skipped: list[Skipped], load_id: str, seen_at: datetime) -> None:
    rows = {(entry.relative, entry.reason) for entry in skipped}
    if not rows:
        return
    frame = pd.DataFrame.from_records(sorted(rows), columns=["source_path", "reason"])
    con.register("skipped_now", frame)
    con.execute(
        """insert into raw.skipped_entries
        select source_path, reason, ?, ?, ? from skipped_now
        on conflict (source_path, reason) do update set last_seen_at = excluded.last_seen_at,
            last_load_id = excluded.last_load_id""",
        [seen_at, seen_at, load_id],
    )
    con.unregister("skipped_now")


def count_outcomes(load_id: str, outcomes: list[Outcome]) -> IngestSummary:
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
        raise LedgerImbalance(
            f"load {load_id}: {summary.files_new} new files but {summary.accepted} accepted + "
            f"{summary.rejected} rejected + {summary.duplicates} duplicate"
        )
    return summary


def write_raw(con, outcomes: list[Outcome], summary: IngestSummary, started_at: datetime) -> None:
    loaded_at = datetime.now(UTC)
    load_id = summary.load_id
    files, submissions, values, clubs, problems = [], [], [], [], []
    for o in outcomes:
        name = PurePosixPath(o.source_path).name
        errors = sum(p.severity == "error" for p in o.problems)
        files.append(
            (
                o.file_hash,
                o.source_path,
                name,
                o.file_format,
                o.size,
                started_at,
                load_id,
                o.outcome,
                o.duplicate_of,
                o.archive_path,
                errors,
                len(o.problems) - errors,
                o.claimed_unit_code,
                o.claimed_period,
                o.source_changed_ns,
            )
        )
        for p in o.problems:
            problems.append(
                (
                    o.file_hash,
                    load_id,
                    p.code,
                    p.severity,
                    p.location.sheet,
                    p.location.row,
                    p.location.column,
                    p.message(name, "vi"),
                    p.message(name, "en"),
                )
            )
        s = o.submission
        if s is None:
            continue
        submissions.append(
            (
                o.file_hash,
                s.unit_code,
                s.period,
                s.submitted_at,
                s.reporter,
                s.template_version,
                load_id,
                loaded_at,
                s.submitted_at.astimezone(VIETNAM_TIME).date(),
                "clubs" in s.sections_declared_none,
                "values" in s.sections_declared_none,
            )
        )
        values.extend((o.file_hash, *row) for row in s.values)
        clubs.extend((o.file_hash, *row) for row in s.clubs)

    tables = {
        "received_files": (
            files,
            [
                "file_hash",
                "source_path",
                "file_name",
                "file_format",
                "size_bytes",
                "received_at",
                "load_id",
                "outcome",
                "duplicate_of_hash",
                "archive_path",
                "error_count",
                "warning_count",
                "claimed_unit_code",
                "claimed_period",
                "source_changed_ns",
            ],
        ),
        "submissions": (
            submissions,
            [
                "file_hash",
                "unit_code",
                "period",
                "submitted_at",
                "reporter",
                "template_version",
                "load_id",
                "loaded_at",
                "submitted_date_vn",
                "clubs_declared_none",
                "values_declared_none",
            ],
        ),
        "submission_values": (values, ["file_hash", "source_row", "indicator_code", "category", "value"]),
        "submission_clubs": (
            clubs,
            ["file_hash", "source_row", "club_id", "club_type", "club_name", "club_status", "members"],
        ),
        "submission_problems": (
            problems,
            [
                "file_hash",
                "load_id",
                "reason_code",
                "severity",
                "sheet",
                "source_row",
                "source_column",
                "message_vi",
                "message_en",
            ],
        ),
    }
    con.execute("begin transaction")
    try:
        for table, (rows, columns) in tables.items():
            if rows:
                frame = pd.DataFrame.from_records(rows, columns=columns)
                con.register("incoming", frame)
                con.execute(f"insert into raw.{table} ({', '.join(columns)}) select {', '.join(columns)} from incoming")
                con.unregister("incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
