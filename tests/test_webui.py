"""`make webui` on a fresh shell: `qnwu webui` starts `airflow standalone`, which starts its
components as `airflow ...` from PATH. A fresh shell does not have .venv/bin on PATH, so the
command must work from a bare PATH too."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

QNWU = Path(sys.executable).with_name("qnwu")
MISSING_AIRFLOW = "No such file or directory: 'airflow'"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP answer of any status: the API server is up
    except OSError:
        return False


def _stop_group(process: subprocess.Popen) -> None:
    """Stop `airflow standalone` and every component it started (all in the process's group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    process.wait()


def test_webui_starts_airflow_without_the_virtualenv_on_path(tmp_path: Path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = _free_port()
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "QNWU_DATA_DIR": str(data_dir),
        "AIRFLOW__API__PORT": str(port),
    }
    log_path = tmp_path / "webui.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(QNWU), "webui"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        up = False
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(port):
                up = True
                break
            if MISSING_AIRFLOW in log_path.read_text(errors="replace"):
                break  # a component could not start: no need to wait for the deadline
            time.sleep(2)
    finally:
        _stop_group(process)
    output = log_path.read_text(errors="replace")
    assert MISSING_AIRFLOW not in output, output[-3000:]
    assert up, f"the API server did not answer on port {port} within 180 s:\n{output[-3000:]}"
