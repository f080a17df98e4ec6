"""Write-audit-publish: bad batches are stopped by the gate and readers stay on the last good
version; good batches publish; kill -9 while publishing harms nothing; rollback works; results
are data; alerts go out; Data Docs render in a real browser.

One small warehouse is built and published once for the whole run (conftest.shared_warehouse, also
read by test_report.py; real ingestion, real dbt build); each test works on its own copy of it.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from qnwu_devtools.data_dirs import copy_data_dir
from qnwu_warehouse.checks import data_docs, gx_validation, quality
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.publish import versioning
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.transform import dbt_runner, graph

pytestmark = pytest.mark.slow


@pytest.fixture
def warehouse(shared_warehouse, tmp_path, monkeypatch):
    """This test's own copy of the shared data directory: a built working warehouse and one good
    published version (conftest.py)."""
    data_dir = tmp_path / "data"
    copy_data_dir(shared_warehouse, data_dir)  # the live file stays a hard link to its version
    monkeypatch.setenv("QNWU_DATA_DIR", str(data_dir))
    monkeypatch.delenv("QNWU_LANDING_URL", raising=False)
    return Settings.from_env()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def working(settings: Settings):
    return duckdb.connect(str(settings.working_warehouse))


def resubmit_with(settings: Settings, indicator: str, value: int, unit_code: str | None = None) -> None:
    """A new version of a current report, as a defective loader would let it through. The report
    chosen is one of the unit that reported the indicator above zero in the most months, so that
    one changed value cannot move that unit's own median far (the outlier rule compares with it)."""
    with working(settings) as con:
        file_hash = con.execute(
            """with reported as (
                                       select s.file_hash, s.unit_code,
                                              count(*) filter (where v.value > 0)
                                                  over (partition by s.unit_code) as months_above_zero
                                       from marts.fct_submission_versions s
                                       join raw.submission_values v using (file_hash)
                                       where s.is_current_placed and v.indicator_code = ?)
                                   select file_hash from reported
                                   order by months_above_zero desc, unit_code, file_hash limit 1""",
            [indicator],
        ).fetchone()[0]
        new_hash = hashlib.sha256(f"{file_hash}{indicator}{value}{unit_code}".encode()).hexdigest()
        con.execute(
            """insert into raw.submissions (file_hash, unit_code, period, submitted_at, reporter,
                           template_version, load_id, loaded_at, submitted_date_vn)
                       select ?, coalesce(?, unit_code), period, submitted_at + interval 1 day,
                       reporter, template_version, 'bad-batch', now(), submitted_date_vn + 1
                       from raw.submissions where file_hash = ?""",
            [new_hash, unit_code, file_hash],
        )
        con.execute(
            """insert into raw.submission_values select ?, source_row, indicator_code, category,
                       case when indicator_code = ? then ? else value end
                       from raw.submission_values where file_hash = ?""",
            [new_hash, indicator, value, file_hash],
        )


def assert_gate_blocks(settings: Settings, *failing_suites: str) -> None:
    live = settings.published_warehouse
    before = (sha256(live), live.stat().st_ino, versioning.versions(settings))
    reader = duckdb.connect(str(live), read_only=True)  # an analyst who has the file open
    rows = reader.execute("select count(*) from marts.fct_indicator_values").fetchone()[0]
    with pytest.raises(quality.QualityGateFailed) as refused:
        pipeline.gate_stage("bad-run")
    for suite in failing_suites:
        assert f"- {suite}:" in str(refused.value), str(refused.value)
    assert "sample [" in str(refused.value)
    assert (sha256(live), live.stat().st_ino, versioning.versions(settings)) == before
    assert reader.execute("select count(*) from marts.fct_indicator_values").fetchone()[0] == rows
    reader.close()
    with working(settings) as con:
        failed = {
            row[0]
            for row in con.execute(
                "select suite_name from audit.validation_results "
                "where run_id = 'bad-run' and not success and severity = 'critical'"
            ).fetchall()
        }
    assert set(failing_suites) <= failed


def test_negative_funds_are_blocked(warehouse):
    resubmit_with(warehouse, "godmother_funds_vnd", -5_000_000)
    dbt_runner.build(warehouse)
    assert_gate_blocks(warehouse, "fct_funds", "raw_submission_values")


