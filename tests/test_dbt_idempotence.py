"""Building twice gives identical marts, and the incremental facts agree with a full rebuild.

Reports arrive in two loads: first the earlier months' first versions, then the last month and the
corrected (_v2) versions of earlier months. After the first load, a second `dbt build` with nothing new
must leave every mart exactly as it was. After the second load, the incremental build (which rewrites
only the reports loaded since its last run, delete+insert per report) must give exactly the marts a
`--full-refresh` rebuild gives.
"""

from __future__ import annotations

import shutil

import pytest
from support import in_second_load, marts_snapshot, snapshot_differences

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
    after_first_build = marts_snapshot(settings.working_warehouse)
    assert after_first_build["fct_indicator_values"][0] > 0

    dbt_runner.build(settings)  # nothing new arrived
    assert snapshot_differences(after_first_build, marts_snapshot(settings.working_warehouse)) == []

    for path in second:
        shutil.copy2(path, landing / path.name)
    ingest(settings, load_id="second")
    dbt_runner.build(settings)  # the incremental facts take in the second load only
    incremental = marts_snapshot(settings.working_warehouse)
    assert "fct_indicator_values" in snapshot_differences(after_first_build, incremental)

    dbt_runner.run_dbt(settings, "run", "--full-refresh")
    assert snapshot_differences(incremental, marts_snapshot(settings.working_warehouse)) == []
