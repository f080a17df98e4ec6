"""No file can stop the pipeline (issue 12): every class of hostile entry found by the hostile-sender
audit gets its own outcome, with a reason, and everything valid beside it still loads.

Each class below failed before the fix in one of these ways: ingest crashed before committing
anything (numbers beyond 64 bits, deep JSON, a CSV field over the csv limit, an XLSX cell at the
sheet's last address, a dangling link, a link to a folder); a link was followed out of the landing;
an ambiguous file was resolved last-wins; a hidden file left no trace; a file still being copied
was accepted as complete; a moved data directory made every file a duplicate of itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from hostile_files import VALID_UNIT, build, report

from qnwu_warehouse.contract.files import write_json, write_xlsx
from qnwu_warehouse.contract.limits import Limits
from qnwu_warehouse.ingest.isolation import Examined, IsolatedExaminer, Job, WorkerLimits, examine
from qnwu_warehouse.ingest.loader import ingest, read_archived
from qnwu_warehouse.settings import SEEDS_DIR, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def _query(settings: Settings, sql: str, parameters=None):
    with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()


def _cli_ingest(data_dir: Path, landing: Path, run_id: str, **environment: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QNWU_")}
    env.update(QNWU_DATA_DIR=str(data_dir), QNWU_LANDING_URL=str(landing), QNWU_LANDING_SETTLE_SECONDS="0", **environment)
    return subprocess.run(
        [sys.executable, "-m", "qnwu_warehouse.cli", "ingest", "--run-id", run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, Path, dict, dict, Settings]:
    """One `qnwu ingest` over a landing holding every hostile class beside valid reports."""
    root = tmp_path_factory.mktemp("hostile")
    landing, data_dir = root / "landing", root / "data"
    data_dir.mkdir()
    expected = build(landing, root / "outside")
    done = _cli_ingest(data_dir, landing, "hostile-1", QNWU_MAX_FILE_BYTES="1000000")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    settings = replace(Settings.from_env(), data_dir=data_dir, landing_url=str(landing))
    return landing, data_dir, expected, summary, settings


def test_one_ingest_over_every_hostile_class_exits_0_and_balances(hostile_run):
    landing, _, expected, summary, _ = hostile_run
    entries = len(expected)
    assert summary["files_seen"] == entries
    assert summary["accepted"] + summary["rejected"] + summary["duplicates"] + summary["skipped"] == entries
    assert summary["files_new"] == summary["accepted"] + summary["rejected"] + summary["duplicates"]
    assert summary["accepted"] == sum(e.outcome == "accepted" for e in expected.values()) == 4


def test_every_entry_gets_its_outcome_and_reason(hostile_run):
    _, _, expected, _, settings = hostile_run
    ledger = {
        path: (outcome, reasons)
        for path, outcome, reasons in _query(
            settings,
            """
        select f.source_path, f.outcome, list(distinct p.reason_code order by p.reason_code)
        from raw.received_files f left join raw.submission_problems p using (file_hash) group by all""",
        )
    }
    skipped = {path: reason for path, reason in _query(settings, "select source_path, reason from raw.skipped_entries")}
    wrong = {}
    for name, want in expected.items():
        if want.outcome == "skipped":
            got = ("skipped", [skipped.get(name)]) if name in skipped else ledger.get(name)
        else:
            got = ledger.get(name)
        reasons = [r for r in (got[1] if got else []) if r is not None]
        if got is None or got[0] != want.outcome or (want.reason and want.reason not in reasons):
            wrong[name] = (want, got)
    assert wrong == {}


def test_valid_reports_beside_hostile_ones_are_loaded(hostile_run):
    _, _, _, _, settings = hostile_run
    loaded = _query(settings, "select unit_code, period from raw.submissions order by 1, 2")
    assert loaded == [(VALID_UNIT, "2023-01"), (VALID_UNIT, "2023-02"), ("06655", "2023-01"), ("06655", "2023-03")]
    values = _query(settings, "select count(*) from raw.submission_values")[0][0]
    assert values == 8


def test_links_are_never_followed(hostile_run):
    """Nothing of the secret a link pointed to reached the archive or quarantine, and the report
    outside the landing that a link pointed to was not loaded."""
    _, data_dir, _, _, settings = hostile_run
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix in (".zip", ".csv", ".json", ".bin", ".xlsx"):
            assert b"root:x:0:0" not in path.read_bytes(), path
    assert _query(settings, "select count(*) from raw.submissions where period in ('2024-02', '2024-03')")[0][0] == 0
    # and the letter to the sender names the entry, not the server path the link points to
    outside = str(settings.local_landing_path.parent / "outside")
    leaks = _query(settings, "select count(*) from raw.submission_problems where contains(message_en, ?)", [outside])
    assert leaks == [(0,)]


def test_messages_are_bounded_and_say_what_to_do(hostile_run):
    _, _, _, _, settings = hostile_run
    many = _query(
        settings,
        """select count(*), max(length(message_vi)), max(length(message_en))
        from raw.submission_problems p join raw.received_files f using (file_hash)
        where f.source_path = 'many_problems.csv'""",
    )[0]
    assert many[0] == 50  # 49 problems and one line counting the other 2,951
    assert many[1] < 400 and many[2] < 400
    (truncated,) = _query(
        settings, "select message_en from raw.submission_problems where reason_code = 'PROBLEMS_TRUNCATED'"
    )[0]
    assert "2,951 more problems" in truncated.replace("2951", "2,951") or "2951 more problems" in truncated
    (utf16,) = _query(
        settings,
        "select message_en from raw.submission_problems p join raw.received_files f "
        "using (file_hash) where f.source_path = 'utf16.csv'",
    )[0]
    assert "UTF-16" in utf16 and "CSV UTF-8" in utf16
    longest = _query(settings, "select max(length(message_en)) from raw.submission_problems")[0][0]
    assert longest < 600
    escaped = _query(
        settings,
        "select message_vi || message_en from raw.submission_problems p join "
        "raw.received_files f using (file_hash) where f.source_path = 'escape_sequences.json'",
    )
    assert escaped and not any("\x1b" in m or "\u202e" in m for (m,) in escaped)


def test_a_rerun_does_not_retry_what_was_answered(hostile_run):
    landing, data_dir, expected, _, settings = hostile_run
    ledger_rows = _query(settings, "select count(*) from raw.received_files")[0][0]
    done = _cli_ingest(data_dir, landing, "hostile-2", QNWU_MAX_FILE_BYTES="1000000")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["files_new"] == 0
    assert summary["already_accounted"] == ledger_rows
    assert summary["skipped"] == sum(e.outcome == "skipped" for e in expected.values())
    assert _query(settings, "select count(*) from raw.received_files")[0][0] == ledger_rows
    runs = dict(_query(settings, "select load_id, status from raw.load_runs"))
    assert runs == {"hostile-1": "finished", "hostile-2": "finished"}


def test_ledger_paths_are_relative_to_the_landing_and_archive_paths_to_the_data_dir(hostile_run):
    _, data_dir, _, _, settings = hostile_run
    paths = _query(settings, "select source_path, archive_path from raw.received_files where archive_path is not null")
    assert paths and all(not source.startswith("/") and not archive.startswith("/") for source, archive in paths)
    assert all(archive.startswith("archive/") for _, archive in paths)
    source, archive = next((s, a) for s, a in paths if s == "valid/06652_2023-02.csv")
    assert read_archived(archive, settings) == (settings.local_landing_path / source).read_bytes()


# --- isolation --------------------------------------------------------------------------------
def misbehaving_examine(job: Job, seeds_dir: Path, limits: Limits) -> Examined:
    """What a worker runs in the pool tests: the real examination, except for files named to
    crash the process the way a native reader does, or to hang."""
    if "abort" in job.file_name:
        os.abort()
    if "hang" in job.file_name:
        time.sleep(3600)
    if "exit" in job.file_name:
        os._exit(3)
    return examine(job, seeds_dir, limits)


def test_a_crash_or_a_hang_costs_only_its_file():
    from datetime import UTC, date, datetime

    good = write_json(report(period="2023-03"))
    names = ["a.json", "abort.json", "b.json", "hang.json", "c.json", "exit.json", "d.json"]
    jobs = [Job(n, name, good, datetime.now(UTC), date.today()) for n, name in enumerate(names)]
    started = time.monotonic()
    with IsolatedExaminer(2, SEEDS_DIR, Limits(), WorkerLimits(512 * 2**20, 2.0), misbehaving_examine) as pool:
        results = dict(pool.examine_all(jobs))
        replaced = pool.replaced
    assert time.monotonic() - started < 30
    assert sorted(results) == list(range(len(names)))
    outcomes = {
        names[key]: (e.submission is not None, [p.code for p in e.problems], [p.detail for p in e.problems])
        for key, e in results.items()
    }
    for name in ("a.json", "b.json", "c.json", "d.json"):
        assert outcomes[name][0], outcomes[name]
    assert outcomes["abort.json"][1] == ["FILE_TOO_COMPLEX"] and "SIGABRT" in outcomes["abort.json"][2][0]
    assert outcomes["hang.json"][1] == ["FILE_TOO_COMPLEX"] and "took over 2 s" in outcomes["hang.json"][2][0]
    assert outcomes["exit.json"][1] == ["FILE_TOO_COMPLEX"]
    assert replaced == 3


def test_a_file_needing_more_memory_than_the_limit_is_rejected_and_the_rest_loads(data_dir: Path):
    """An XLSX whose used range passes the shape checks (with a high row limit) but needs more memory
    to read than a worker may have: the worker fails (MemoryError or an abort inside calamine), that file is rejected
    FILE_TOO_COMPLEX, and the valid file beside it loads."""
    landing = data_dir / "landing"
    landing.mkdir()
    from hostile_files import _patch_xlsx

    wide = _patch_xlsx(
        write_xlsx(report(period="2023-04")),
        "Chỉ tiêu",
        lambda xml: xml.replace(b"</sheetData>", b'<row r="100000"><c r="IV100000" t="n"><v>1</v></c></row></sheetData>'),
    )
    (landing / "wide.xlsx").write_bytes(wide)
    (landing / "good.json").write_bytes(write_json(report(period="2023-03")))
    # rows allowed up to 100,000 so the shape checks let it through: 256 x 100,000 cells for calamine
    done = _cli_ingest(data_dir, landing, "memory", QNWU_INGEST_FILE_MEMORY_MB="64", QNWU_MAX_SECTION_ROWS="100000")
    assert done.returncode == 0, done.stderr[-3000:]
    settings = Settings.from_env()
    outcomes = dict(
        _query(
            settings,
            "select f.source_path, f.outcome || ':' || coalesce(p.reason_code, '') "
            "from raw.received_files f left join raw.submission_problems p using (file_hash)",
        )
    )
    assert outcomes == {"wide.xlsx": "rejected:FILE_TOO_COMPLEX", "good.json": "accepted:"}


# --- landing safety ---------------------------------------------------------------------------
def test_a_file_still_being_written_is_skipped_until_it_has_settled(data_dir: Path, monkeypatch):
    landing = data_dir / "landing"
    landing.mkdir()
    content = write_json(report(period="2023-03"))
    target = landing / "06652_2023-03.json"
    stop = threading.Event()

    def slow_copy() -> None:
        with target.open("wb") as handle:
            for start in range(0, len(content), 64):
                handle.write(content[start : start + 64])
                handle.flush()
                time.sleep(0.05)
                if stop.is_set():
                    break

    writer = threading.Thread(target=slow_copy)
    writer.start()
    time.sleep(0.2)
    monkeypatch.setenv("QNWU_LANDING_SETTLE_SECONDS", "0.5")
    settings = Settings.from_env()
    try:
        first = ingest(settings, "while-copying")
    finally:
        writer.join()
    assert (first.files_new, first.skipped) == (0, 1)
    assert _query(settings, "select source_path, reason from raw.skipped_entries") == [
        ("06652_2023-03.json", "STILL_ARRIVING")
    ]
    second = ingest(settings, "after-copying")
    assert (second.accepted, second.skipped) == (1, 0)
    assert _query(settings, "select count(*) from raw.submission_values")[0][0] == 2
    assert _query(settings, "select count(*) from raw.submission_clubs")[0][0] == 1


def test_moving_the_data_directory_keeps_the_ledger(tmp_path: Path, monkeypatch):
    first_home = tmp_path / "first" / "data"
    landing = first_home / "landing"
    landing.mkdir(parents=True)
    (landing / "a.json").write_bytes(write_json(report(period="2023-03")))
    (landing / "b.json").write_bytes(write_json(report("06655", "2023-03")))
    monkeypatch.setenv("QNWU_DATA_DIR", str(first_home))
    monkeypatch.delenv("QNWU_LANDING_URL", raising=False)
    first = ingest(Settings.from_env(), "before-move")
    assert first.accepted == 2
    moved_home = tmp_path / "moved" / "data"
    moved_home.parent.mkdir()
    shutil.move(first_home, moved_home)
    monkeypatch.setenv("QNWU_DATA_DIR", str(moved_home))
    settings = Settings.from_env()
    second = ingest(settings, "after-move")
    assert (second.files_new, second.duplicates, second.already_accounted) == (0, 0, 2)
    (archive,) = _query(settings, "select archive_path from raw.received_files where source_path = 'a.json'")[0]
    assert read_archived(archive, settings) == (moved_home / "landing" / "a.json").read_bytes()


def test_a_killed_load_gets_its_load_runs_row(data_dir: Path):
    """A load killed after committing batches (or an older version's, which wrote load_runs only at
    the end) leaves ledger rows without a finished load_runs row: the next run writes it."""
    landing = data_dir / "landing"
    landing.mkdir()
    (landing / "a.json").write_bytes(write_json(report(period="2023-03")))
    settings = Settings.from_env()
    ingest(settings, "first")
    with duckdb.connect(str(settings.working_warehouse)) as con:
        con.execute("update raw.received_files set load_id = 'killed-before-writing-its-row'")
        con.execute("delete from raw.load_runs")
        con.execute("insert into raw.load_runs (load_id, started_at, status) values ('killed-mid-way', now(), 'running')")
    (landing / "b.json").write_bytes(write_json(report("06655", "2023-03")))
    ingest(settings, "next")
    runs = {
        row[0]: row[1:] for row in _query(settings, "select load_id, status, files_new, files_accepted from raw.load_runs")
    }
    assert runs == {
        "killed-before-writing-its-row": ("interrupted", 1, 1),
        "killed-mid-way": ("interrupted", 0, 0),
        "next": ("finished", 1, 1),
    }
    orphans = _query(
        settings, "select count(*) from raw.received_files where load_id not in (select load_id from raw.load_runs)"
    )[0][0]
    assert orphans == 0


def test_leftover_partial_archives_are_removed(data_dir: Path):
    landing = data_dir / "landing"
    landing.mkdir()
    (landing / "a.json").write_bytes(write_json(report(period="2023-03")))
    settings = Settings.from_env()
    leftover = settings.archive_dir / "killed" / "batch-00000.zip.partial"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a zip")
    ingest(settings, "after-a-kill")
    assert not leftover.exists()


def test_workers_that_cannot_start_stop_the_run_without_judging_any_file(data_dir: Path):
    """A broken worker environment is not a file's fault: no file may be rejected for it. The run
    stops with one line, nothing is committed, and the next run judges the files."""
    from datetime import UTC, date, datetime

    from qnwu_warehouse.ingest.isolation import WorkersUnavailable

    job = Job(0, "a.json", write_json(report(period="2023-03")), datetime.now(UTC), date.today())
    pool = IsolatedExaminer(1, SEEDS_DIR, Limits(), WorkerLimits(512 * 2**20, 5.0), misbehaving_examine)
    pool.function_name = "qnwu_warehouse.ingest.isolation:no_such_function"
    with pool, pytest.raises(WorkersUnavailable, match="did not start"):
        list(pool.examine_all([job]))


def test_the_settle_check_of_a_large_fresh_landing_waits_once(tmp_path: Path):
    """A landing of thousands of files that all just arrived is waited for once, then read: the
    settle check costs the interval, not a comparison of every file with every other."""
    from qnwu_warehouse.ingest.landing import Landing

    for number in range(20000):
        (tmp_path / f"{number:05d}.csv").write_bytes(b"x")
    started = time.monotonic()
    entries, skipped = Landing(str(tmp_path)).scan(settle_seconds=5)  # longer than writing them took
    assert (len(entries), skipped) == (20000, [])
    assert time.monotonic() - started < 12  # about 5 s of waiting; comparing each with each took 45 s here
