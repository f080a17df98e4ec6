"""The gate and publish after a second load work on what changed, and lose nothing by it.

Reports arrive in two loads (the last month and every correction second). After the first load
the gate validates and publish copies every mart; after the second, the gate validates the rows of
the changed reports and period buckets, and publish replaces those rows in a copy of the live
version. That version must hold exactly what publishing every mart afresh gives.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from support import in_second_load, marts_snapshot, snapshot_differences, using_data_dir

from qnwu_devtools.generator import generate
from qnwu_warehouse.checks.changes import ChangeSet
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.publish import versioning
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow

LAST_MONTH = "2024-02"  # 14 months from 2023-01: the second load leaves most of 2023 untouched


def _publication(version) -> dict:
    with duckdb.connect(str(version), read_only=True) as con:
        cursor = con.execute("select * from meta.publication")
        return dict(zip([column[0] for column in cursor.description], cursor.fetchone(), strict=True))


def _load(settings, files, load_id: str) -> dict:
    for path in files:
        shutil.copy2(path, settings.local_landing_path / path.name)
    ingest(settings, load_id=load_id)
    dbt_runner.build(settings)
    gate = pipeline.gate_stage(load_id)
    published = pipeline.publish_stage(load_id, gate)
    return {"gate": gate, "version": settings.published_versions_dir / published["version"]}


def test_second_load_is_validated_and_published_by_its_changes_and_equals_a_whole_publish(tmp_path):
    incoming = tmp_path / "incoming"
    generate(incoming, units=30, months=14, faults=True)
    files = sorted(p for p in incoming.iterdir() if p.is_file() and not p.name.startswith("."))
    second = [p for p in files if in_second_load(p, LAST_MONTH)]
    first = [p for p in files if p not in second]
    assert first and second

    (tmp_path / "data").mkdir()
    with using_data_dir(tmp_path / "data") as settings:
        settings.local_landing_path.mkdir(parents=True, exist_ok=True)
        first_run = _load(settings, first, "first")
        assert first_run["gate"]["validated"]["whole"] is True
        assert '"whole": true' in _publication(first_run["version"])["copied"]

        second_run = _load(settings, second, "second")
        validated = second_run["gate"]["validated"]
        with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
            second_reports = con.execute(  # reports whose current version came in the second load
                "select count(*) from marts.fct_submission_versions where is_current_placed and loaded_at > "
                "(select max(loaded_at) from raw.submissions where load_id = 'first')"
            ).fetchone()[0]
            total_values = con.execute("select count(*) from marts.fct_indicator_values").fetchone()[0]
            checked_values = con.execute(
                "select max(element_count) from audit.validation_results where run_id = 'second' "
                "and suite_name = 'fct_indicator_values'"
            ).fetchone()[0]
        assert validated["whole"] is False and validated["changed_reports"] == second_reports
        assert 0 < checked_values < total_values  # the gate read the changed rows, not all of them
        incremental_copy = _publication(second_run["version"])["copied"]
        assert '"whole": false' in incremental_copy

        incremental = marts_snapshot(second_run["version"])
        assert "fct_indicator_values" in snapshot_differences(marts_snapshot(first_run["version"]), incremental)

        # the same working marts published afresh, with no live version to start from
        shutil.rmtree(settings.published_dir)
        whole_version = settings.published_versions_dir / pipeline.publish_stage("whole", second_run["gate"])["version"]
        assert '"whole": true' in _publication(whole_version)["copied"]
        assert snapshot_differences(incremental, marts_snapshot(whole_version)) == []


def test_a_new_version_replaces_the_cells_whose_suppression_flipped_in_other_reports_of_a_changed_year(tmp_path):
    """A new report can hide a cell of another report of its year, or show one again; publish
    replaces those rows beside the changed report's, and no other row of the live version."""
    with duckdb.connect(str(tmp_path / "working.duckdb")) as working:
        working.execute("create schema published")
        working.execute(
            "create table published.fct_x (cell_id varchar, submission_id varchar, period varchar, value int, "
            "value_is_suppressed boolean)"
        )
        working.execute("""insert into published.fct_x values
            ('r1:a', 'r1', '2024-02', 7, false),      -- the changed report's cell, with its new value
            ('r2:b', 'r2', '2024-01', 40, false),     -- hidden by the live version, shown now
            ('r3:c', 'r3', '2024-01', null, true),    -- shown by the live version, hidden now
            ('r3:d', 'r3', '2024-01', 12, false),     -- unchanged
            ('r4:e', 'r4', '2023-12', 9, false)       -- another year: hidden in the live version, kept so""")
    version = duckdb.connect(str(tmp_path / "version.duckdb"))
    version.execute(f"attach '{tmp_path / 'working.duckdb'}' as working (read_only)")
    version.execute("create schema marts")
    version.execute("""create table marts.fct_x as select * from (values
        ('r1:a', 'r1', '2024-02', 3, false), ('r2:b', 'r2', '2024-01', null, true),
        ('r3:c', 'r3', '2024-01', 25, false), ('r3:d', 'r3', '2024-01', 12, false),
        ('r4:e', 'r4', '2023-12', null, true)) as t(cell_id, submission_id, period, value, value_is_suppressed)""")
    version.execute("create temp table changed_reports as select 'r1' as submission_id")
    change_set = ChangeSet(
        False,
        "reports changed since the live version",
        reports=1,
        buckets=(("month", "2024-02"), ("quarter", "2024-Q1"), ("year", "2024")),
        kinds={"fct_x": "report"},
        cell_keys={"fct_x": "cell_id"},
    )
    row_filter = versioning._changed_rows(version, "fct_x", change_set)
    replaced = [
        version.execute(f"select cell_id from marts.fct_x where {part} order by 1").fetchall() for part in row_filter
    ]
    assert replaced == [[("r1:a",)], [("r2:b",), ("r3:c",)]]

    assert versioning._write_marts(version, {"fct_x": row_filter}) == {"fct_x": 5}
    assert version.execute("select cell_id, value, value_is_suppressed from marts.fct_x order by 1").fetchall() == [
        ("r1:a", 7, False),
        ("r2:b", 40, False),
        ("r3:c", None, True),
        ("r3:d", 12, False),
        ("r4:e", None, True),
    ]
    version.close()


def _file_system_type(path) -> str:
    """The type of the file system holding path, from the longest mount point above it."""
    resolved, best, kind = str(path.resolve()), "", ""
    for line in open("/proc/self/mounts", encoding="utf-8"):  # noqa: SIM115 (read whole at once)
        _device, mount_point, fs_type, *_ = line.split()
        if (resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")) and len(mount_point) > len(best):
            best, kind = mount_point, fs_type
    return kind


def test_a_new_version_starts_as_a_clone_where_the_file_system_shares_blocks_and_a_copy_elsewhere(tmp_path):
    live, new = tmp_path / "live.duckdb", tmp_path / "new.partial"
    content = bytes(range(256)) * 16_384  # 4 MiB
    live.write_bytes(content)
    method = versioning.clone_or_copy(live, new)
    assert method == ("clone" if _file_system_type(tmp_path) in {"xfs", "btrfs"} else "copy")
    assert new.read_bytes() == content
    with new.open("r+b") as changed:  # a replaced row in the new version leaves the live one as it was
        changed.write(b"\xff" * 4096)
    assert live.read_bytes() == content and new.read_bytes()[:4096] == b"\xff" * 4096
