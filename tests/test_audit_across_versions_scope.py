"""Publish's disclosure audit across versions reads only the changed years when the live version's
own audit covered the rest, and all of them on a full sweep, after a rollback, or when a version
file is new to the comparison (publish/versioning.py, _history_audit_scope).

One warehouse for the module: 20 units from January 2023 to February 2024, a July 2023 report and
two February 2024 reports held back. Version 1 publishes the rest, version 2 adds the July report,
versions 3 and 5 a February one each, versions 4 and 6 are full sweeps. What each version's audit
found is checked against the same audit run from scratch over every year, on the version file
itself (disclosure/audit.py, pinned_by_history).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from support import build_warehouse, using_data_dir

from qnwu_warehouse.disclosure import audit
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.publish import versioning
from qnwu_warehouse.transform import dbt_runner

HELD_BACK = {"2023-07": 1, "2024-02": 2}  # period: reports held back


def _across_versions(version_file: Path) -> dict:
    with duckdb.connect(str(version_file), read_only=True) as con:
        (disclosure,) = con.execute("select disclosure from meta.publication").fetchone()
    return json.loads(disclosure)["across_versions"]


def _found_from_scratch(settings, version_file: Path) -> Counter:
    """{year: cells hidden in the version that an earlier version published with their true value},
    every year audited, against every other version file in the versions folder."""
    con = duckdb.connect(str(version_file), read_only=True)
    try:
        con.execute(f"attach '{settings.working_warehouse}' as working (read_only)")
        others = {}
        for number, path in enumerate(versioning.versions(settings)):
            if path.stat().st_ino != version_file.stat().st_ino:
                con.execute(f"attach '{path}' as other_{number} (read_only)")
                others[f"other_{number}"] = path.stem
        catalog = con.execute("select current_database()").fetchone()[0]
        pinned = audit.pinned_by_history(con, catalog, "working.disclosure.disclosure_sensitive_cells", others)
    finally:
        con.close()
    return Counter(cell.split(":")[1][:4] for cell in pinned)


def _load_and_publish(settings, run_id: str, held_back_file: Path | None, **environment: str) -> Path:
    """Load a held-back report and publish; without one, publish the working marts again."""
    with using_data_dir(settings.data_dir, QNWU_LANDING_SETTLE_SECONDS="0", **environment):
        if held_back_file is not None:
            shutil.move(held_back_file, settings.data_dir / "landing" / held_back_file.name)
            ingest(settings, load_id=run_id)
            dbt_runner.build(settings)
        pipeline.publish_stage(run_id, pipeline.gate_stage(run_id))
    return versioning.current_version(settings)


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    held_back_dir = tmp_path_factory.mktemp("held-back")

    def hold_back(landing: Path) -> None:
        for period, count in HELD_BACK.items():
            for late in sorted(landing.glob(f"*_{period}.*"))[:count]:
                shutil.move(late, held_back_dir / late.name)

    data_dir = tmp_path_factory.mktemp("audit-scope")
    settings = build_warehouse(data_dir, "scope-1", publish=True, prepare_landing=hold_back, year=2023, months=14, units=20)
    return settings, sorted(held_back_dir.iterdir(), key=lambda late: late.name.split("_")[1])


def _forge_an_earlier_publication(settings, version_file: Path) -> str:
    """Forge into a version file's history a version 0 that "published" a hidden 2023 roll-up with
    its true value, as if an earlier version had given it away; returns the cell."""
    with duckdb.connect(str(version_file)) as con:
        con.execute(f"attach '{settings.working_warehouse}' as working (read_only)")
        forged = con.execute("""
            select figures.indicator_total_id, truth.value
            from marts.agg_indicators_by_period as figures
            join working.disclosure.disclosure_sensitive_cells as truth on truth.cell_id = figures.indicator_total_id
            where figures.value_is_suppressed and figures.period_label like '2023%' and figures.scope_level <> 'unit'
            order by figures.indicator_total_id limit 1""").fetchone()
        assert forged is not None, "no roll-up of 2023 is hidden: the forgery needs one"
        con.execute("insert into history.versions values (0, 'forged-0', 'forged', '2020-01-01', false, 'forged', 0, 0)")
        con.execute(
            """insert into history.figure_changes
            select 0, figure_table, figure_id, measure, period_grain, period_label, scope_level, scope_code,
                subject_code, category, ?, false, false
            from history.figure_changes where figure_id = ? order by version_seq limit 1""",
            [forged[1], forged[0]],
        )
    return forged[0]


def _edit_across_versions(version_file: Path, **changes) -> None:
    """Change what a version file's meta.publication says its audit across versions found."""
    with duckdb.connect(str(version_file)) as con:
        (disclosure,) = con.execute("select disclosure from meta.publication").fetchone()
        disclosure = json.loads(disclosure)
        disclosure["across_versions"].update(changes)
        con.execute("update meta.publication set disclosure = ?", [json.dumps(disclosure)])


