"""Bad configuration gives one line that says what to do, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

QNWU = [sys.executable, "-m", "qnwu_warehouse.cli"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("QNWU_", "AIRFLOW"))}
    environment.update(env)
    return subprocess.run(QNWU + args, env=environment, capture_output=True, text=True, timeout=120)


def _assert_one_line(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0]


def test_missing_data_directory(tmp_path: Path):
    missing = tmp_path / "nowhere"
    _assert_one_line(_run(["run"], QNWU_DATA_DIR=str(missing)), str(missing), "mkdir -p")


def test_unwritable_data_directory_as_file(tmp_path: Path):
    # Tests run as root, where permission bits do not stop writes; a file standing where a
    # folder must be created fails the same way an unwritable folder does.
    data = tmp_path / "data"
    data.mkdir()
    (data / "warehouse").write_text("not a folder")
    _assert_one_line(_run(["run"], QNWU_DATA_DIR=str(data)), "not writable", "QNWU_DATA_DIR")


def test_absent_landing_folder(tmp_path: Path):
    _assert_one_line(_run(["run"], QNWU_DATA_DIR=str(tmp_path), QNWU_LANDING_URL=str(tmp_path / "inbox")),
                     "landing folder", "QNWU_LANDING_URL")


def test_malformed_setting(tmp_path: Path):
    _assert_one_line(_run(["run"], QNWU_DATA_DIR=str(tmp_path), QNWU_PUBLISHED_VERSIONS_KEPT="many"),
                     "QNWU_PUBLISHED_VERSIONS_KEPT", "many")


def test_state_stays_under_the_data_directory(data_dir: Path):
    from qnwu_warehouse.settings import Settings

    settings = Settings.from_env()
    paths = [settings.working_warehouse, settings.published_warehouse, settings.archive_dir,
             settings.quarantine_dir, settings.airflow_home, settings.dbt_target_dir, settings.dbt_log_dir,
             settings.gx_dir, Path(settings.landing_url)]
    outside = [p for p in paths if data_dir.resolve() not in p.parents]
    assert outside == []
    airflow = settings.airflow_environment()
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{data_dir.resolve()}/airflow/airflow.db"
