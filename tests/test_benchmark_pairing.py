"""The benchmark's arithmetic for paired runs, on measurements whose answer is known.

The smoke run (test_benchmark_smoke.py) runs every stage once for real; the medians and
newest-minus-first differences over several pairs are checked here, where two and three pairs cost
nothing and each figure can be worked out by hand.
"""

from __future__ import annotations

import pytest

from qnwu_devtools.benchmark import SCALES, STAGES, PipelineBench, PreparedData, StageResult, _median_index


def bench_with(tmp_path, seconds_by_phase: dict[str, dict[str, float]], profiles=None) -> PipelineBench:
    bench = PipelineBench(SCALES["smoke"], tmp_path, PreparedData(tmp_path, None, None, None, None), repeats=3)
    for phase, seconds in seconds_by_phase.items():
        for stage, value in seconds.items():
            profile = (profiles or {}).get((phase, stage))
            bench.results.append(StageResult(phase, stage, 10, "submissions", value, 100, 0, profile=profile))
    return bench


def same_for_every_stage(value: float) -> dict[str, float]:
    return dict.fromkeys(STAGES, value)


def test_the_median_run_is_the_lower_middle_one():
    assert _median_index([5.0, 1.0, 3.0]) == 2
    assert _median_index([4.0, 2.0]) == 1  # of two, the lower
    assert _median_index([7.0]) == 0


def test_each_stage_difference_is_the_median_of_its_pairs(tmp_path):
    labels = [(f"first month, run {n}", f"newest month, run {n}") for n in (1, 2, 3)]
    # pair differences per stage: 1.0, 4.5 and 2.5 s (mean 2.67), so the median pair is run 3
    bench = bench_with(
        tmp_path,
        {
            "first month, run 1": same_for_every_stage(10.0),
            "newest month, run 1": same_for_every_stage(11.0),
            "first month, run 2": same_for_every_stage(9.0),
            "newest month, run 2": same_for_every_stage(13.5),
            "first month, run 3": same_for_every_stage(8.0),
            "newest month, run 3": same_for_every_stage(10.5),
        },
        profiles={
            ("first month, run 3", "gate"): {"suite a": 1.0, "suite b": 2.0, "phase data_docs": 1.0},
            ("newest month, run 3", "gate"): {"suite a": 2.5, "suite b": 1.5, "phase data_docs": 3.0},
        },
    )
    table = bench.per_stage_difference(labels)
    assert set(table) == set(STAGES)
    gate = table["gate"]
    assert gate["difference_per_pair_s"] == [1.0, 4.5, 2.5]
    assert gate["difference_s"] == 2.5
    assert gate["first_s"] == 9.0 and gate["newest_s"] == 11.0  # each side's own median
    assert gate["ratio"] == pytest.approx(11.0 / 9.0, abs=0.01)
    # what the median pair's gate grew on: suites only (phases are not parts), and only growth
    assert gate["spent_on"] == [("suite a", 1.5)]
    assert table["build"]["spent_on"] == []  # no profile, nothing to attribute


def test_two_pairs_give_the_mean_of_their_differences(tmp_path):
    labels = [(f"first month, run {n}", f"newest month, run {n}") for n in (1, 2)]
    bench = bench_with(
        tmp_path,
        {
            "first month, run 1": same_for_every_stage(10.0),
            "newest month, run 1": same_for_every_stage(12.0),
            "first month, run 2": same_for_every_stage(10.0),
            "newest month, run 2": same_for_every_stage(15.0),
        },
    )
    row = bench.per_stage_difference(labels)["ingest"]
    assert row["difference_per_pair_s"] == [2.0, 5.0]
    assert row["difference_s"] == 3.5
    assert bench.cost("newest month, run 2", ("ingest", "build")) == 30.0