@pytest.mark.slow
def test_a_late_report_audits_its_own_year_and_carries_the_others_as_the_live_version_found_them(two_years):
    """Each version's audit against the same audit from scratch, over every year."""
    settings, late = two_years
    first = versioning.current_version(settings)
    assert _across_versions(first)["years_audited"] == "all"  # nothing to build on yet
    second = _load_and_publish(settings, "scope-2", late[0])  # the July 2023 report
    summary = _across_versions(second)
    print("version 2:", summary)
    assert summary["years_audited"] == ["2023"] and summary["versions"] == [first.stem]
    assert summary["already_published_by_year"] == dict(_found_from_scratch(settings, second))

    # Real data gives no cell away (the choice of hidden cells avoids public ones), so what the live
    # version's audit found in 2023 is set by hand: the next version, which audits 2024 only,
    # carries it as found; the full sweep after it counts 2023 again, from the files.
    carried = {"already_published_by_year": {"2023": 3}, "already_published_sample": ["x:2023-05:y in earlier"]}
    _edit_across_versions(second, **carried)
    third = _load_and_publish(settings, "scope-3", late[1])  # a February 2024 report
    summary, from_scratch = _across_versions(third), _found_from_scratch(settings, third)
    print("version 3:", summary)
    assert summary["years_audited"] == ["2024"] and summary["full_audit_at"] == _across_versions(first)["full_audit_at"]
    assert summary["already_published_by_year"] == {"2023": 3} | (
        {"2024": from_scratch["2024"]} if from_scratch["2024"] else {}
    )
    assert summary["already_published_earlier"] == 3 + from_scratch["2024"]
    assert summary["already_published_sample"][-1] == "x:2023-05:y in earlier"
    swept = _load_and_publish(settings, "scope-4", None, QNWU_FULL_SWEEP_HOURS="0")
    summary = _across_versions(swept)
    print("version 4, a full sweep:", summary)
    assert summary["years_audited"] == "all" and summary["scope"].startswith("every year: QNWU_FULL_SWEEP_HOURS=0")
    assert summary["already_published_by_year"] == dict(_found_from_scratch(settings, swept))

    # A cell that only an earlier version gives away, forged into the live file's history: the next
    # version audits 2024 only and cannot see it; the sweep reads 2023 again, finds it, and with it
    # known the audit pins other hidden cells of 2023, so that version is refused.
    forged = _forge_an_earlier_publication(settings, swept)
    fifth = _load_and_publish(settings, "scope-5", late[2])  # another February 2024 report
    summary, from_scratch = _across_versions(fifth), _found_from_scratch(settings, fifth)
    print("version 5:", summary, "from scratch:", from_scratch)
    assert summary["years_audited"] == ["2024"] and summary["already_published_by_year"].get("2023", 0) == 0
    assert from_scratch["2023"] >= 1
    with pytest.raises(versioning.DisclosureRefused, match="published with the same value by an earlier version"):
        _load_and_publish(settings, "scope-6", None, QNWU_FULL_SWEEP_HOURS="0")
    assert versioning.current_version(settings) == fifth
    print("forged:", forged)


@pytest.mark.slow
def test_after_a_rollback_every_year_is_audited_again(two_years):
    """Runs after the test above: the versions the rollback withdrew were never compared with the
    version rolled back to."""
    settings, _late = two_years
    first = versioning.versions(settings)[0]
    with using_data_dir(settings.data_dir):
        versioning.rollback(settings, first.stem)
    after = _load_and_publish(settings, "scope-after-rollback", None)
    summary = _across_versions(after)
    print("after the rollback:", summary)
    assert summary["years_audited"] == "all" and "rollback" in summary["scope"]
    assert summary["already_published_by_year"] == dict(_found_from_scratch(settings, after))


@pytest.mark.parametrize(
    "across_versions",
    [
        None,
        "not an object",
        {"versions": [], "already_published_by_year": {}, "already_published_sample": []},  # no full_audit_at
        {"full_audit_at": "yesterday", "versions": [], "already_published_by_year": {}, "already_published_sample": []},
        {
            "full_audit_at": "2026-12-07T10:00:00",
            "versions": [],
            "already_published_by_year": {},
            "already_published_sample": [],
        },
        {
            "full_audit_at": "2026-12-07T10:00:00+00:00",
            "versions": "v1",
            "already_published_by_year": {},
            "already_published_sample": [],
        },
        {
            "full_audit_at": "2026-12-07T10:00:00+00:00",
            "versions": [],
            "already_published_by_year": {"2023": "3"},
            "already_published_sample": [],
        },
        {
            "full_audit_at": "2026-12-07T10:00:00+00:00",
            "versions": [],
            "already_published_by_year": [],
            "already_published_sample": [],
        },
        {
            "full_audit_at": "2026-12-07T10:00:00+00:00",
            "versions": [],
            "already_published_by_year": {},
            "already_published_sample": ["no year"],
        },
    ],
)
def test_a_live_record_of_another_shape_means_every_year_is_audited_not_a_failed_publish(across_versions):
    """What the next publish builds on is read from the live file, which an older version of the code
    (or a hand) may have written otherwise: anything but the expected shape reads as no record (so
    every year is audited), never as an exception that stops publishing."""
    con = duckdb.connect()
    con.execute("create schema meta")
    con.execute(
        "create table meta.publication as select ?::varchar as disclosure",
        [json.dumps({"across_versions": across_versions})],
    )
    assert versioning._live_history_audit(con) is None
    good = {
        "full_audit_at": "2026-12-07T10:00:00+00:00",
        "versions": ["v1"],
        "already_published_by_year": {"2023": 3},
        "already_published_sample": ["x:2023-05:y in v1"],
    }
    con.execute("update meta.publication set disclosure = ?", [json.dumps({"across_versions": good})])
    assert versioning._live_history_audit(con)["already_published_by_year"] == {"2023": 3}
    con.execute("delete from meta.publication")
    assert versioning._live_history_audit(con) is None
