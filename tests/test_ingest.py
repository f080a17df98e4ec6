"""Ingestion over the generator's fault set: every file ends in its expected outcome, the ledger
balances, reruns change nothing, resubmissions become versions, and neither kill -9 nor two runs
at once lose or double a file."""

from __future__ import annotations

import csv
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import fsspec
import pytest

from qnwu_devtools.generator import EXPECTED_OUTCOMES_FILE, generate
from qnwu_warehouse.ingest import loader
from qnwu_warehouse.ingest.landing import Landing
from qnwu_warehouse.ingest.loader import ingest, read_archived
from qnwu_warehouse.settings import Settings


def _landing(data_dir: Path, **options) -> Path:
    landing = data_dir / "landing"
    generate(landing, **options)
    return landing


def _expected(landing: Path) -> dict[str, dict[str, str]]:
    with (landing / EXPECTED_OUTCOMES_FILE).open(encoding="utf-8") as handle:
        return {row["file_name"]: row for row in csv.DictReader(handle)}


def _query(settings: Settings, sql: str):
    with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _raw_counts(settings: Settings) -> dict[str, int]:
    tables = ("received_files", "submissions", "submission_values", "submission_clubs", "submission_problems", "load_runs")
    return {t: _query(settings, f"select count(*) from raw.{t}")[0][0] for t in tables}


