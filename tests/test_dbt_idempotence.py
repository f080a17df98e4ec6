"""Building twice gives identical marts, and the incremental facts agree with a full rebuild.

Reports arrive in two loads: first the earlier months' first versions, then the last month and the
corrected (_v2) versions of earlier months. After the first load, a second `dbt build` with nothing new
must leave every mart exactly as it was. After the second load, the incremental build (which rewrites
only the reports loaded since its last run, delete+insert per report) must give exactly the marts a
`--full-refresh` rebuild gives. The second load also brings a late arrival: a version sent before its
report's current version but loaded after it, which renumbers every version of that report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from support import BUILT_SCHEMAS, in_second_load, marts_snapshot, snapshot_differences

from qnwu_devtools.generator import generate
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow


def test_rebuilds_are_idempotent_and_incremental_equals_full_refresh(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("QNWU_DATA_DIR", str(data_dir))
    monkeypatch.delenv("QNWU_LANDING_URL", raising=False)
    settings = Settings.from_env()
    settings.ensure_data_dir()
    incoming = tmp_path / "incoming"
    report = generate(incoming, units=30, months=3, faults=True)
    assert report.resubmissions >= 1
    files = sorted(p for p in incoming.iterdir() if p.is_file() and not p.name.startswith("."))
    second = [p for p in files if in_second_load(p, "2023-03")]
    first = [p for p in files if p not in second]
    assert first and second and any("_v2" in p.stem for p in second)

    landing = settings.local_landing_path
    landing.mkdir(parents=True, exist_ok=True)
    for path in first:
        shutil.copy2(path, landing / path.name)
    ingest(settings, load_id="first")
    dbt_runner.build(settings)
    after_first_build = marts_snapshot(settings.working_warehouse, BUILT_SCHEMAS)
    assert after_first_build["fct_indicator_values"][0] > 0

    dbt_runner.build(settings)  # nothing new arrived
    assert snapshot_differences(after_first_build, marts_snapshot(settings.working_warehouse, BUILT_SCHEMAS)) == []

    for path in second:
        shutil.copy2(path, landing / path.name)
    late_hash, report = _a_late_arrival(settings, landing)
    ingest(settings, load_id="second")
    dbt_runner.build(settings)  # the incremental models take in the second load and the late arrival only
    incremental = marts_snapshot(settings.working_warehouse, BUILT_SCHEMAS)
    assert "fct_indicator_values" in snapshot_differences(after_first_build, incremental)
    with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
        versions = con.execute(
            "select file_hash, submission_version, is_current from marts.fct_submission_versions "
            "where submission_id = ? order by submission_version",
            [report],
        ).fetchall()
    # sent first, so numbered first although loaded last: every version of its report renumbered
    assert versions[0] == (late_hash, 1, False) and len(versions) >= 2 and versions[-1][2]

    dbt_runner.run_dbt(settings, "run", "--full-refresh")
    assert snapshot_differences(incremental, marts_snapshot(settings.working_warehouse, BUILT_SCHEMAS)) == []


def _a_late_arrival(settings: Settings, landing: Path) -> tuple[str, str]:
    """A version of a report of the first load, sent a day before that report's first version but
    landing only now (as a unit's delayed mail would); returns (its file hash, its report's id)."""
    with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
        name = con.execute(
            "select file_name from raw.received_files where load_id = 'first' and outcome = 'accepted' "
            "and file_name like '%.json' order by file_name limit 1"
        ).fetchone()[0]
    original = landing / name
    content = json.loads(original.read_text(encoding="utf-8"))
    header = content["header"]
    header["submitted_at"] = (dt.datetime.fromisoformat(header["submitted_at"]) - dt.timedelta(days=1)).isoformat()
    content["values"][0]["value"] += 1
    late = landing / f"{original.stem}_late.json"
    late.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return hashlib.sha256(late.read_bytes()).hexdigest(), f"{header['unit_code']}:{header['period']}"
