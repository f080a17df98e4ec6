"""Running dbt over the working warehouse.

dbt runs as one `dbt build` (seeds, models and their data tests in dependency order) in a
child process, holding the writer lock for the whole build. One process, not one Airflow task
per model: dbt's start-up costs seconds, and paying it per model (Cosmos LOCAL mode) would
dominate a run whose SQL takes well under a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from qnwu_warehouse.settings import DBT_PROJECT_DIR, Settings
from qnwu_warehouse.warehouse import writer_lock


class DbtFailed(Exception):
    """dbt build failed; the message carries the end of dbt's own output."""


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Everything dbt writes (target, logs) goes under the data directory, nothing elsewhere."""
    return {
        **os.environ,
        "QNWU_DATA_DIR": str(settings.data_dir),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.dbt_log_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def run_dbt(settings: Settings, *args: str) -> str:
    """Run one dbt command under the writer lock; raise DbtFailed with its output if it fails."""
    command = [dbt_executable(), *args]
    with writer_lock(settings):
        completed = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=dbt_environment(settings),
                                   capture_output=True, text=True)
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-40:])
        raise DbtFailed(f"`dbt {' '.join(args)}` failed (exit {completed.returncode}):\n{tail}")
    return output


def build(settings: Settings) -> str:
    return run_dbt(settings, "build", "--fail-fast")
