"""dbt run through the helper that has imported it once (qnwu_warehouse/transform/dbt_process.py):
each command ends as the `dbt` command would, a timeout or a lost helper costs only its command,
and a second caller thread is not held up by the first."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from qnwu_warehouse.settings import DBT_PROJECT_DIR
from qnwu_warehouse.transform import dbt_process

pytestmark = pytest.mark.slow


def _environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra}


def _project_environment(folder: Path) -> dict[str, str]:
    """dbt on this project, writing under `folder`."""
    return _environment(
        DBT_PROJECT_DIR=str(DBT_PROJECT_DIR),
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_TARGET_PATH=str(folder / "target"),
        DBT_LOG_PATH=str(folder / "logs"),
        QNWU_DATA_DIR=".",
    )


def test_a_command_ends_as_the_dbt_command_does(tmp_path: Path):
    """The same exit code and messages through the helper's child as from `dbt` itself: a command
    that succeeds, and one that cannot run (no project, no profile)."""
    not_a_project = tmp_path / "empty"
    not_a_project.mkdir()
    for args, code, words in (
        (["--version"], 0, "installed:"),
        (["--no-use-colors", "parse", "--profiles-dir", str(tmp_path / "no-profiles")], 2, "no-profiles' does not exist"),
    ):
        environment = _environment(DBT_LOG_PATH=str(tmp_path / "logs"), DBT_TARGET_PATH=str(tmp_path / "target"))
        through_helper = dbt_process.run(args, cwd=not_a_project, env=environment)
        directly = dbt_process.run_directly(args, not_a_project, environment, None)
        assert (through_helper.returncode, directly.returncode) == (code, code), through_helper.stdout + directly.stdout
        assert words in through_helper.stdout and words in directly.stdout
        if code:
            assert through_helper.stdout == directly.stdout  # dbt's own message, word for word
        assert through_helper.stderr == ""
    assert dbt_process._helper is not None and dbt_process._helper.poll() is None  # it served, and waits


def test_a_missing_folder_is_the_same_error_both_ways(tmp_path: Path):
    missing = tmp_path / "not-there"
    for run in (dbt_process.run, lambda args, cwd, env: dbt_process.run_directly(args, cwd, env)):
        with pytest.raises(FileNotFoundError, match="not-there"):
            run(["--version"], cwd=missing, env=_environment())


def test_a_timeout_kills_its_command_and_the_helper_serves_the_next(tmp_path: Path):
    environment = _project_environment(tmp_path)
    dbt_process.run(["--version"], cwd=tmp_path, env=environment)  # the helper is up
    helper = dbt_process._helper.pid
    with pytest.raises(subprocess.TimeoutExpired):
        dbt_process.run(["--no-use-colors", "parse", "--no-partial-parse"], cwd=tmp_path, env=environment, timeout=0.5)
    children = Path(f"/proc/{helper}/task/{helper}/children").read_text().split()
    assert children == []  # the parse was killed, not left running...
    assert not (tmp_path / "target" / "manifest.json").exists()  # ...nor waited for: it never finished
    assert dbt_process.run(["--version"], cwd=tmp_path, env=environment).returncode == 0
    assert dbt_process._helper.pid == helper


def test_a_lost_helper_is_started_again(tmp_path: Path):
    dbt_process.run(["--version"], cwd=tmp_path, env=_environment())
    lost = dbt_process._helper
    os.kill(lost.pid, signal.SIGKILL)
    lost.wait()
    assert dbt_process.run(["--version"], cwd=tmp_path, env=_environment()).returncode == 0
    assert dbt_process._helper.pid != lost.pid


def test_a_second_thread_does_not_wait_for_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """While one thread's command runs in the helper's child, another thread's runs as a plain
    subprocess: both finish, neither waits for the other."""
    directly = []
    run_directly = dbt_process.run_directly

    def counted(*args):
        directly.append(threading.current_thread().name)
        return run_directly(*args)

    monkeypatch.setattr(dbt_process, "run_directly", counted)
    dbt_process.run(["--version"], cwd=tmp_path, env=_environment())  # the helper is up before the race
    started = threading.Barrier(2)
    codes = {}

    def parse(name: str) -> None:  # a parse of the whole project: seconds, long enough to overlap
        environment = _project_environment(tmp_path / name)
        started.wait()
        codes[name] = dbt_process.run(["--no-use-colors", "parse", "--no-partial-parse"], cwd=tmp_path, env=environment)

    threads = [threading.Thread(target=parse, args=(name,), name=name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: done.returncode for name, done in codes.items()} == {"first": 0, "second": 0}, codes
    assert all((tmp_path / name / "target" / "manifest.json").exists() for name in codes)
    assert len(directly) == 1  # one of the two, whichever came second


def test_a_forked_child_starts_its_own_helper(tmp_path: Path):
    """A process forked after the helper started (Airflow's DAG processor forks per file) runs its
    dbt through a helper of its own, never through its parent's pipes; the parent's helper still
    serves the parent."""
    dbt_process.run(["--version"], cwd=tmp_path, env=_environment())
    parents = dbt_process._helper.pid
    child = os.fork()
    if child == 0:  # the forked child: exit 0 only if its dbt ran, through a helper that is not the parent's
        code = 1
        try:
            done = dbt_process.run(["--version"], cwd=tmp_path, env=_environment())
            code = 0 if done.returncode == 0 and dbt_process._helper.pid != parents else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert dbt_process.run(["--version"], cwd=tmp_path, env=_environment()).returncode == 0
    assert dbt_process._helper.pid == parents
