"""Every correction reaches the marts, even one that leaves a report with no rows at all.

A unit resends a month (a later version: higher submitted_at) in a later ingest run than the
original. The new version replaces the old one everywhere: in the facts, the roll-ups, the
feedback and, after the gate, in the published marts; also when it has no value rows (an XLSX
with every value cell left blank, as found in the field: accepted with VALUE_MISSING warnings),
no club rows (a CSV with header and values only) or neither (JSON with "values": [] and
"clubs": []). Every report of the last month is emptied, so that month's roll-up buckets become
empty and must be deleted. After the second run the marts must be exactly what a
`--full-refresh` build of the same raw gives, the gate must pass and publish must succeed.

Then the way out of a failed gate: facts broken by hand fail the reconciliation, whose message
names the report and `qnwu rebuild`; the rebuild publishes again.
"""

from __future__ import annotations

import secrets
import shutil
from datetime import timedelta

import duckdb
import pytest
from support import BUILT_SCHEMAS, marts_snapshot, snapshot_differences, sorted_rows, using_data_dir

from qnwu_devtools import postgres_mirror
from qnwu_devtools.data_dirs import copy_data_dir
from qnwu_devtools.generator import generate
from qnwu_warehouse.checks import quality
from qnwu_warehouse.contract.files import indicator_catalogue, write_csv, write_json, write_xlsx
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.serve import postgres_copy
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow

FIRST_MONTH, LAST_MONTH = "2023-01", "2023-02"
FACTS = ("fct_indicator_values", "fct_club_snapshots", "fct_beneficiaries", "fct_funds", "fct_activities")
ROLLUPS = ("agg_indicators_by_period", "agg_clubs_by_period")


def _header(con, file_hash: str) -> dict:
    unit_code, period, submitted_at, reporter, template_version = con.execute(
        "select unit_code, period, submitted_at, reporter, template_version from raw.submissions where file_hash = ?",
        [file_hash],
    ).fetchone()
    later = (submitted_at + timedelta(days=3)).isoformat()  # a later version of the same report
    return {
        "unit_code": unit_code,
        "period": period,
        "submitted_at": later,
        "reporter": reporter,
        "template_version": template_version,
    }


def _values(con, file_hash: str) -> list[dict]:
    return [
        {"indicator_code": code, "category": category, "value": value}
        for code, category, value in con.execute(
            "select indicator_code, category, value from raw.submission_values where file_hash = ? order by source_row",
            [file_hash],
        ).fetchall()
    ]


def _clubs(con, file_hash: str) -> list[dict]:
    return [
        {"club_id": club_id, "club_type": club_type, "club_name": name, "status": status, "members": members}
        for club_id, club_type, name, status, members in con.execute(
            "select club_id, club_type, club_name, club_status, members from raw.submission_clubs "
            "where file_hash = ? order by source_row",
            [file_hash],
        ).fetchall()
    ]


def write_corrections(settings, landing) -> dict[str, list[str]]:
    """The correction files, written into `landing`; returns {kind: [submission_id, ...]}."""
    with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
        current = con.execute(
            "select submission_id, file_hash, period from marts.fct_submission_versions "
            "where is_current_placed order by submission_id"
        ).fetchall()
        with_values = {
            h for (h,) in con.execute("select distinct file_hash from raw.submission_values where value > 0").fetchall()
        }
        with_clubs = {h for (h,) in con.execute("select distinct file_hash from raw.submission_clubs").fetchall()}
        first = [(sid, h) for sid, h, period in current if period == FIRST_MONTH and h in with_values and h in with_clubs]
        last = [(sid, h) for sid, h, period in current if period == LAST_MONTH]
        assert len(first) >= 2 and last, "the generated data lack reports with both values and clubs"
        (values_id, values_hash), (clubs_id, clubs_hash) = first[0], first[1]
        # XLSX, every value cell blank, the club register kept: no value rows
        blank = [
            {"indicator_code": code, "category": category, "value": None}
            for code, category, _label, _unit in indicator_catalogue()
        ]
        (landing / f"{values_id.replace(':', '_')}_blank.xlsx").write_bytes(
            write_xlsx({"header": _header(con, values_hash), "values": blank, "clubs": _clubs(con, values_hash)})
        )
        # CSV, header and values only: no club rows
        (landing / f"{clubs_id.replace(':', '_')}_noclubs.csv").write_bytes(
            write_csv({"header": _header(con, clubs_hash), "values": _values(con, clubs_hash), "clubs": []})
        )
        # JSON with neither, for every report of the last month: its month buckets become empty
        for submission_id, file_hash in last:
            (landing / f"{submission_id.replace(':', '_')}_empty.json").write_bytes(
                write_json({"header": _header(con, file_hash), "values": [], "clubs": []})
            )
    return {"values": [values_id], "clubs": [clubs_id], "both": [sid for sid, _h in last]}


