"""Smoke run of `qnwu bench pipeline --scale smoke`: the benchmark still works end to end.

It checks that every stage ran and reported sane figures, that the plain-DuckDB baseline builds
the very same rows as the dbt marts (otherwise the comparison would be meaningless), and that the
incremental scenario ran. It does not check how fast anything is: that depends on the machine.
"""

from __future__ import annotations

import json

import pytest
from support import run_qnwu_cli

pytestmark = pytest.mark.slow

EVERY_STAGE = {"ingest", "build", "gate", "publish", "airflow"}


@pytest.fixture(scope="module")
def smoke_bench(tmp_path_factory) -> tuple[dict, str]:
    workdir = tmp_path_factory.mktemp("bench")
    results = workdir / "smoke.json"
    done = run_qnwu_cli(
        # one pair: the medians over several pairs are checked in test_benchmark_pairing.py
        ["bench", "pipeline", "--scale", "smoke", "--workdir", str(workdir), "--json", str(results), "--repeats", "1"],
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(results.read_text(encoding="utf-8")), done.stdout


def test_every_stage_of_the_full_load_ran_with_sane_figures(smoke_bench):
    report, _ = smoke_bench
    full_load = [s for s in report["stages"] if s["phase"].startswith("full load")]
    assert {s["stage"] for s in full_load} == EVERY_STAGE
    for stage in report["stages"]:
        assert stage["exit_code"] == 0, stage
        assert stage["items"] > 0 and stage["seconds"] > 0 and stage["peak_mb"] > 0, stage
        assert stage["per_second"] > 0, stage
    ingested = sum(s["items"] for s in full_load if s["stage"] == "ingest")
    assert ingested == report["data"]["files"]
    assert {s["phase"] for s in full_load if s["stage"] == "ingest"} == {
        "full load (csv)",
        "full load (json)",
        "full load (xlsx)",
    }


def test_stages_with_a_baseline_carry_their_ratio(smoke_bench):
    report, _ = smoke_bench
    for stage in report["stages"]:
        if stage["phase"] == "full load" and stage["stage"] in {"build", "gate", "publish", "airflow"}:
            assert stage["baseline_seconds"] > 0 and stage["ratio_to_baseline"] > 0, stage
    for step in ("transform", "checks", "copy"):
        assert report["baseline"][step]["seconds"] > 0 and report["baseline"][step]["peak_mb"] > 0


def test_the_gate_is_compared_with_its_checks_in_pairs_on_copies_of_the_state_it_found(smoke_bench):
    """The gate's target is judged on gate and checks run back to back, not on one run of each
    minutes apart; the single run's ratio is kept beside it."""
    report, printed = smoke_bench
    pairs = report["facts"]["gate_pairs"]
    assert pairs["phase"] == "full load"
    gates, checks = pairs["gate_seconds_per_pair"], pairs["checks_seconds_per_pair"]
    assert len(gates) == len(checks) == 1  # --repeats 1
    assert all(seconds > 0 for seconds in gates + checks)
    assert pairs["ratio_per_pair"] == [round(g / c, 2) for g, c in zip(gates, checks, strict=True)]
    assert report["figures"]["gate_ratio_to_baseline"] == pairs["median_ratio"] == pairs["ratio_per_pair"][0]
    single = next(s for s in report["stages"] if s["phase"] == "full load" and s["stage"] == "gate")
    assert report["figures"]["gate_ratio_to_baseline_one_run"] == single["ratio_to_baseline"]
    assert f"/ its checks as plain SQL, run in pairs on copies of the state it found: gate {gates} s" in printed


def test_the_baseline_builds_the_same_rows_as_the_marts(smoke_bench):
    report, _ = smoke_bench
    differences = report["baseline"]["matches_marts"]
    assert {
        "fct_indicator_values",
        "fct_club_snapshots",
        "agg_indicators_by_period",
        "agg_clubs_by_period",
        "agg_reporting_completeness",
        "fct_reporting_completeness",
    } <= set(differences)
    assert differences == dict.fromkeys(differences, 0)


def test_the_incremental_scenario_compares_the_newest_month_with_the_first(smoke_bench):
    report, _ = smoke_bench
    incremental = report["facts"]["incremental"]
    assert incremental["history_months"] == 2
    assert incremental["first_month_submissions"] > 0 and incremental["newest_month_submissions"] > 0
    assert incremental["stage_cost_ratio"] > 0 and incremental["airflow_cost_ratio"] > 0
    assert set(incremental["newest_month_per_stage"]) == EVERY_STAGE - {"airflow"}  # of the median run
    assert len(incremental["first_month_stage_seconds_per_run"]) == 1  # one pair of runs
    assert len(incremental["newest_month_stage_seconds_per_run"]) == 1
    difference = incremental["per_stage_difference"]
    assert set(difference) == EVERY_STAGE - {"airflow"}
    per_stage = {s["phase"]: {} for s in report["stages"]}
    for s in report["stages"]:
        per_stage[s["phase"]][s["stage"]] = s["seconds"]
    for stage, row in difference.items():  # the pair's newest-minus-first, from the measured seconds
        measured = per_stage["newest month, run 1"][stage] - per_stage["first month, run 1"][stage]
        assert row["difference_per_pair_s"] == [pytest.approx(measured, abs=0.011)]
        assert row["difference_s"] == pytest.approx(measured, abs=0.011)
        assert all(delta > 0 for _, delta in row["spent_on"])  # the parts that grew most, if any
    # what each dbt build and gate spent its time on: dbt's nodes, the gate's phases and suites
    newest = {s["stage"]: s for s in report["stages"] if s["phase"] == "newest month, run 1"}
    assert newest["build"]["profile"]["model fct_indicator_values"] >= 0
    assert {"phase gx_validation", "phase gx_data_docs", "suite reconcile_raw_to_facts"} <= set(newest["gate"]["profile"])
    phases = {s["phase"] for s in report["stages"]}
    assert {"first month, run 1", "newest month, run 1", "history (2 months)"} <= phases
    assert {"first month", "newest month"} <= phases  # the two runs through Airflow


def test_the_table_and_the_target_are_printed(smoke_bench):
    report, out = smoke_bench
    assert "pipeline (Airflow)" in out and "x baseline" in out
    assert "baseline = marts: yes" in out
    assert [t["target"] for t in report["targets"]] == [
        "published history and its audit across versions < 5% of every publish",
        "smoke load end to end through Airflow < 60 s",
        "every peak < 4 GB",
    ]
    # the published history's cost and size per publish (publish/history.py)
    full_load = report["history"]["full load"]
    assert full_load["rows_appended"] == full_load["rows_in_all"] > 0 and full_load["mb_in_all"] > 0
    newest = report["history"]["newest month, run 1"]
    assert 0 < newest["rows_appended"] < newest["rows_in_all"]
    assert 0 <= newest["share_pct"] == pytest.approx(100 * newest["history_s"] / newest["publish_s"], abs=0.01)
    assert "history, full load: +" in out
    assert "newest-first s" in out  # the per-stage difference of the newest month against the first
    assert report["airflow_task_seconds"]["full load"]["qnwu_publish.build_marts"] > 0
