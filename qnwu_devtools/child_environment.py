"""The environment of a child `qnwu` run started by the benchmark or a test."""

from __future__ import annotations

import os

# Settings a child run keeps from its parent, although every other QNWU_ setting is left out:
# choices about how much a run checks, not about where its data lives. The test suite sets
# QNWU_DBT_UNIT_TESTS_IN_BUILDS=false (tests/conftest.py) and runs dbt's unit tests once; a
# benchmark started from a shell has it unset and measures the default.
INHERITED_SETTINGS = ("QNWU_DBT_UNIT_TESTS_IN_BUILDS",)


def without_settings() -> dict[str, str]:
    """This process's environment without its QNWU_ and AIRFLOW settings (the caller gives the
    child its own data directory, landing and Airflow home), but with INHERITED_SETTINGS."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("QNWU_", "AIRFLOW")) or name in INHERITED_SETTINGS
    }