def _gate_and_publish(run_id: str) -> dict:
    try:
        gate = pipeline.gate_stage(run_id)
    except quality.QualityGateFailed as failure:
        return {"gate_failure": str(failure)}
    return {"gate": gate, "published": pipeline.publish_stage(run_id, gate)}


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    """Two ingest runs (the originals, then the corrections), each built, gated and published; and
    a copy of the data directory after them, rebuilt with --full-refresh, gated and published afresh."""
    root = tmp_path_factory.mktemp("corrections")
    data_dir, refreshed_dir = root / "data", root / "refreshed"
    data_dir.mkdir()
    with using_data_dir(data_dir) as settings:
        landing = settings.local_landing_path
        generate(landing, units=8, months=2, faults=False)
        ingest(settings, load_id="originals")
        dbt_runner.build(settings)
        first = _gate_and_publish("originals")
        assert "published" in first, first
        copy_data_dir(data_dir, root / "after-originals")  # for the PostgreSQL test
        corrections = write_corrections(settings, landing)
        report = ingest(settings, load_id="corrections").as_dict()
        dbt_runner.build(settings)
        second = _gate_and_publish("corrections")
        incremental = marts_snapshot(settings.working_warehouse, BUILT_SCHEMAS)
        published = (
            marts_snapshot(settings.published_versions_dir / second["published"]["version"])
            if "published" in second
            else None
        )
    copy_data_dir(data_dir, refreshed_dir)
    with using_data_dir(refreshed_dir) as refreshed:
        dbt_runner.run_dbt(refreshed, "run", "--full-refresh")
        full_refresh = marts_snapshot(refreshed.working_warehouse, BUILT_SCHEMAS)
        shutil.rmtree(refreshed.published_dir)  # and published afresh, every mart whole
        whole = _gate_and_publish("full-refresh")
        assert "published" in whole, whole
        whole_published = marts_snapshot(refreshed.published_versions_dir / whole["published"]["version"])
    return {
        "settings": settings,
        "data_dir": data_dir,
        "after_originals": root / "after-originals",
        "refreshed_dir": refreshed_dir,
        "corrections": corrections,
        "ingest": report,
        "second": second,
        "incremental": incremental,
        "full_refresh": full_refresh,
        "published": published,
        "whole_published": whole_published,
    }


def _rows(settings, sql: str, parameters=()) -> list[tuple]:
    with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
        return con.execute(sql, list(parameters)).fetchall()


def test_the_corrections_are_accepted_in_the_second_run(corrected):
    emptied = sum(len(ids) for ids in corrected["corrections"].values())
    assert corrected["ingest"]["accepted"] == emptied and corrected["ingest"]["rejected"] == 0, corrected["ingest"]


def test_facts_drop_the_rows_of_an_emptied_correction(corrected):
    settings, corrections = corrected["settings"], corrected["corrections"]
    differing = snapshot_differences(corrected["incremental"], corrected["full_refresh"])
    assert [t for t in differing if t in FACTS] == []
    emptied_values = corrections["values"] + corrections["both"]
    emptied_clubs = corrections["clubs"] + corrections["both"]
    assert (
        _rows(
            settings,
            "select submission_id, count(*) from marts.fct_indicator_values "
            "where submission_id in (select unnest(?)) group by 1",
            [emptied_values],
        )
        == []
    )
    assert (
        _rows(
            settings,
            "select submission_id, count(*) from marts.fct_club_snapshots "
            "where submission_id in (select unnest(?)) group by 1",
            [emptied_clubs],
        )
        == []
    )
    # and the part a correction kept is the new version's
    kept = _rows(
        settings,
        "select distinct f.file_hash = c.file_hash from marts.fct_indicator_values f "
        "join marts.fct_submission_versions c on c.is_current_placed and c.submission_id = f.submission_id "
        "where f.submission_id in (select unnest(?))",
        [corrections["clubs"]],
    )
    assert kept == [(True,)]


def test_rollups_equal_a_full_refresh_and_an_emptied_bucket_is_gone(corrected):
    differing = snapshot_differences(corrected["incremental"], corrected["full_refresh"])
    assert [t for t in differing if t in ROLLUPS] == []
    for table in ROLLUPS:
        assert _rows(
            corrected["settings"],
            f"select count(*) from marts.{table} where period_grain = 'month' and period_label = ?",
            [LAST_MONTH],
        ) == [(0,)], f"{table} still holds the emptied month {LAST_MONTH}"


