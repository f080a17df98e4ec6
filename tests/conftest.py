"""Test-wide setup: Airflow reads its configuration when first imported, so point it at a
throw-away home before any test imports it; nothing a test does touches ./data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock

REPO_ROOT = Path(__file__).resolve().parents[1]

_session_home = Path(tempfile.mkdtemp(prefix="qnwu-tests-"))
atexit.register(shutil.rmtree, _session_home, ignore_errors=True)
os.environ["QNWU_DATA_DIR"] = str(_session_home)
os.environ.pop("QNWU_LANDING_URL", None)
# Tests write their landing files a moment before ingesting them: no settle wait, except in the
# tests of the settle rule itself, which set it.
os.environ["QNWU_LANDING_SETTLE_SECONDS"] = "0"
# dbt's unit tests check the models' logic on fixed inputs: the same outcome in every build of a
# run, whatever the data. They run once, in the shared warehouse's first build below, which
# tests/test_quality_gate.py checks; the forty-odd other first builds of the suite skip them, as a
# deployment whose CI runs them may (3.3-4.6 s of a 16-21 s small build).
os.environ["QNWU_DBT_UNIT_TESTS_IN_BUILDS"] = "false"
from qnwu_warehouse.settings import Settings  # noqa: E402

os.environ.update(Settings.from_env().airflow_environment())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data directory for one test."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("QNWU_DATA_DIR", str(folder))
    monkeypatch.delenv("QNWU_LANDING_URL", raising=False)
    return folder


# The run id of the shared warehouse's one published version.
SHARED_RUN_ID = "good-run"


def _without_july_for_three_units(landing: Path) -> None:
    """Three units never send July 2023: gaps the completeness figures must show as gaps."""
    for unit in sorted({path.name[:5] for path in landing.iterdir() if not path.name.startswith(".")})[:3]:
        for missing in landing.glob(f"{unit}_2023-07*"):
            missing.unlink()


def _built_once(tmp_path_factory, name: str, run_id: str, **build_options) -> Path:
    """A data directory built and published once for the whole run, by whichever xdist worker asks
    first (the others wait on the lock). Read it only: a test that writes takes its own copy
    (qnwu_devtools.data_dirs.copy_data_dir)."""
    from support import build_warehouse  # noqa: PLC0415 (conftest sets the environment first)

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this run
    template = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (template / ".built").exists():
            shutil.rmtree(template, ignore_errors=True)  # what a crashed build left
            build_warehouse(template, run_id, publish=True, **build_options)
            (template / ".built").touch()
    return template


@pytest.fixture(scope="session")
def shared_warehouse(tmp_path_factory) -> Path:
    """40 units x 12 months of 2023 with the generator's bad files, three units without July,
    ingested, built (dbt's unit tests included), gated and published (run id good-run)."""
    return _built_once(
        tmp_path_factory,
        "shared-warehouse",
        SHARED_RUN_ID,
        environment={"QNWU_DBT_UNIT_TESTS_IN_BUILDS": "true"},  # the suite's one run of dbt's unit tests
        prepare_landing=_without_july_for_three_units,
        units=40,
        months=12,
        faults=True,
    )


@pytest.fixture(scope="session")
def province_2023(tmp_path_factory) -> Path:
    """The demo data: every unit of 2023 x 12 months with the generator's bad files, ingested,
    built, gated and published (run id province-2023). The article's figures are read from its
    working marts, the disclosure attack from its published file."""
    return _built_once(tmp_path_factory, "province-2023", "province-2023", year=2023, months=12, faults=True)


# The modules that take longest, longest first (worker seconds on a clean clone of 2cb9107,
# 2026-12-06: 173, 151, 104, 99, 82, 71, 71, 46, 41, 37, 34, 32, 31, 29, 27, 24). bin/test runs two
# workers, each given one module at a time (--dist loadfile) in collection order
# (--no-loadscope-reorder). xdist's own order, most tests first, started the two longest modules
# midway, and one worker ran a long module alone at the end while the other idled: 35 s of a
# 624 s run. Longest first leaves only short modules for the end. A module not named here runs
# after these, in the usual order; the order changes only when tests run, never what they check.
LONGEST_MODULES_FIRST = (
    "test_quality_gate.py",
    "test_benchmark_smoke.py",
    "test_superset.py",
    "test_celery_deployment.py",
    "test_pipeline_end_to_end.py",
    "test_mailbox.py",
    "test_corrections.py",
    "test_disclosure.py",
    "test_dbt_idempotence.py",
    "test_unit_changes.py",
    "test_history.py",
    "test_incremental_publish.py",
    "test_dbt_postgres.py",
    "test_marts_article_figures.py",
    "test_generator.py",
    "test_benchmark_mailbox.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: position for position, name in enumerate(LONGEST_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a module's tests keep their order