def test_a_unit_outside_the_hierarchy_is_blocked(warehouse):
    resubmit_with(warehouse, "news_items", 3, unit_code="99999")
    dbt_runner.build(warehouse)  # dbt builds; the unknown unit silently falls out of the facts...
    assert_gate_blocks(warehouse, "raw_submissions", "reconcile_submissions_to_facts")  # ...which the gate sees


def test_a_build_whose_dbt_tests_failed_is_not_published(warehouse):
    """Accepted values are a dbt test only (expectations/README.md): the gate still refuses the build."""
    with working(warehouse) as con:  # a new version of a report whose register says a status no contract allows
        file_hash = con.execute("""select file_hash from marts.fct_submission_versions
                                   where is_current_placed and file_hash in (select file_hash from raw.submission_clubs)
                                   order by file_hash limit 1""").fetchone()[0]
        new_hash = hashlib.sha256(f"{file_hash}bogus-status".encode()).hexdigest()
        con.execute(
            """insert into raw.submissions (file_hash, unit_code, period, submitted_at, reporter,
                           template_version, load_id, loaded_at, submitted_date_vn)
                       select ?, unit_code, period, submitted_at + interval 1 day, reporter, template_version,
                              'bad-batch', now(), submitted_date_vn + 1
                       from raw.submissions where file_hash = ?""",
            [new_hash, file_hash],
        )
        con.execute(
            """insert into raw.submission_values select ?, source_row, indicator_code, category, value
                       from raw.submission_values where file_hash = ?""",
            [new_hash, file_hash],
        )
        con.execute(
            """insert into raw.submission_clubs select ?, source_row, club_id, club_type, club_name,
                           'bogus', members
                       from raw.submission_clubs where file_hash = ?""",
            [new_hash, file_hash],
        )
    dbt_runner.build_for_run(warehouse, "bogus-status")  # as the DAG's build: failed tests do not stop it
    gate = quality.run_gate(warehouse, "bogus-status")
    failed = [r for r in gate.critical_failures if r.suite_name == "dbt_tests"]
    assert not gate.passed and failed, [r.suite_name for r in gate.critical_failures]
    assert any("accepted_values_fct_club_snapshots_club_status" in name for name in failed[0].unexpected_sample)
    assert "- dbt_tests:" in quality.failure_message(gate)


def test_a_model_changed_since_its_table_was_built_asks_for_a_rebuild(warehouse):
    """A release that adds a column to an incremental model meets a table built without it: the build
    stops on dbt's out-of-sync error, and the operator is told to run `qnwu rebuild`, both by
    `qnwu build` and by the model's own Airflow task."""
    with working(warehouse) as con:  # the tables as a release before messages_en and cells_settings built them
        con.execute("alter table marts.fct_submission_feedback drop column messages_en")
        # the sensitive cells' incremental filter reads this very column from the table: it must
        # still end in the out-of-sync error, not in an error of its own SQL
        con.execute("alter table disclosure.disclosure_sensitive_cells drop column cells_settings")
    with pytest.raises(dbt_runner.DbtFailed, match="out of sync") as stopped:
        dbt_runner.build(warehouse)
    assert "run `qnwu rebuild` once" in str(stopped.value)
    _summary, results_dir = dbt_runner.build_for_run(warehouse, "after-a-release")
    for model in ("fct_submission_feedback", "disclosure_sensitive_cells"):
        with pytest.raises(graph.ModelFailed, match="run `qnwu rebuild` once"):
            graph.model_stage(str(results_dir), model)


def test_totals_that_do_not_reconcile_are_blocked_by_the_next_full_sweep(warehouse, monkeypatch):
    with working(warehouse) as con:  # a model that drops rows, written straight into the working marts
        con.execute("delete from marts.fct_indicator_values where indicator_code = 'news_items' and period = '2023-06'")
    # No report changed: between full sweeps the gate reconciles the changed reports only, and
    # this run (the last sweep passed moments ago) does not see it...
    summary = pipeline.gate_stage("between-sweeps")
    assert summary["validated"]["full_sweep"] is False, summary["validated"]
    assert "QNWU_FULL_SWEEP_HOURS" in summary["validated"]["full_sweep_reason"]
    # ...the next full sweep does: the whole-history reconciliation of raw against the facts
    monkeypatch.setenv("QNWU_FULL_SWEEP_HOURS", "0")
    assert_gate_blocks(warehouse, "reconcile_raw_to_facts")
    monkeypatch.delenv("QNWU_FULL_SWEEP_HOURS")
    with working(warehouse) as con:  # as it does once the last passing sweep is older than the setting
        con.execute("update audit.full_sweeps set swept_at = swept_at - interval 25 hours")
    assert_gate_blocks(warehouse, "reconcile_raw_to_facts")
    monkeypatch.setenv("QNWU_REVALIDATE_ALL", "true")  # and a full revalidation sees the roll-ups too
    assert_gate_blocks(warehouse, "reconcile_raw_to_facts", "reconcile_facts_to_rollups")