def test_feedback_shows_the_corrections_and_what_they_superseded(corrected):
    differing = snapshot_differences(corrected["incremental"], corrected["full_refresh"])
    assert "fct_submission_feedback" not in differing
    settings, corrections = corrected["settings"], corrected["corrections"]
    statuses = _rows(
        settings,
        "select file_name, status, warning_count, reason_codes from marts.fct_submission_feedback "
        "where unit_code || ':' || period in (select unnest(?)) order by file_name",
        [[sid for ids in corrections.values() for sid in ids]],
    )
    corrections_seen = [row for row in statuses if row[0].endswith(("_blank.xlsx", "_noclubs.csv", "_empty.json"))]
    originals = [row for row in statuses if row not in corrections_seen]
    assert {row[1] for row in corrections_seen} == {"accepted"} and {row[1] for row in originals} == {"superseded"}
    blank_xlsx = [row for row in corrections_seen if row[0].endswith("_blank.xlsx")]
    assert blank_xlsx[0][2] > 0 and "VALUE_MISSING" in blank_xlsx[0][3]


def test_every_built_table_equals_a_full_refresh(corrected):
    """The marts, and the incremental intermediate and disclosure tables under them."""
    assert snapshot_differences(corrected["incremental"], corrected["full_refresh"]) == []


def test_the_gate_passes_and_the_published_marts_equal_a_whole_publish_of_a_full_refresh(corrected):
    second = corrected["second"]
    assert "gate_failure" not in second, second.get("gate_failure")
    assert second["gate"]["passed"] is True and second["gate"]["validated"]["whole"] is False
    assert snapshot_differences(corrected["published"], corrected["whole_published"]) == []


def test_a_failed_reconciliation_names_the_report_and_rebuild_repairs_it(corrected, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    copy_data_dir(corrected["data_dir"], data_dir)
    with using_data_dir(data_dir) as settings:
        with duckdb.connect(str(settings.working_warehouse)) as con:  # a repair by hand gone wrong
            submission_id, unit_code, period = con.execute(
                "select submission_id, unit_code, period from marts.fct_indicator_values order by submission_id limit 1"
            ).fetchone()
            con.execute("update marts.fct_indicator_values set value = value + 7 where submission_id = ?", [submission_id])
        # the run that finds it is a full sweep (here: every run; by default the first run a day)
        monkeypatch.setenv("QNWU_FULL_SWEEP_HOURS", "0")
        with pytest.raises(quality.QualityGateFailed) as failed:
            pipeline.gate_stage("broken")
        message = str(failed.value)
        assert "reconcile_raw_to_facts" in message
        assert f"unit {unit_code}, period {period} (submission {submission_id})" in message, message
        assert "qnwu rebuild" in message, message

        rebuilt = pipeline.rebuild_stage("rebuild")
        assert rebuilt["gate"]["passed"] is True and rebuilt["gate"]["validated"]["whole"] is True
        version = settings.published_versions_dir / rebuilt["version"]
        assert version.exists() and rebuilt["published"] == str(settings.published_warehouse)
        assert snapshot_differences(marts_snapshot(version), corrected["whole_published"]) == []


def test_corrections_reach_the_marts_on_postgresql_too(corrected):
    """The same two loads built incrementally on dbt's postgres target (the replace_* strategies'
    SQL on PostgreSQL): every mart equals DuckDB's full refresh."""
    try:
        postgres_copy.connect("postgres").close()
    except postgres_copy.MirrorError as problem:
        pytest.fail(f"PostgreSQL is required by this test and is not reachable: {problem}", pytrace=False)
    database = f"qnwu_test_{secrets.token_hex(4)}"
    try:
        with using_data_dir(corrected["after_originals"], QNWU_PG_DATABASE=database) as before:
            postgres_mirror.mirror_raw(before, database)
            dbt_runner.run_dbt(before, "build", "--target", "postgres", "--fail-fast")
            postgres_mirror.mirror_raw(corrected["settings"], database)  # raw after the corrections' run
            dbt_runner.run_dbt(before, "build", "--target", "postgres", "--fail-fast")  # incremental
        pg = postgres_copy.connect(database)
        try:
            pg.cursor().execute("set time zone 'UTC'")
            refreshed = corrected["refreshed_dir"] / "warehouse" / "working.duckdb"
            different = []
            with duckdb.connect(str(refreshed), read_only=True) as duck:
                duck.execute("set TimeZone = 'UTC'")
                tables = [
                    name
                    for (name,) in duck.execute(
                        "select table_name from information_schema.tables where table_schema = 'marts'"
                    ).fetchall()
                ]
                for table in tables:
                    columns = ", ".join(
                        f'"{name}"'
                        for (name,) in duck.execute(
                            "select column_name from information_schema.columns where table_schema = 'marts' "
                            "and table_name = ? order by ordinal_position",
                            [table],
                        ).fetchall()
                    )
                    query = f"select {columns} from marts.{table}"
                    with pg.cursor() as cur:
                        cur.execute(query)
                        pg_rows = cur.fetchall()
                    if sorted_rows(duck.execute(query).fetchall()) != sorted_rows(pg_rows):
                        different.append(table)
            assert set(FACTS + ROLLUPS) <= set(tables)
            assert different == [], f"marts on PostgreSQL that differ from DuckDB's full refresh: {different}"
        finally:
            pg.close()
    finally:
        postgres_copy.drop_database(database)
