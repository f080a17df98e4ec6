"""Reading and checking files where a hostile file can cost only itself.

Whatever its bytes, a file is read and checked in a worker process with a memory limit
(RLIMIT_AS) and a time limit, never in the ingesting process. When a reader crashes (calamine
aborts the process when asked for 512 GB by one cell at an XLSX sheet's last address), runs out
of memory, recurses too deep or hangs, the worker dies or is killed, that one file is rejected
with FILE_TOO_COMPLEX or FILE_UNREADABLE, a fresh worker takes its place, and the rest of the
batch goes on. Nothing a file holds can stop the pipeline.

The workers are fresh interpreters (`python -m qnwu_warehouse.ingest.isolation`), not forks: they never
inherit a database handle, a lock or a thread of the ingesting process, they can be started from
any process (an Airflow task on a Celery worker runs in a daemonic process, which multiprocessing
forbids to have children), and they die with the process that started them.
"""

from __future__ import annotations

import itertools
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path

from qnwu_warehouse.contract.readers import read_document
from qnwu_warehouse.contract.reference import load_reference
from qnwu_warehouse.contract.rules import (
    CONTRACT_LIMITS,
    Limits,
    Location,
    Problem,
    UnreadableFile,
    capped,
    clean_text,
    parse_period,
    validate,
)


@dataclass(frozen=True)
class Examined:
    """What reading and checking one file found."""

    file_format: str | None
    claimed_unit_code: str | None  # what the file says it is, even when rejected: feedback must reach the unit
    claimed_period: str | None
    submission: object  # contract.Submission, or None when rejected
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Job:
    key: int
    file_name: str
    content: bytes
    received_at: datetime
    today: date


def examine(job: Job, seeds_dir: Path, limits: Limits = CONTRACT_LIMITS) -> Examined:
    """Read and check one file: a pure function of its bytes, run inside a worker."""
    file_format = claimed_unit = claimed_period = None
    try:
        file_format, document = read_document(job.file_name, job.content, limits)
        claimed_unit = clean_text(document.header.get("unit_code", ("",))[0])[: limits.max_field_chars] or None
        period = parse_period(document.header.get("period", ("",))[0])
        claimed_period = period.strftime("%Y-%m") if period else None
        submission, problems = validate(document, load_reference(seeds_dir), job.today, limits, job.received_at)
    except UnreadableFile as unreadable:
        submission, problems = None, [unreadable.problem]
    except (MemoryError, RecursionError) as exhausted:
        submission, problems = None, [Problem("FILE_TOO_COMPLEX", Location("(file)"), type(exhausted).__name__)]
    except Exception as unexpected:  # a reader's own bug must cost this file only, with a reason
        submission, problems = None, [Problem("FILE_UNREADABLE", Location("(file)"), type(unexpected).__name__)]
    return Examined(
        file_format, claimed_unit, claimed_period, submission, tuple(capped(list(problems), limits.max_problems_per_file))
    )


def rejected(problem: Problem) -> Examined:
    return Examined(None, None, None, None, (problem,))


@dataclass(frozen=True)
class WorkerLimits:
    memory_bytes: int  # address space a worker may add to what it has after start-up
    seconds: float  # wall time to read and check one file


def _worker_main(connection: Connection) -> None:
    """A worker: read its set-up from the pipe, then examine chunks of jobs until the pipe closes."""
    parent, seeds_dir, limits, worker_limits, function_name = connection.recv()
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    module_name, _, qualified_name = function_name.partition(":")
    function = getattr(__import__(module_name, fromlist=[qualified_name]), qualified_name)
    load_reference(seeds_dir)  # the readers are imported and the seeds read before the memory cap
    _limit_memory(worker_limits.memory_bytes)
    try:
        connection.send(READY)  # a job's time limit starts from here, not from the start of the process
        while True:
            chunk = connection.recv()
            for job in chunk:  # one answer per job, in order: the parent knows which job a death was on
                connection.send((job.key, function(job, seeds_dir, limits)))
    except (EOFError, OSError):
        return  # the parent closed the pipe (done, or gone): nothing is left to answer