def test_between_sweeps_a_changed_report_whose_facts_disagree_with_raw_is_blocked(warehouse):
    resubmit_with(warehouse, "news_items", 4)  # a new version of a report: a changed report
    dbt_runner.build(warehouse)
    with working(warehouse) as con:  # ...whose facts then disagree with its raw rows
        changed = con.execute(
            "select submission_id from marts.fct_indicator_values "
            "where loaded_at = (select max(loaded_at) from marts.fct_indicator_values) "
            "limit 1"
        ).fetchone()[0]
        con.execute("update marts.fct_indicator_values set value = value + 7 where submission_id = ?", [changed])
    assert_gate_blocks(warehouse, "reconcile_raw_to_facts")
    with working(warehouse) as con:  # found by the changed reports' reconciliation, not by a sweep
        sweeps = con.execute("select count(*) from audit.full_sweeps").fetchone()[0]
        row = con.execute(
            "select unexpected_sample from audit.validation_results where run_id = 'bad-run' "
            "and suite_name = 'reconcile_raw_to_facts' and not success"
        ).fetchone()
    assert sweeps == 1 and changed in row[0], (sweeps, row)


def test_a_stock_summed_over_months_is_blocked(warehouse, monkeypatch):
    # A roll-up defect written straight into the working marts, outside any load: what a full
    # revalidation is for (a defective model is caught whole anyway: changing it changes the rules'
    # fingerprint, and the gate then validates every row)
    monkeypatch.setenv("QNWU_REVALIDATE_ALL", "true")
    with working(warehouse) as con:  # a roll-up that adds up twelve registers instead of taking December
        con.execute("""update marts.agg_indicators_by_period a set value = (
                           select sum(m.value) from marts.agg_indicators_by_period m
                           where m.period_grain = 'month' and m.scope_level = a.scope_level and m.scope_code = a.scope_code
                             and m.indicator_code = a.indicator_code and m.category = a.category
                             and m.period_label like a.period_label || '-%')
                       where a.period_grain = 'year' and a.time_aggregation = 'last'""")
        con.execute("""update marts.agg_clubs_by_period a set clubs_open_at_period_end = 12 * clubs_open_at_period_end
                       where a.period_grain = 'year'""")
    assert_gate_blocks(warehouse, "reconcile_facts_to_rollups", "reconcile_club_stocks")


def test_a_good_batch_publishes_with_its_submissions_and_checks(warehouse, monkeypatch):
    resubmit_with(warehouse, "news_items", 4)  # an ordinary correction
    dbt_runner.build(warehouse)
    # Data Docs that take longer than the rest of the gate's work after them (as on a national year)
    made_offline = data_docs.make_offline
    monkeypatch.setattr(data_docs, "make_offline", lambda *args, **kwargs: time.sleep(1.5) or made_offline(*args, **kwargs))
    summary = pipeline.gate_stage("next-run")
    result = pipeline.publish_stage("next-run", summary)
    assert result["version"].endswith("next-run.duckdb")
    # the gate's profile counts each part of GX's work, the Data Docs written last included
    assert summary["seconds"]["gx_data_docs"] >= 1.5
    assert summary["seconds"]["gx_import_and_context"] > 0 and summary["seconds"]["gx_validation"] > 0
    with duckdb.connect(str(warehouse.published_warehouse), read_only=True) as con:
        assert con.execute("select run_id from meta.publication").fetchone()[0] == "next-run"
        assert con.execute("select count(*) from meta.published_submissions").fetchone()[0] > 400
        assert (
            con.execute("select count(*) from meta.validation_results where run_id = 'next-run'").fetchone()[0]
            == summary["expectations"]
        )
    with working(warehouse) as con:
        runs = dict(con.execute("select run_id, count(*) from audit.validation_results group by run_id").fetchall())
    assert runs["good-run"] == runs["next-run"] == summary["expectations"]


