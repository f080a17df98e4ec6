"""A dbt command in a process of its own, forked from a helper that has imported dbt already.

Importing dbt costs about 2 s of CPU (mashumaro builds its serialisers as dbt's classes are
defined), a fifth of a small `dbt build`, and every `dbt` command pays it again. A process that
runs dbt more than once (a worker of the test suite builds forty times) starts one helper the
first time: a fresh interpreter that imports dbt and its adapters, then forks a child for each
command. The child is what `dbt` on the command line is, less the import: its own process,
working directory, environment, output and exit code, with dbt's state as a new process has it
(the helper never runs a command itself). The helper is never a fork of the caller, so the
caller's threads, connections and locks are not copied into dbt.

Where fork is missing, or another thread of the caller is using the helper, the command runs as a
plain `dbt` subprocess instead (run_directly), with the same result; so does the DAG file's parse
(transform/graph.py), a single command inside Airflow's long-lived processes.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import NoReturn

from qnwu_warehouse.settings import executable_beside_python

# dbt loads the adapter a profile names when a command starts; importing both here shares that too
_PRELOADED = ("dbt.cli.main", "dbt.adapters.duckdb", "dbt.adapters.postgres")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# `python -c` puts the working directory ('') first on sys.path, and each command runs in its data
# directory: the package's own folder takes that place, so no file there can pass for a module.
_HELPER_CODE = (
    f"import sys; sys.path[0] = {str(_PACKAGE_ROOT)!r}; from qnwu_warehouse.transform.dbt_process import serve; serve()"
)

_lock = threading.Lock()
_helper: subprocess.Popen | None = None


class HelperLost(Exception):
    """The helper process ended while a command was running in its child."""


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """`dbt *args` in `cwd` with environment `env`, as subprocess.run(capture_output=True, text=True)
    would run it, except that stdout holds dbt's whole output (stdout and stderr, in the order
    written) and stderr is empty. Raises subprocess.TimeoutExpired after `timeout` seconds, the
    command killed."""
    # a missing folder raises subprocess's own FileNotFoundError, as run_directly does, not a child's exit 2
    if not hasattr(os, "fork") or not Path(cwd).is_dir() or not _lock.acquire(blocking=False):
        return run_directly(args, cwd, env, timeout)
    try:
        helper = _started_helper()
        return _run_in_helper(helper, args, cwd, env, timeout)
    finally:
        _lock.release()


def run_directly(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float | None = None
) -> subprocess.CompletedProcess:
    """`dbt *args` as a plain subprocess, with what run() returns: for a caller that runs dbt once in a
    process that lives on (the DAG file's parse, inside Airflow's processes), where a helper would
    stay behind idle, holding dbt's memory."""
    return subprocess.run(
        [executable_beside_python("dbt"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def _started_helper() -> subprocess.Popen:
    """This process's helper, started on first use or again after it ended. A process forked from one
    with a helper (a worker's forked task process, say) starts its own: the inherited one is
    not its child, which Popen.poll() reports as ended, so no two processes share its pipes."""
    global _helper  # noqa: PLW0603 (one helper per process)
    if _helper is None or _helper.poll() is not None:
        _helper = subprocess.Popen(
            [sys.executable, "-c", _HELPER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # replies are read a byte at a time, never past a line (_reply)
        )
    return _helper


def _run_in_helper(
    helper: subprocess.Popen, args: list[str], cwd: Path, env: dict[str, str], timeout: float | None
) -> subprocess.CompletedProcess:
    command = [executable_beside_python("dbt"), *args]
    try:
        descriptor, output_path = tempfile.mkstemp(prefix="qnwu-dbt-", suffix=".log")  # readable by this user only
    except OSError:  # no writable temporary folder: dbt's output goes through a pipe instead
        return run_directly(args, cwd, env, timeout)
    os.close(descriptor)
    output = Path(output_path)
    try:
        request = {"args": list(args), "cwd": str(cwd), "env": dict(env), "output": output_path}
        try:
            helper.stdin.write(json.dumps(request).encode() + b"\n")
            pid = _reply(helper, None)["pid"]
        except (OSError, HelperLost, KeyError, ValueError):
            _discard(helper)  # it died before the command began: run it as a plain subprocess
            return run_directly(args, cwd, env, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            exit_code = _reply(helper, deadline)["exit"]
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _reply(helper, None)  # the helper has reaped it
            raise subprocess.TimeoutExpired(command, timeout, output=output.read_text(errors="replace")) from None
        except BaseException:  # the caller was interrupted, or the helper died: the command goes too
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _discard(helper)
            raise
        return subprocess.CompletedProcess(command, exit_code, output.read_text(errors="replace"), "")
    finally:
        output.unlink(missing_ok=True)


def _reply(helper: subprocess.Popen, deadline: float | None) -> dict:
    """The helper's next line (a JSON object), waiting until `deadline` (time.monotonic())."""
    line = b""
    while not line.endswith(b"\n"):
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([helper.stdout], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = helper.stdout.read(1)  # unbuffered: never reads past the line
        if not chunk:
            raise HelperLost("the dbt helper process ended")
        line += chunk
    return json.loads(line)


def _discard(helper: subprocess.Popen) -> None:
    global _helper  # noqa: PLW0603
    with contextlib.suppress(OSError):
        helper.kill()
    helper.wait()
    if _helper is helper:
        _helper = None


@atexit.register
def _stop_helper() -> None:
    """The helper ends when its input closes; wait for it, so that no process outlives its caller."""
    helper = _helper
    if helper is not None and helper.poll() is None:
        with contextlib.suppress(OSError):
            helper.stdin.close()
        try:
            helper.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a command still running in its child
            _discard(helper)


# --- in the helper ------------------------------------------------------------------------------


def serve() -> None:
    """The helper's loop: import dbt once, then for each request line fork a child that runs it,
    answering {"pid": ...} when it starts and {"exit": ...} when it ends."""
    for module in _PRELOADED:
        with contextlib.suppress(ImportError):  # an adapter not installed is one dbt cannot load either
            importlib.import_module(module)
    replies = sys.stdout.buffer
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):  # a Ctrl-C, or the caller gone: just end
        for line in sys.stdin.buffer:
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _run_command(request)  # the child: runs the command and exits
            replies.write(json.dumps({"pid": pid}).encode() + b"\n")
            replies.flush()
            _, status = os.waitpid(pid, 0)
            replies.write(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            replies.flush()


def _run_command(request: dict) -> NoReturn:
    """In the forked child: become `dbt *args` in its directory and environment, then exit as the
    `dbt` command does, with its exit code (1: some node failed; 2: dbt could not run) and through
    the interpreter's own exit, so that what dbt registered to run at exit runs."""
    exit_code = 2
    try:
        output = os.open(request["output"], os.O_WRONLY | os.O_TRUNC)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.close(nothing)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["dbt", *request["args"]]
        from dbt.cli.main import cli  # noqa: PLC0415 (imported by the helper already: no cost)

        try:
            cli()  # as the `dbt` console script: click ends it with SystemExit
            exit_code = 0
        except SystemExit as ended:
            exit_code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
    except BaseException:  # noqa: BLE001 (whatever it was, it goes to the output and the exit code)
        traceback.print_exc()
    raise SystemExit(exit_code)  # out of serve(): this process ends here, never back in the loop
