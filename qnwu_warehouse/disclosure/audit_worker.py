"""The disclosure audit's linear programs, solved in a process of their own.

The gate reads the published sums from the working warehouse, which only its own process can
open (one writer per DuckDB file), and hands them to `python -m qnwu_warehouse.disclosure.audit_worker`.
The solves are Python and HiGHS, and both hold the GIL: in a thread of the gate they waited for
Great Expectations' import and validation and held those up (a national year's audit took 3.2 s
beside GX's import against 1.5 s alone). In a process of their own they run on the other core
meanwhile. A fresh interpreter, not a fork: it inherits no database handle, lock or thread, and
an Airflow task on a Celery worker (a daemonic process) may start it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qnwu_warehouse.disclosure.audit import AuditModelMismatch, AuditResult, PublishedSums, solve

log = logging.getLogger(__name__)

# How much lower the worker's priority is than the gate's: its answer is read last, after every
# suite's verdict, while Great Expectations' import and the suites' queries, which the verdicts wait
# on, want both cores first. Niced, the solver takes the CPU they leave, not theirs; alone on a
# machine it runs as fast.
WORKER_NICENESS = 10


def _yield_to_the_gate(pid: int) -> None:
    """Lower the worker's scheduling priority below this process's (set from here, not in the child
    before exec: the gate has threads, and code between fork and exec is not safe beside them)."""
    with contextlib.suppress(OSError):  # a platform or sandbox that refuses: the worker runs as it is
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS))


class SolvingElsewhere:
    """The audit of `sums`, started in a worker process; result() waits for it."""

    def __init__(self, sums: PublishedSums):
        self.sums = sums
        self._started = time.perf_counter()
        self.solver_seconds: float | None = None
        self._process: subprocess.Popen | None = None
        self._folder: tempfile.TemporaryDirectory | None = None
        try:
            self._folder = tempfile.TemporaryDirectory(prefix="qnwu-audit-")  # private: mode 0700
            inputs = Path(self._folder.name) / "sums.pickle"
            self._outputs = Path(self._folder.name) / "result.pickle"
            with inputs.open("wb") as file:
                pickle.dump(sums, file, protocol=pickle.HIGHEST_PROTOCOL)
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(inputs), str(self._outputs)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
            )
            _yield_to_the_gate(self._process.pid)
        except OSError as problem:  # a full disk, no interpreter to start: the audit is solved here
            log.warning("the disclosure audit's worker could not start (%s); solving in this process instead", problem)

    def result(self) -> AuditResult:
        """The audit's result; AuditModelMismatch as solve() raises it. A worker that died (killed,
        out of memory) or never started does not cost the audit: it is then solved here."""
        try:
            if self._process is None:
                return solve(self.sums)
            _, errors = self._process.communicate()
            if self._process.returncode == 0:
                with self._outputs.open("rb") as file:
                    outcome = pickle.load(file)  # written by our own worker, in our own private folder
                if isinstance(outcome, AuditModelMismatch):
                    raise outcome
                return outcome
            log.warning(
                "the disclosure audit's worker ended with status %s (%s); solving in this process instead",
                self._process.returncode,
                errors.decode(errors="replace").strip().splitlines()[-1:] or "no message",
            )
            return solve(self.sums)
        finally:
            self.solver_seconds = time.perf_counter() - self._started
            if self._folder is not None:
                self._folder.cleanup()


def _main(inputs: str, outputs: str) -> None:
    with open(inputs, "rb") as file:
        sums = pickle.load(file)
    try:
        outcome: AuditResult | AuditModelMismatch = solve(sums)
    except AuditModelMismatch as mismatch:
        outcome = mismatch
    partial = f"{outputs}.partial"
    with open(partial, "wb") as file:
        pickle.dump(outcome, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, outputs)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