def test_every_suite_is_validated_through_one_stored_asset_and_saved_again_only_when_it_changes(warehouse):
    """GX rewrites great_expectations.yml whole for each asset or batch definition added: the suites
    share one asset, added once per data directory; a suite is stored again only when what it checks
    changes (its fingerprint: a reference set read from the data can), and its definition, which
    names the suite and the batch definition, not what they hold, is never stored again."""
    import yaml

    project = warehouse.gx_dir / "gx"

    def stored() -> dict[str, tuple[str, int, int]]:
        """{suite: (its fingerprint, when its suite file and its definition were written)}"""
        return {
            path.stem: (
                json.loads((project / "expectations" / path.name).read_text(encoding="utf-8"))["meta"]["qnwu_fingerprint"],
                (project / "expectations" / path.name).stat().st_mtime_ns,
                path.stat().st_mtime_ns,
            )
            for path in (project / "validation_definitions").glob("*.json")
        }

    sources = yaml.safe_load((project / "great_expectations.yml").read_text(encoding="utf-8"))["fluent_datasources"]
    assets = sources[gx_validation.DATA_SOURCE]["assets"]
    assert list(assets) == [gx_validation.FRAME_ASSET]
    assert list(assets[gx_validation.FRAME_ASSET]["batch_definitions"]) == [gx_validation.FRAME_BATCH]
    before = stored()
    assert set(before) == {suite["name"] for suite in quality.load_suites()}
    project_file = (project / "great_expectations.yml").stat().st_mtime_ns

    resubmit_with(warehouse, "news_items", 4)
    dbt_runner.build(warehouse)
    pipeline.gate_stage("gate-again")

    after = stored()
    assert set(after) == set(before)
    unchanged = [name for name in before if before[name][0] == after[name][0]]
    assert len(unchanged) > len(before) / 2
    for name in before:
        if name in unchanged:
            assert after[name] == before[name], f"{name} was stored again with the same expectations"
        else:
            assert after[name][1] > before[name][1] and after[name][2] == before[name][2], name
    assert (project / "great_expectations.yml").stat().st_mtime_ns == project_file


def test_an_expectation_gx_rejects_stops_the_gate_with_its_name_and_stops_gx_too(warehouse, monkeypatch):
    """GX runs in a thread of the gate (gx_validation.py): its error is the gate's, raised where the
    gate waits for the suite's verdict, and GX's thread is stopped rather than left validating."""
    suites = quality.load_suites()
    rejected = {
        "name": "a_suite_gx_rejects",
        "table": "marts.fct_funds",
        "expectations": [
            {"type": "expect_column_values_to_be_purple", "severity": "critical", "kwargs": {"column": "amount_vnd"}}
        ],
    }
    monkeypatch.setattr(quality, "load_suites", lambda: [*suites[:3], rejected, *suites[3:]])
    with pytest.raises(ValueError, match="unknown Great Expectations type 'expect_column_values_to_be_purple'"):
        quality.run_gate(warehouse, "rejected-run")
    assert not [thread for thread in threading.enumerate() if thread.name == "great-expectations"]
    with working(warehouse) as con:  # nothing of the run was recorded
        assert con.execute("select count(*) from audit.validation_results where run_id = 'rejected-run'").fetchone()[0] == 0


def _unit_tests_run(settings: Settings) -> list[str]:
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text(encoding="utf-8"))["results"]
    return [r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"]


# What a narrowed test's compiled SQL holds (macros/new_rows_under_test.sql): the files loaded since
# the live version, and in the tables that carry a month, those files' months
NARROWED_BY_LOAD = "where loaded_at > cast("
NARROWED_BY_MONTH = "period in (select period from"


def _data_tests_by_narrowing(settings: Settings, marker: str = NARROWED_BY_LOAD) -> dict[bool, set[str]]:
    """{whether its rows are narrowed (its compiled SQL holds `marker`): the tested models}."""
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text(encoding="utf-8"))
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text(encoding="utf-8"))["results"]
    tested: dict[bool, set[str]] = {True: set(), False: set()}
    for result in results:
        node = manifest["nodes"].get(result["unique_id"], {})
        if node.get("resource_type") == "test" and node.get("attached_node"):
            narrowed = marker in (result.get("compiled_code") or "")
            tested[narrowed].add(manifest["nodes"][node["attached_node"]]["name"])
    return tested


