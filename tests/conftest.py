"""Test-wide setup: Airflow reads its configuration when first imported, so point it at a
throw-away home before any test imports it; nothing a test does touches ./data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

_session_home = Path(tempfile.mkdtemp(prefix="qnwu-tests-"))
atexit.register(shutil.rmtree, _session_home, ignore_errors=True)
os.environ["QNWU_DATA_DIR"] = str(_session_home)
os.environ.pop("QNWU_LANDING_URL", None)
# Tests write their landing files a moment before ingesting them: no settle wait, except in the
# tests of the settle rule itself, which set it.
os.environ["QNWU_LANDING_SETTLE_SECONDS"] = "0"
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