def _die_with_parent(parent: int) -> None:
    """If the process that started this worker dies (kill -9 of ingest), the worker goes too instead
    of lingering as an orphan; one whose parent died before this line exits at once."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _limit_memory(extra_bytes: int) -> None:
    """Cap the worker's address space at what it uses now plus `extra_bytes`: an allocation past
    it fails (MemoryError in Python, an abort in a native reader) instead of taking the machine."""
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = current + extra_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, seeds_dir: Path, limits: Limits, worker_limits: WorkerLimits, function_name: str):
        ours, theirs = socket.socketpair()
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qnwu_warehouse.ingest.isolation", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=environment,
            close_fds=True,
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        self.connection.send((os.getpid(), seeds_dir, limits, worker_limits, function_name))
        self.sentinel = os.pidfd_open(self.process.pid)  # readable once the process has ended
        self.outstanding: deque[Job] = deque()  # jobs of the chunk given, not yet answered, in order
        self.progress = 0.0  # when the job at the head of `outstanding` started
        self.ready = False

    def give(self, chunk: list[Job]) -> None:
        if not self.ready:  # a busy machine may take a while to start a worker: no job pays for that
            try:
                started = self.connection.poll(START_SECONDS) and self.connection.recv() == READY
            except (EOFError, OSError):
                started = False
            if not started:
                code = self.exit_code(1)
                raise WorkersUnavailable(
                    f"an examining worker ({sys.executable} -m qnwu_warehouse.ingest.isolation) did not start "
                    f"(exit status {code}; its error is above in this log). No file was judged; fix the "
                    "worker's environment or QNWU_INGEST_FILE_MEMORY_MB and run ingest again."
                )
            self.ready = True
        self.outstanding.extend(chunk)
        self.progress = time.monotonic()
        self.connection.send(chunk)

    def exit_code(self, wait_seconds: float = 5) -> int | None:
        try:
            return self.process.wait(wait_seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, kill: bool = False) -> None:
        if kill and self.process.poll() is None:
            self.process.kill()
        self.connection.close()
        if self.exit_code(5) is None:
            self.process.kill()
            self.process.wait()
        os.close(self.sentinel)


class WorkersUnavailable(Exception):
    """The examining workers cannot run at all (not a file's fault): the run stops, nothing of the
    batch is committed, and the files wait for the next run."""


READY = "ready"
START_SECONDS = 120

# Jobs go to a worker in chunks (one message each way per job would cost more than checking a
# small file); a chunk holds at most this many jobs or bytes of content.
CHUNK_JOBS = 32
CHUNK_BYTES = 4 * 2**20


class IsolatedExaminer:
    """A pool of examining workers; `examine_all` yields (key, Examined) for every job, in any order.
    `function` is what a worker runs on each job (a module-level function; default `examine`)."""

    def __init__(
        self,
        workers: int,
        seeds_dir: Path,
        limits: Limits,
        worker_limits: WorkerLimits,
        function: Callable[[Job, Path, Limits], Examined] = examine,
    ):
        self.size = max(1, workers)
        self.seeds_dir, self.limits, self.worker_limits = seeds_dir, limits, worker_limits
        self.function_name = f"{function.__module__}:{function.__qualname__}"
        self.workers: list[_Worker] = []
        self.replaced = 0  # workers that died or were killed, for the run's log

    def start(self, workers: int) -> None:
        """Start up to `workers` workers (at most the pool's size)."""
        while len(self.workers) < min(self.size, max(1, workers)):
            self.workers.append(self._new_worker())

    def _new_worker(self) -> _Worker:
        return _Worker(self.seeds_dir, self.limits, self.worker_limits, self.function_name)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def __enter__(self) -> IsolatedExaminer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def examine_all(self, jobs: Iterable[Job]) -> Iterator[tuple[int, Examined]]:
        """`jobs` is consumed as the workers need them, a little ahead: when it is a generator that
        reads files, the reading overlaps the workers' checking."""
        source = iter(jobs)
        first = next(source, None)
        if first is None:
            return  # nothing new (a rerun): no worker is started
        source = itertools.chain([first], source)
        waiting: deque[Job] = deque()
        read_ahead = 2 * CHUNK_JOBS * self.size
        if not self.workers:
            self.start(self.size)
        idle = list(self.workers)
        busy: list[_Worker] = []
        handovers: dict[int, int] = {}
        while True:
            for job in itertools.islice(source, max(0, read_ahead - len(waiting))):
                waiting.append(job)
                if idle and len(waiting) >= CHUNK_JOBS:
                    break  # a worker is waiting: give it this chunk first, read the rest after
            while idle and waiting:
                chunk = self._next_chunk(waiting, len(self.workers))
                worker = idle.pop()
                try:
                    worker.give(chunk)
                    busy.append(worker)
                except OSError:
                    # the worker was gone before it took the chunk: not the jobs' fault, so a fresh
                    # worker gets them. Never a rejection: a pool that keeps failing stops the run,
                    # leaving the files for the next one, instead of answering them wrongly.
                    worker.outstanding.clear()
                    self._replace(worker, idle)
                    for job in reversed(chunk):
                        handovers[job.key] = handovers.get(job.key, 0) + 1
                        if handovers[job.key] > 2:
                            raise WorkersUnavailable(
                                "examining workers keep dying before they take a file; no file was judged: see the log above"
                            ) from None
                        waiting.appendleft(job)
            if not busy:
                return
            deadline = min(w.progress for w in busy) + self.worker_limits.seconds
            ready = set(
                wait([w.connection for w in busy] + [w.sentinel for w in busy], max(0.0, deadline - time.monotonic()))
            )
            for worker in list(busy):
                if worker.connection in ready:
                    try:
                        while worker.outstanding and worker.connection.poll():
                            key, examined = worker.connection.recv()
                            worker.outstanding.popleft()
                            worker.progress = time.monotonic()
                            yield key, examined
                    except (EOFError, OSError):
                        busy.remove(worker)
                        yield from self._lost(worker, idle, waiting, self._death_detail(worker))
                        continue
                    except Exception as unreadable_result:  # a result that cannot be read back costs its file
                        busy.remove(worker)
                        yield from self._lost(
                            worker, idle, waiting, type(unreadable_result).__name__, code="FILE_UNREADABLE"
                        )
                        continue
                    if not worker.outstanding:
                        busy.remove(worker)
                        idle.append(worker)
                elif worker.sentinel in ready:
                    busy.remove(worker)
                    yield from self._lost(worker, idle, waiting, self._death_detail(worker))
                elif time.monotonic() - worker.progress >= self.worker_limits.seconds:
                    busy.remove(worker)
                    yield from self._lost(worker, idle, waiting, f"took over {self.worker_limits.seconds:g} s")

    @staticmethod
    def _next_chunk(waiting: deque[Job], workers: int) -> list[Job]:
        """The next jobs for one worker: smaller chunks when few are waiting, so the workers finish
        together."""
        most = max(1, min(CHUNK_JOBS, len(waiting) // workers))
        chunk, size = [], 0
        while waiting and len(chunk) < most and (not chunk or size + len(waiting[0].content) <= CHUNK_BYTES):
            job = waiting.popleft()
            chunk.append(job)
            size += len(job.content)
        return chunk

    def _lost(
        self, worker: _Worker, idle: list[_Worker], waiting: deque[Job], detail: str, code: str = "FILE_TOO_COMPLEX"
    ) -> Iterator[tuple[int, Examined]]:
        """The worker died, hung or answered garbage on the job at the head of its chunk: that job's
        file is rejected, the rest of the chunk goes back to the queue, and a fresh worker takes the
        place."""
        culprit = worker.outstanding.popleft()
        for job in reversed(worker.outstanding):
            waiting.appendleft(job)
        worker.outstanding.clear()
        self._replace(worker, idle, kill=True)
        yield culprit.key, rejected(Problem(code, Location("(file)"), detail))

    def _death_detail(self, worker: _Worker) -> str:
        code = worker.exit_code(5)
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the reader stopped with {name}; limit {self.worker_limits.memory_bytes // 2**20} MB"
        return f"the reader stopped with exit status {code}"

    def _replace(self, worker: _Worker, idle: list[_Worker], kill: bool = False) -> None:
        worker.stop(kill=kill)
        self.workers.remove(worker)
        self.replaced += 1
        fresh = self._new_worker()
        self.workers.append(fresh)
        idle.append(fresh)


if __name__ == "__main__":
    _worker_main(Connection(int(sys.argv[1])))