def test_a_build_after_a_publish_tests_the_new_rows_and_runs_unit_tests_only_when_the_rules_change(warehouse, monkeypatch):
    unit_tests = sorted(json.loads((warehouse.dbt_target_dir / "manifest.json").read_text(encoding="utf-8"))["unit_tests"])
    assert len(unit_tests) >= 9
    # the template's first build, before any publish: the suite's one run of them (conftest.py)
    assert sorted(_unit_tests_run(warehouse)) == unit_tests
    monkeypatch.setenv("QNWU_DBT_UNIT_TESTS_IN_BUILDS", "true")  # the default; the suite's other builds skip them
    assert _data_tests_by_narrowing(warehouse)[True] == set()  # nothing was published: every row tested
    resubmit_with(warehouse, "news_items", 4)
    summary, results_dir = dbt_runner.build_for_run(warehouse, "same-rules")  # the live version has today's rules
    assert "ERROR=0" in summary and _unit_tests_run(warehouse) == []
    # the data tests of the tables keyed by report (meta changed_by) test the rows not yet published,
    # and only those: the others, and the published views named like the marts, test every row
    by_report = {
        node["name"]
        for node in json.loads((warehouse.dbt_target_dir / "manifest.json").read_text(encoding="utf-8"))["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("meta", {}).get("changed_by") == "report"
    }
    tested = _data_tests_by_narrowing(warehouse)
    assert {"fct_indicator_values", "fct_club_snapshots", "fct_beneficiaries"} <= by_report
    assert tested[True] == by_report and not tested[False] & by_report, tested
    # ...and in the facts, which carry the report's month, by the new files' months too (DuckDB
    # skips the other months' row groups); the staging tables have no month to narrow by
    assert _data_tests_by_narrowing(warehouse, NARROWED_BY_MONTH)[True] == {
        "fct_indicator_values",
        "fct_club_snapshots",
        "fct_beneficiaries",
        "fct_funds",
        "fct_activities",
    }
    # the Airflow task of a model with unit tests does not count them as not run
    ok, explanation = graph.model_outcome(results_dir, "agg_indicators_by_period")
    assert ok and "all its tests passed" in explanation, explanation
    assert quality.run_gate(warehouse, "same-rules").passed
    monkeypatch.setenv("QNWU_SMALL_CELL_THRESHOLD", "6")  # a rule of the published layer changes: all tests again
    assert dbt_runner.build_arguments(Settings.from_env()) == ([], {})
    # ...but never dbt's unit tests where CI runs them instead; every data test still runs
    monkeypatch.setenv("QNWU_DBT_UNIT_TESTS_IN_BUILDS", "false")
    assert dbt_runner.build_arguments(Settings.from_env()) == (["--exclude-resource-type", "unit_test"], {})


def test_an_outlier_is_a_warning_and_publishes(warehouse):
    resubmit_with(warehouse, "news_items", 9_000)
    dbt_runner.build(warehouse)
    summary = pipeline.gate_stage("outlier-run")
    assert summary["passed"] and summary["warnings"] >= 1
    with working(warehouse) as con:
        sample = con.execute("""select unexpected_sample from audit.validation_results where run_id = 'outlier-run'
                                and suite_name = 'outlier_unit_values'""").fetchone()[0]
    assert '"value":9000' in sample.replace(" ", "")


def test_sensitive_small_counts_are_suppressed_only_in_the_published_copy(warehouse):
    with duckdb.connect(str(warehouse.published_warehouse), read_only=True) as con:
        published = con.execute("""select count(*) filter (where value_is_suppressed),
                                          count(*) filter (where value > 0 and value < 5)
                                   from marts.fct_beneficiaries where indicator_code like 'violence_victims_%'""").fetchone()
    with duckdb.connect(str(warehouse.working_warehouse), read_only=True) as con:
        exact = con.execute("""select count(*) filter (where value > 0 and value < 5) from marts.fct_beneficiaries
                               where indicator_code like 'violence_victims_%'""").fetchone()[0]
    # every small count is hidden, and complementary cells beside them (docs/privacy.md)
    assert published[1] == 0 and published[0] >= exact > 0


def test_kill_9_while_publishing_leaves_the_old_version_readable(warehouse):
    live = warehouse.published_warehouse
    environment = {**os.environ, "QNWU_DATA_DIR": str(warehouse.data_dir)}
    killed = 0
    # Each kill lands while the new version is being written: a moment after its partial file
    # appears (fixed delays from the start missed it once publish got faster than the first one).
    for number, pause in enumerate((0.0, 0.05, 0.15, 0.3, 0.6)):
        process = subprocess.Popen(
            [sys.executable, "-m", "qnwu_warehouse.cli", "publish", "--run-id", f"kill{number}"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while (
            process.poll() is None
            and not any(warehouse.published_versions_dir.glob(f"*_kill{number}.partial"))
            and time.monotonic() < deadline
        ):
            time.sleep(0.005)
        time.sleep(pause)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        with duckdb.connect(str(live), read_only=True) as con:  # old or new, never a torn file
            assert con.execute("select count(*) from meta.publication").fetchone()[0] == 1
            assert con.execute("select count(*) from marts.fct_indicator_values").fetchone()[0] > 0
    assert killed >= 1
    # What a kill leaves depends on when it lands; make sure the worst case is there: the partial
    # file, DuckDB's write-ahead log beside it, and its spill folder.
    stale = warehouse.published_versions_dir / "20000101T000000000000Z_killed.partial"
    stale.write_bytes(b"torn")
    stale.with_name(stale.name + ".wal").write_bytes(b"torn")
    stale.with_name(stale.name + ".tmp").mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "qnwu_warehouse.cli", "publish", "--run-id", "after-kill"],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(live), read_only=True) as con:
        assert con.execute("select run_id from meta.publication").fetchone()[0] == "after-kill"
    assert sorted(p.name for p in warehouse.published_versions_dir.glob("*.partial*")) == []


def test_rollback_serves_an_earlier_version(warehouse):
    first = versioning.current_version(warehouse)
    pipeline.publish_stage("second-run", {"passed": True})
    assert versioning.current_version(warehouse) != first
    versioning.rollback(warehouse, first.name)
    assert versioning.current_version(warehouse) == first
    with duckdb.connect(str(warehouse.published_warehouse), read_only=True) as con:
        assert con.execute("select run_id from meta.publication").fetchone()[0] == "good-run"
    with pytest.raises(FileNotFoundError):
        versioning.rollback(warehouse, "no-such-version")


def test_a_failed_gate_is_posted_to_the_webhook(warehouse, monkeypatch):
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    monkeypatch.setenv("QNWU_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    resubmit_with(warehouse, "godmother_funds_vnd", -1)
    dbt_runner.build(warehouse)
    with pytest.raises(quality.QualityGateFailed):
        pipeline.gate_stage("alerting-run")
    server.server_close()
    assert received and received[0]["run_id"] == "alerting-run"
    assert "fct_funds" in received[0]["text"]


def test_data_docs_render_in_a_headless_browser_with_no_network(warehouse, tmp_path):
    index = quality.data_docs_index(warehouse)
    assert index.exists()
    # the gate of the built warehouse served the pages' assets from the site itself
    pages = list(index.parent.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        assert data_docs.remote_loads(page.read_text(encoding="utf-8")) == [], page
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is missing: bin/setup installs it (Debian package chromium)"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # networking off: no name resolves and every request goes to a proxy that is not there
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        "--virtual-time-budget=10000",  # the page's scripts run before the DOM is read
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([chromium, *flags, "--dump-dom", index.as_uri()], capture_output=True, text=True, timeout=120)
    # the validation results list is built by bootstrap-table from the page's data: offline, with
    # its script from the CDN, the list stayed empty
    assert dom.stdout.count('data-index="') >= 10, dom.stdout[-2000:]
    assert "fixed-table-pagination" in dom.stdout
    for suite in ("fct_indicator_values", "reconcile_raw_to_facts", "outlier_unit_values"):
        assert suite in dom.stdout, suite
    page = next((index.parent / "validations" / "reconcile_raw_to_facts").rglob("*.html"))
    page_dom = subprocess.run(
        [chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert "Succeeded" in page_dom and "Run Name" in page_dom
    for shown, name in ((index, "data_docs_index.png"), (page, "data_docs.png")):
        screenshot = tmp_path / name
        subprocess.run(
            [chromium, *flags, f"--screenshot={screenshot}", "--window-size=1400,1000", shown.as_uri()],
            capture_output=True,
            timeout=120,
        )
        assert screenshot.exists() and screenshot.stat().st_size > 20_000
        shutil.copyfile(screenshot, warehouse.data_dir / name)