def _ingest_process(data_dir: Path, run_id: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QNWU_")}
    environment["QNWU_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "qnwu_warehouse.cli", "ingest", "--run-id", run_id],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_consistent(settings: Settings) -> None:
    """No partial load: every raw row belongs to a ledgered file, every accepted file has its
    submission, and every finished run's ledger balances. A kill before the raw layer was created
    leaves a warehouse with no raw schema at all: nothing loaded, which is consistent too."""
    raw_tables = _query(settings, "select count(*) from duckdb_tables() where schema_name = 'raw'")[0][0]
    if raw_tables == 0:
        return
    orphans = _query(
        settings,
        """
        select
            (select count(*) from raw.submissions s where not exists
                (select 1 from raw.received_files f where f.file_hash = s.file_hash and f.outcome = 'accepted')),
            (select count(*) from raw.received_files f where f.outcome = 'accepted' and not exists
                (select 1 from raw.submissions s where s.file_hash = f.file_hash)),
            (select count(*) from raw.submission_values v where not exists
                (select 1 from raw.submissions s where s.file_hash = v.file_hash)),
            (select count(*) from raw.load_runs r where files_new <>
                (select count(*) from raw.received_files f where f.load_id = r.load_id))
    """,
    )[0]
    assert orphans == (0, 0, 0, 0)


def test_fault_set_outcomes_and_a_balanced_ledger(data_dir: Path):
    landing = _landing(data_dir, units=20, months=3, faults=True)
    settings = Settings.from_env()
    settings.ensure_data_dir()
    summary = ingest(settings, load_id="load-1")

    expected = _expected(landing)
    files = [p for p in landing.iterdir() if not p.name.startswith(".")]
    assert summary.files_new == len(files) == len(expected)
    assert summary.accepted + summary.rejected + summary.duplicates == summary.files_new
    ledger = dict(_query(settings, "select file_name, outcome from raw.received_files"))
    reasons = dict(
        _query(
            settings,
            """select f.file_name, list(p.reason_code) from raw.received_files f
                                       join raw.submission_problems p using (file_hash)
                                       where p.severity = 'error' group by all""",
        )
    )
    archived = dict(_query(settings, "select file_name, archive_path from raw.received_files where outcome <> 'duplicate'"))
    for name, archive_path in archived.items():
        assert read_archived(archive_path) == (landing / name).read_bytes(), name
    for name, row in expected.items():
        assert ledger[name] == row["expected_outcome"], name
        if row["reason_code"]:
            assert row["reason_code"] in reasons[name], (name, reasons.get(name))
    # rejected files sit in quarantine byte for byte, beside their reasons
    for name, outcome in ledger.items():
        if outcome == "rejected":
            file_hash = _query(settings, f"select file_hash from raw.received_files where file_name = '{name}'")[0][0]
            kept = [p for p in settings.quarantine_dir.glob(f"{file_hash}.*") if not p.name.endswith(".reasons.json")]
            assert kept and kept[0].read_bytes() == (landing / name).read_bytes()
            assert (settings.quarantine_dir / f"{file_hash}.reasons.json").exists()


def test_batches_and_worker_processes_give_the_same_ledger(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    _landing(data_dir, units=120, months=3, faults=True)
    monkeypatch.setenv("QNWU_INGEST_BATCH_SIZE", "250")
    monkeypatch.setenv("QNWU_INGEST_WORKERS", "2")
    settings = Settings.from_env()
    settings.ensure_data_dir()
    summary = ingest(settings, load_id="batched")
    _assert_consistent(settings)
    assert summary.files_new > 250  # two batches, the first big enough for the worker pool
    monkeypatch.setenv("QNWU_DATA_DIR", str(data_dir / "serial"))
    (data_dir / "serial").mkdir()
    monkeypatch.setenv("QNWU_LANDING_URL", str(data_dir / "landing"))
    monkeypatch.setenv("QNWU_INGEST_WORKERS", "1")
    monkeypatch.setenv("QNWU_INGEST_BATCH_SIZE", "100000")
    serial_settings = Settings.from_env()
    serial_settings.ensure_data_dir()
    serial = ingest(serial_settings, load_id="serial")
    assert (serial.accepted, serial.rejected, serial.duplicates) == (summary.accepted, summary.rejected, summary.duplicates)
    query = "select file_name, outcome from raw.received_files order by file_name"
    assert _query(settings, query) == _query(serial_settings, query)


def test_a_rerun_changes_nothing(data_dir: Path):
    _landing(data_dir, units=10, months=2, faults=True)
    settings = Settings.from_env()
    settings.ensure_data_dir()
    ingest(settings, load_id="first")
    before = _raw_counts(settings)
    again = ingest(settings, load_id="second")
    assert (again.files_new, again.accepted, again.rejected, again.duplicates) == (0, 0, 0, 0)
    after = _raw_counts(settings)
    assert after == {**before, "load_runs": before["load_runs"] + 1}


@pytest.mark.parametrize("original_left_the_landing_zone", [False, True])
def test_a_renamed_copy_sent_later_is_a_duplicate(data_dir: Path, original_left_the_landing_zone: bool):
    """Also when the original is no longer in the landing zone: the content is then known only from
    the ledger's hashes, not from the ledger rows of this run's paths."""
    landing = _landing(data_dir, units=5, months=1)
    settings = Settings.from_env()
    settings.ensure_data_dir()
    ingest(settings, load_id="first")
    original = sorted(p for p in landing.iterdir() if not p.name.startswith("."))[0]
    content = original.read_bytes()
    if original_left_the_landing_zone:
        original.unlink()
    (landing / f"gui lai {original.name}").write_bytes(content)
    (landing / f"gui lai lan nua {original.name}").write_bytes(content)  # and once more, in the same run
    later = ingest(settings, load_id="second")
    assert (later.files_new, later.duplicates, later.accepted) == (2, 2, 0)


def test_files_are_read_ahead_in_stretches_bounded_by_the_bytes_read(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """A batch is bounded by the sizes its listing declares, and a remote listing may declare none:
    the files read ahead (for one duplicate lookup per stretch) must still be bounded by the bytes
    actually read, not by the batch's 5,000 files of up to 10 MB each."""
    landing = _landing(data_dir, units=5, months=1)
    files = [p for p in landing.iterdir() if not p.name.startswith(".")]
    listed = Landing.scan

    def listing_without_sizes(self, settle_seconds):
        entries, skipped = listed(self, settle_seconds)
        return [dataclasses.replace(entry, size=None) for entry in entries], skipped

    monkeypatch.setattr(Landing, "scan", listing_without_sizes)
    monkeypatch.setattr(loader, "BATCH_BYTES", min(p.stat().st_size for p in files))  # each file fills a stretch
    looked_up: list[int] = []
    recall = loader._Ledger.recall_hashes

    def counting_recall(self, hashes):
        looked_up.append(len(hashes))
        recall(self, hashes)

    monkeypatch.setattr(loader._Ledger, "recall_hashes", counting_recall)
    settings = Settings.from_env()
    settings.ensure_data_dir()
    summary = ingest(settings, load_id="no-sizes")
    assert summary.files_new == len(files) and summary.accepted + summary.rejected == len(files)
    assert looked_up and max(looked_up) == 1, looked_up  # one file's bytes held at a time


def test_resubmissions_are_kept_as_versions(data_dir: Path):
    _landing(data_dir, units=40, months=3)
    settings = Settings.from_env()
    settings.ensure_data_dir()
    ingest(settings, load_id="load")
    versions = _query(
        settings,
        """select unit_code, period, count(*) from raw.submissions
                                   group by all having count(*) > 1""",
    )
    assert versions, "the generator's resubmissions should give some unit-months two versions"


def test_landing_zone_can_be_any_fsspec_url(data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    source = tmp_path / "source"
    generate(source, units=3, months=1)
    memory = fsspec.filesystem("memory")
    for path in source.iterdir():
        memory.pipe(f"/qnwu-landing/{path.name}", path.read_bytes())
    monkeypatch.setenv("QNWU_LANDING_URL", "memory://qnwu-landing")
    settings = Settings.from_env()
    settings.ensure_data_dir()
    summary = ingest(settings, load_id="from-memory")
    assert summary.accepted == 3 and summary.files_new == 3


def test_kill_9_leaves_no_partial_load_and_the_next_run_completes(data_dir: Path):
    landing = _landing(data_dir, units=177, months=2, faults=True)
    files = [p for p in landing.iterdir() if not p.name.startswith(".")]
    settings = Settings.from_env()
    kills = 0
    # The whole ingest takes about 1.8 s here (half of it imports): kills land before, during and
    # after the load transaction.
    for attempt, delay in enumerate((0.6, 0.9, 1.2, 1.4, 1.6)):
        process = _ingest_process(data_dir, f"killed-{attempt}")
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        if settings.working_warehouse.exists():
            _assert_consistent(settings)
    assert kills >= 1, "the ingest finished before any kill; raise the data size"
    done = _ingest_process(data_dir, "after-kills")
    assert done.wait(timeout=300) == 0, done.stderr.read()
    _assert_consistent(settings)
    ledger = _query(settings, "select source_path, count(*) from raw.received_files group by all")
    assert len(ledger) == len(files) and {count for _, count in ledger} == {1}


def test_two_runs_at_once_account_for_each_file_once(data_dir: Path):
    landing = _landing(data_dir, units=60, months=2, faults=True)
    files = [p for p in landing.iterdir() if not p.name.startswith(".")]
    first, second = _ingest_process(data_dir, "run-a"), _ingest_process(data_dir, "run-b")
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.wait(timeout=300) == 0, second.stderr.read()
    settings = Settings.from_env()
    _assert_consistent(settings)
    ledger = _query(settings, "select source_path, count(*) from raw.received_files group by all")
    assert len(ledger) == len(files) and {count for _, count in ledger} == {1}
    per_run = dict(_query(settings, "select load_id, files_new from raw.load_runs"))
    assert sorted(per_run.values()) == [0, len(files)]  # one did the work, the other waited and found none
