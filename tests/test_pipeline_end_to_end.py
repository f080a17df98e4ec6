"""The README's first command, for real: `qnwu run --demo` through Airflow on a fresh data
directory, then the gate refusing a bad batch while a reader holds the published file open.

Runs in subprocesses, as an operator would, so each run gets Airflow configured from scratch on
its own SQLite metadata under the test's data directory.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
from pathlib import Path

import duckdb
import pytest
from support import run_qnwu_cli

pytestmark = pytest.mark.slow


def qnwu(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return run_qnwu_cli(list(args), timeout=900, QNWU_DATA_DIR=str(data_dir))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e")
    done = qnwu(data_dir, "run", "--demo")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return data_dir, done.stdout


def test_demo_run_prints_the_summary(demo):
    data_dir, out = demo
    landing = data_dir / "landing"
    received = sum(1 for p in landing.iterdir() if p.is_file() and not p.name.startswith("."))
    assert "Pipeline success in " in out
    assert f"files this run : received {received}," in out
    assert "quality gate   : passed" in out
    assert f"published      : {data_dir / 'published' / 'warehouse.duckdb'}" in out
    for table in ("fct_beneficiaries", "fct_funds", "fct_activities", "fct_club_snapshots", "agg_indicators_by_period"):
        assert f"marts.{table}" in out
    assert "HiGHS" not in out  # the solver's banner stays out of the summary (disclosure/bounds.py)


def test_every_file_is_accounted_for_with_its_expected_outcome(demo):
    data_dir, _ = demo
    expected = {
        row["file_name"]: row
        for row in csv.DictReader((data_dir / "landing" / ".expected_outcomes.csv").open(encoding="utf-8"))
    }
    with duckdb.connect(str(data_dir / "warehouse" / "working.duckdb"), read_only=True) as con:
        ledger = dict(con.execute("select file_name, outcome from raw.received_files").fetchall())
        reasons = con.execute("""select f.file_name, list(distinct p.reason_code) from raw.received_files f
                                 join raw.submission_problems p using (file_hash)
                                 where p.severity = 'error' group by all""").fetchall()
    landing_files = {p.name for p in (data_dir / "landing").iterdir() if not p.name.startswith(".")}
    assert set(ledger) == landing_files
    assert set(ledger.values()) == {"accepted", "rejected", "duplicate"}
    reasons = dict(reasons)
    for name, row in expected.items():
        assert ledger[name] == row["expected_outcome"], name
        if row["expected_outcome"] == "rejected":
            assert row["reason_code"] in reasons[name], (name, reasons[name])


def test_published_warehouse_reproduces_article_stocks(demo):
    data_dir, _ = demo
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as con:
        clubs = dict(
            con.execute("""select club_category_code, clubs_open_at_period_end from marts.agg_clubs_by_period
                                    where scope_level = 'province' and period_grain = 'year' and period_label = '2023'
                                      and club_category_level = 'type'""").fetchall()
        )
        children = con.execute("""select sum(value) from marts.agg_indicators_by_period
                                  where scope_level = 'province' and period_grain = 'year' and period_label = '2023'
                                    and indicator_code = 'godmother_children_new'""").fetchone()[0]
    assert clubs["air_volleyball"] == 513  # a stock: year-end register, not 12 months added up
    assert clubs["folk_dance"] == 854
    assert children == 211  # a flow: months added up


def test_failed_gate_blocks_publish_and_leaves_readers_on_the_last_good_version(demo):
    data_dir, _ = demo
    published = data_dir / "published" / "warehouse.duckdb"
    before_hash, before_inode = sha256(published), published.stat().st_ino
    versions_before = sorted((data_dir / "published" / "versions").iterdir())

    reader = duckdb.connect(str(published), read_only=True)  # an analyst with the file open
    rows_before = reader.execute("select count(*) from marts.fct_indicator_values").fetchone()[0]

    # A bad batch that got past ingestion (as a loader defect would let it): a resubmission whose
    # amount of money is negative. Only the quality gate stands between it and readers.
    working = data_dir / "warehouse" / "working.duckdb"

    def resubmit(con, new_hash: str, amount: int, days_later: int) -> None:
        con.execute(
            """insert into raw.submissions (file_hash, unit_code, period, submitted_at, reporter,
                       template_version, load_id, loaded_at, submitted_date_vn)
                       select ?, unit_code, period, submitted_at + to_days(?), reporter, template_version,
                              'bad-batch', now(), submitted_date_vn + ?
                       from raw.submissions where file_hash = ?""",
            [new_hash, days_later, days_later, file_hash],
        )
        con.execute(
            """insert into raw.submission_values
                       select ?, source_row, indicator_code, category,
                              case when indicator_code = 'godmother_funds_vnd' then ? else value end
                       from raw.submission_values where file_hash = ?""",
            [new_hash, amount, file_hash],
        )
        con.execute(
            "insert into raw.submission_clubs select ?, source_row, club_id, club_type, club_name, "
            "club_status, members from raw.submission_clubs where file_hash = ?",
            [new_hash, file_hash],
        )

    with duckdb.connect(str(working)) as con:
        file_hash = con.execute("""select v.file_hash from marts.fct_submission_versions v
                                   join raw.submission_values s using (file_hash)
                                   where v.is_current_placed and s.indicator_code = 'godmother_funds_vnd'
                                   order by v.file_hash limit 1""").fetchone()[0]
        resubmit(con, "f" * 64, -5_000_000, 1)

    done = qnwu(data_dir, "run")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "quality gate   : FAILED" in done.stdout
    assert sha256(published) == before_hash and published.stat().st_ino == before_inode
    assert sorted((data_dir / "published" / "versions").iterdir()) == versions_before
    assert reader.execute("select count(*) from marts.fct_indicator_values").fetchone()[0] == rows_before
    with duckdb.connect(str(working), read_only=True) as con:
        failed = con.execute("""select suite_name, expectation_type, column_name from audit.validation_results
                                where not success and severity = 'critical'""").fetchall()
    assert ("fct_indicator_values", "expect_column_values_to_be_between", "value") in failed

    # Repair the batch with a corrected version: the next run publishes while the reader still
    # has the old file open.
    with duckdb.connect(str(working)) as con:
        resubmit(con, "e" * 64, 5_000_000, 2)
    done = qnwu(data_dir, "run")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert published.stat().st_ino != before_inode
    assert reader.execute("select count(*) from marts.fct_indicator_values").fetchone()[0] == rows_before
    reader.close()
    versions = qnwu(data_dir, "versions").stdout.splitlines()
    assert len(versions) == len(versions_before) + 1 and versions[-1].startswith("* ")
