"""Benchmarks that print figures, not timed tests: `qnwu bench ingest ...`, `qnwu bench pipeline ...`,
`qnwu bench mailbox ...` (qnwu_devtools/mailbox_bench.py).

Each measured stage runs in a child process of its own, so its wall time includes what an
operator pays (imports, start-up) and its peak memory is the sum of the resident memory of the
child and all its workers, sampled every 50 ms. Data comes from the generator, with synthetic
units added to a copy of the seeds when a scale needs more than the real 177.

`bench pipeline` runs the stages of the pipeline one by one (ingest, dbt build, quality gate,
publish) and then the whole pipeline through Airflow, and compares each with a plain-DuckDB
baseline run in the same invocation over the same raw data: bench/baseline.sql (the dbt models as
ordinary SQL), the quality suites translated to one SQL query each, and a plain table copy for
publishing. Its incremental scenario compares the cost of the newest month on top of all earlier
months (preloaded straight into raw, as ingest would have written them) with the cost of the
first month on an empty warehouse.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import psutil

from qnwu_devtools.child_environment import without_settings
from qnwu_devtools.data_dirs import copy_data_dir
from qnwu_warehouse.settings import EXPECTATIONS_DIR, REPO_ROOT, SEEDS_DIR
from qnwu_warehouse.warehouse import attached_tables

TARGET_SUBMISSIONS_PER_SECOND = {"csv": 1000, "json": 1000, "xlsx": 500}
BASELINE_SQL = REPO_ROOT / "bench" / "baseline.sql"


@dataclass
class Measurement:
    stage: str
    scale: str
    items: int
    seconds: float
    peak_mb: float
    exit_code: int

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


# --- measuring a child process, with a progress display ------------------------------------------
def _progress(message: str) -> None:
    """Progress goes to stderr, so stdout keeps only the results table."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def measure(
    command: list[str], env: dict[str, str], stage: str, scale: str, items: int, log_path: Path | None = None
) -> Measurement:
    """Run a command, sampling the resident memory of its whole process tree.

    The child's output goes to a log file (a pipe could fill up and stall a chatty child such as
    Airflow); its tail is shown if it fails. While it runs, a ticker on stderr shows the time and
    memory so far: every second on a terminal, every 30 s in a log.
    """
    log_path = log_path or Path(os.devnull)
    interactive = sys.stderr.isatty()
    ticker_every = 1.0 if interactive else 30.0
    started = time.perf_counter()
    next_tick = started + ticker_every
    peak = 0
    with log_path.open("wb") as log:
        process = psutil.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        while process.poll() is None:
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            now = time.perf_counter()
            if now >= next_tick:
                text = f"  {stage}: {now - started:6.0f} s, peak {peak / 2**20:,.0f} MB"
                sys.stderr.write(f"\r{text}" if interactive else f"{text}\n")
                sys.stderr.flush()
                next_tick = now + ticker_every
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    if interactive and seconds >= ticker_every:
        sys.stderr.write("\n")
    if process.returncode != 0 and log_path.exists() and str(log_path) != os.devnull:
        sys.stderr.write(f"{stage} failed (exit {process.returncode}); end of {log_path}:\n")
        sys.stderr.write(log_path.read_bytes().decode(errors="replace")[-3000:] + "\n")
    return Measurement(stage, scale, items, seconds, peak / 2**20, process.returncode)


def seeds_with_synthetic_units(workdir: Path, synthetic_units_csv: Path | list[dict[str, str]]) -> Path:
    """A copy of the seeds whose units.csv also lists the generator's synthetic units."""
    seeds = workdir / "seeds"
    if seeds.exists():
        shutil.rmtree(seeds)
    shutil.copytree(SEEDS_DIR, seeds)
    if isinstance(synthetic_units_csv, list):
        rows = synthetic_units_csv
    elif synthetic_units_csv.exists():
        with synthetic_units_csv.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = []
    if rows:
        with (seeds / "units.csv").open("a", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writerows(rows)
    return seeds


def generate_landing(workdir: Path, submissions: int, file_format: str) -> tuple[Path, Path]:
    """Generate about `submissions` unit-month reports in one format; returns (landing, seeds)."""
    from qnwu_devtools import generator

    months = 12
    units = max(1, math.ceil(submissions / months))
    landing = workdir / "landing"
    synthetic = workdir / "synthetic_units.csv"
    args = [
        str(landing),
        "--months",
        str(months),
        "--units",
        str(units),
        "--mix",
        f"{file_format}=1",
        "--synthetic-units-csv",
        str(synthetic),
    ]
    if landing.exists():
        shutil.rmtree(landing)
    generator.main(args)
    return landing, seeds_with_synthetic_units(workdir, synthetic)


def _child_env(data_dir: Path, landing: Path, seeds: Path) -> dict[str, str]:
    # Airflow's own variables are left out too: `qnwu run` configures Airflow from the data directory.
    env = without_settings()
    env.update(QNWU_DATA_DIR=str(data_dir), QNWU_LANDING_URL=str(landing), QNWU_SEEDS_DIR=str(seeds))
    # The files were generated moments before: no settle wait (a fixed delay of at most
    # QNWU_LANDING_SETTLE_SECONDS per run, not a cost per file), so the figures are throughput.
    env["QNWU_LANDING_SETTLE_SECONDS"] = "0"
    return env


# Issue 12: ingest's memory stays bounded whatever the landing holds.
TARGET_LARGE_FILE_PEAK_MB = 1024


def bench_large_file(workdir: Path, megabytes: int) -> Measurement:
    """One `qnwu ingest` over 200 generated reports plus one CSV of `megabytes` MB (a valid header
    and millions of value rows): the large file is rejected FILE_TOO_LARGE unread, streamed into the
    archive, and the peak memory of the whole process tree stays far below the file's size."""
    case = workdir / f"ingest-large-file-{megabytes}mb"
    landing, seeds = generate_landing(case, 200, "csv")
    large = landing / "06652_2023-01_large.csv"
    row = b"value,news_items,total,1,,,\n"
    with large.open("wb") as handle:
        handle.write(b"section,code,category,value,club_type,club_name,status\n")
        block = row * (2**20 // len(row))
        while handle.tell() < megabytes * 2**20:
            handle.write(block)
    data_dir = case / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir()
    files = sum(1 for p in landing.iterdir() if not p.name.startswith("."))
    command = [sys.executable, "-m", "qnwu_warehouse.cli", "ingest", "--run-id", "bench"]
    result = measure(
        command, _child_env(data_dir, landing, seeds), f"ingest +{megabytes}MB", str(files), files, case / "ingest.log"
    )
    large.unlink()
    shutil.rmtree(data_dir / "archive", ignore_errors=True)  # the streamed copy of the large file
    verdict = (
        "FAILED"
        if result.exit_code
        else f"peak {result.peak_mb:,.0f} MB vs {TARGET_LARGE_FILE_PEAK_MB:,} MB target: "
        + ("met" if result.peak_mb < TARGET_LARGE_FILE_PEAK_MB else "MISSED")
    )
    print(f"{_row(result)}{verdict}", flush=True)
    return result


def bench_ingest(workdir: Path, scales: list[int], formats: list[str]) -> list[Measurement]:
    results = []
    for file_format in formats:
        for scale in scales:
            case = workdir / f"ingest-{file_format}-{scale}"
            landing, seeds = generate_landing(case, scale, file_format)
            files = sum(1 for p in landing.iterdir() if not p.name.startswith("."))
            data_dir = case / "data"
            if data_dir.exists():
                shutil.rmtree(data_dir)
            data_dir.mkdir()
            command = [sys.executable, "-m", "qnwu_warehouse.cli", "ingest", "--run-id", "bench"]
            result = measure(
                command,
                _child_env(data_dir, landing, seeds),
                f"ingest {file_format}",
                str(scale),
                files,
                case / "ingest.log",
            )
            results.append(result)
            print(_row(result, TARGET_SUBMISSIONS_PER_SECOND[file_format]), flush=True)
    return results


HEADER = f"{'stage':<14} {'scale':>8} {'items':>8} {'seconds':>9} {'items/s':>9} {'peak MB':>8}  verdict"


def _row(m: Measurement, target_per_second: float | None = None) -> str:
    verdict = "FAILED" if m.exit_code else ""
    if not m.exit_code and target_per_second:
        verdict = f"{m.per_second / target_per_second:.2f}x the {target_per_second:.0f}/s target"
    return f"{m.stage:<14} {m.scale:>8} {m.items:>8} {m.seconds:>9.2f} {m.per_second:>9.0f} {m.peak_mb:>8.0f}  {verdict}"


# --- bench pipeline: scales ------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    name: str
    description: str
    units: int | None  # None: the real units of the seeds (177 in 2023)
    months: int
    mix: dict[str, float]
    # Every month through files (stages, Airflow and baseline on the whole load), or only the
    # newest: then the earlier months are preloaded into raw and the load is the incremental scenario.
    full_load_through_files: bool
    incremental_scenario: bool

    def first_year(self, today: date) -> int:
        """The generator's calendar starts in 2023; a window longer than the years gone since then
        starts earlier, so that its newest month and the reports on it are not in the future."""
        years = math.ceil(self.months / 12)
        # the newest December's reports (sent in January, corrected up to a week later) must all lie
        # in the past: the contract refuses a report sent after the file arrived
        latest_full_year = today.year - 1 if today.month >= 2 else today.year - 2
        return min(2023, latest_full_year - years + 1)


SCALES = {
    # The benchmark's own test (tests/test_benchmark_smoke.py): every stage, the baseline, the
    # paired incremental runs and the report, on the least data that still exercises them.
    "smoke": Scale(
        "smoke",
        "smoke: 20 real units x 3 months of 2023, XLSX/CSV/JSON (checks the benchmark, not the speed)",
        units=20,
        months=3,
        mix={"xlsx": 0.4, "csv": 0.3, "json": 0.3},
        full_load_through_files=True,
        incremental_scenario=True,
    ),
    "province": Scale(
        "province",
        "province year: the 177 real units x 12 months of 2023, XLSX/CSV/JSON",
        units=None,
        months=12,
        mix={"xlsx": 0.4, "csv": 0.3, "json": 0.3},
        full_load_through_files=True,
        incremental_scenario=True,
    ),
    "national-year": Scale(
        "national-year",
        "national year: 10,000 units x 12 months, CSV/JSON",
        units=10_000,
        months=12,
        mix={"csv": 0.5, "json": 0.5},
        full_load_through_files=True,
        incremental_scenario=False,
    ),
    "national-history": Scale(
        "national-history",
        "national history: 10,000 units x 60 months, CSV/JSON; 59 months preloaded into raw, the 60th through files",
        units=10_000,
        months=60,
        mix={"csv": 0.5, "json": 0.5},
        full_load_through_files=False,
        incremental_scenario=True,
    ),
}


# --- bench pipeline: data ---------------------------------------------------------------------------
@dataclass
class PreparedData:
    seeds: Path
    landing_all: Path | None  # every month, one subfolder per format
    landing_first_month: Path | None
    landing_newest_month: Path | None
    history_warehouse: Path | None  # working.duckdb with every month but the newest in raw
    facts: dict[str, int] = field(default_factory=dict)


_PERIOD_IN_NAME = re.compile(r"_(\d{4}-\d{2})(?:_v\d+)?\.[a-z]+$")


def prepare_data(scale: Scale, cache_dir: Path, regenerate: bool) -> PreparedData:
    """Generate the scale's files (and preload its history) once; later runs reuse them, since
    the generator gives the same bytes for the same arguments."""
    marker = cache_dir / ".complete.json"
    year = scale.first_year(date.today())
    params = {
        "units": scale.units,
        "months": scale.months,
        "mix": scale.mix,
        "year": year,
        "full": scale.full_load_through_files,
        "incremental": scale.incremental_scenario,
    }
    prepared = PreparedData(
        seeds=cache_dir / "seeds",
        landing_all=cache_dir / "landing" if scale.full_load_through_files else None,
        landing_first_month=cache_dir / "landing-first-month" if scale.incremental_scenario else None,
        landing_newest_month=cache_dir / "landing-newest-month" if scale.incremental_scenario else None,
        history_warehouse=cache_dir / "history" / "warehouse" / "working.duckdb" if scale.incremental_scenario else None,
    )
    if not regenerate and marker.exists():
        saved = json.loads(marker.read_text(encoding="utf-8"))
        if saved["params"] == params:
            _progress(f"reusing the generated data in {cache_dir} (--regenerate to make it again)")
            prepared.facts = saved["facts"]
            return prepared
    if cache_dir.exists():
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True)
    started = time.perf_counter()
    prepared.facts = _generate(scale, year, prepared, cache_dir)
    prepared.facts["preparation_seconds"] = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps({"params": params, "facts": prepared.facts}, indent=1), encoding="utf-8")
    return prepared


def _generate(scale: Scale, year: int, prepared: PreparedData, cache_dir: Path) -> dict[str, int]:
    """One pass of the generator feeds every destination: the full landing (by format), the
    first and newest months' landings, and the raw layer of the history (all but the newest month)."""
    from qnwu_devtools import generator

    months = generator.month_window(year, scale.months)
    first_period = f"{months[0][0]:04d}-{months[0][1]:02d}"
    newest_period = f"{months[-1][0]:04d}-{months[-1][1]:02d}"
    for folder in (prepared.landing_all, prepared.landing_first_month, prepared.landing_newest_month):
        if folder is not None:
            folder.mkdir(parents=True)
    preloader, synthetic_rows = None, []
    if prepared.history_warehouse is not None:
        # The history's units are only known once the generator has planned them: the preloader
        # checks files against the real seeds plus every synthetic unit, which it is told up front.
        synthetic_rows = generator.synthetic_unit_rows(_synthetic_units_for(scale, year))
        seeds = seeds_with_synthetic_units(cache_dir, synthetic_rows)
        preloader = HistoryPreloader(prepared.history_warehouse.parents[1], seeds)
    counts = {"files": 0, "files_first_month": 0, "files_newest_month": 0, "files_preloaded": 0}
    last_report = time.perf_counter()

    def write_file(name: str, content: bytes) -> None:
        nonlocal last_report
        counts["files"] += 1
        fmt = name.rsplit(".", 1)[-1]
        found = _PERIOD_IN_NAME.search(name)
        period = found.group(1) if found else ""
        if prepared.landing_all is not None:
            (prepared.landing_all / fmt).mkdir(exist_ok=True)
            (prepared.landing_all / fmt / name).write_bytes(content)
        if prepared.landing_first_month is not None and period == first_period:
            (prepared.landing_first_month / name).write_bytes(content)
            counts["files_first_month"] += 1
        if preloader is not None:
            if period == newest_period:
                (prepared.landing_newest_month / name).write_bytes(content)
                counts["files_newest_month"] += 1
            else:
                preloader.add(name, content)
                counts["files_preloaded"] += 1
        if time.perf_counter() - last_report > 30:
            _progress(f"  generating: {counts['files']:,} files so far ({period})")
            last_report = time.perf_counter()

    _progress(f"generating {scale.description} from {first_period} to {newest_period}")
    report = generator.generate(
        cache_dir / "unused", year=year, months=scale.months, units=scale.units, formats=scale.mix, write_file=write_file
    )
    if preloader is not None:
        preloader.finish()
        counts.update(preloader.counts)
    if preloader is None:
        seeds_with_synthetic_units(cache_dir, report.synthetic_units)
    elif synthetic_rows != report.synthetic_units:
        raise BenchmarkFailed("the history was checked against other synthetic units than the generator made")
    counts.update(
        submissions=report.submissions,
        resubmissions=report.resubmissions,
        synthetic_units=len(report.synthetic_units),
        first_year=year,
    )
    _progress(f"generated {report.summary()}")
    return counts


def _synthetic_units_for(scale: Scale, year: int) -> list:
    """The synthetic units generate() will add, computed the way it does (same seed, same count)."""
    from qnwu_devtools import generator

    if scale.units is None:
        return []
    real = generator.load_real_units(20231)
    first_month_units = [u for u in real if u.valid_in(year, 1)]
    if scale.units <= len(first_month_units):
        return []
    reference_units = [u for u in real if u.valid_in(generator.CALIBRATION_YEAR, 1)]
    return generator.synthetic_units(scale.units - len(first_month_units), year, 20231, reference_units)


class HistoryPreloader:
    """Loads generated months straight into raw, in the very rows ingest writes for them.

    Each file goes through ingest's own reading and contract check (in worker processes) and
    its own raw writer, so the raw layer is the one `qnwu ingest` would leave; only the per-file
    work nobody needs for history is skipped: listing a landing zone, hashing for duplicates
    against the ledger, archiving and quarantine. Files come in batches to bound memory.
    """

    BATCH_FILES = 20_000

    def __init__(self, data_dir: Path, seeds: Path):
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        from qnwu_warehouse.contract.reference import load_reference
        from qnwu_warehouse.ingest.loader import RAW_DDL
        from qnwu_warehouse.settings import Settings

        self.settings = replace(
            Settings.from_env(), data_dir=data_dir.resolve(), seeds_dir=seeds.resolve(), landing_url="history-preload"
        )
        self.settings.working_warehouse.parent.mkdir(parents=True, exist_ok=True)
        load_reference(self.settings.seeds_dir)  # read once, before the workers fork
        self.pool = ProcessPoolExecutor(os.cpu_count() or 1, mp_context=get_context("fork"))
        import duckdb

        self.con = duckdb.connect(str(self.settings.working_warehouse))
        self.con.execute(RAW_DDL)
        self.started_at = datetime.now(UTC)
        self.pending: list[tuple[str, bytes]] = []
        self.counts = {"preloaded_accepted": 0, "preloaded_rejected": 0}

    def add(self, name: str, content: bytes) -> None:
        self.pending.append((name, content))
        if len(self.pending) >= self.BATCH_FILES:
            self._flush()

    def _flush(self) -> None:
        import hashlib
        from functools import partial
        from pathlib import PurePosixPath

        from qnwu_warehouse.ingest.isolation import Job, examine
        from qnwu_warehouse.ingest.loader import Outcome, count_outcomes, write_raw

        if not self.pending:
            return
        today = date.today()
        received_at = datetime.now(UTC)
        jobs = [Job(number, name, content, received_at, today) for number, (name, content) in enumerate(self.pending)]
        outcomes = []
        examined_all = self.pool.map(partial(examine, seeds_dir=self.settings.seeds_dir), jobs, chunksize=256)
        for (name, content), examined in zip(self.pending, examined_all, strict=True):
            outcomes.append(
                Outcome(
                    hashlib.sha256(content).hexdigest(),
                    f"history-preload/{name}",
                    len(content),
                    "accepted" if examined.submission is not None else "rejected",
                    file_format=examined.file_format,
                    submission=examined.submission,
                    problems=examined.problems,
                    claimed_unit_code=examined.claimed_unit_code,
                    claimed_period=examined.claimed_period,
                )
            )
        batch = count_outcomes("history-preload", outcomes)
        write_raw(self.con, outcomes, batch, self.started_at)
        self.counts["preloaded_accepted"] += batch.accepted
        self.counts["preloaded_rejected"] += batch.rejected
        _progress(
            f"  preloaded {self.counts['preloaded_accepted']:,} history submissions into raw "
            f"(latest batch up to {PurePosixPath(self.pending[-1][0]).stem})"
        )
        self.pending = []

    def finish(self) -> None:
        from qnwu_warehouse.contract.rules import CONTRACT_VERSION

        self._flush()
        self.pool.shutdown()
        total = self.counts["preloaded_accepted"] + self.counts["preloaded_rejected"]
        self.con.execute(
            "insert into raw.load_runs (load_id, started_at, finished_at, landing_url, files_new, "
            "files_accepted, files_rejected, files_duplicate, contract_version, status) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'finished')",
            [
                "history-preload",
                self.started_at,
                datetime.now(UTC),
                "history-preload",
                total,
                self.counts["preloaded_accepted"],
                self.counts["preloaded_rejected"],
                0,
                CONTRACT_VERSION,
            ],
        )
        self.con.execute("checkpoint")
        self.con.close()


# --- bench pipeline: the runs ---------------------------------------------------------------------
STAGES = ("ingest", "build", "gate", "publish")
STAGE_LABELS = {
    "ingest": "ingest",
    "build": "dbt build",
    "gate": "quality gate",
    "publish": "publish",
    "airflow": "pipeline (Airflow)",
}
# The baseline of each stage: what the same work costs in plain DuckDB (ingest has none; see docs/benchmarks.md).
BASELINE_OF = {"build": "transform", "gate": "checks", "publish": "copy"}


@dataclass
class StageResult:
    phase: str  # which load: "full load", "first month", "history", "newest month"
    stage: str
    items: int
    item_kind: str
    seconds: float
    peak_mb: float
    exit_code: int
    baseline_seconds: float | None = None
    baseline_peak_mb: float | None = None
    # where the stage's time went, by part: dbt's nodes (run_results.json), the gate's suites and
    # phases (its summary); what a difference between two runs is spent on
    profile: dict[str, float] | None = None

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def ratio_to_baseline(self) -> float | None:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else None

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {
            "label": STAGE_LABELS[self.stage],
            "per_second": round(self.per_second, 1),
            "ratio_to_baseline": None if self.ratio_to_baseline is None else round(self.ratio_to_baseline, 2),
        }


def stage_command(stage: str, run_id: str) -> list[str]:
    """A stage as a fresh `qnwu` process; a run id of its own (each ingest is one load in the ledger).
    The whole pipeline through Airflow (`airflow`) takes none."""
    if stage == "airflow":
        return [sys.executable, "-m", "qnwu_warehouse.cli", "run"]
    return [sys.executable, "-m", "qnwu_warehouse.cli", stage, "--run-id", run_id]


class PipelineBench:
    def __init__(self, scale: Scale, workdir: Path, prepared: PreparedData, repeats: int = 1):
        self.scale = scale
        self.repeats = repeats
        self.workdir = workdir
        self.prepared = prepared
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.results: list[StageResult] = []
        self.baseline: dict[str, dict[str, float]] = {}
        self.airflow_template = workdir / "airflow-template"
        self.airflow_tasks: dict[str, dict[str, float]] = {}
        # the phase whose gate is compared with its checks as plain SQL (target_figures), and a copy
        # of the data directory as that gate found it, for the paired runs (gate_pairs)
        self.gate_compared_phase = "full load" if scale.full_load_through_files else f"history ({scale.months - 1} months)"
        self.state_before_gate = workdir / "runs" / "before-the-compared-gate"

    # one fresh data directory per load, so no run sees another's state
    def data_dir(self, name: str, history: bool = False) -> Path:
        folder = self.workdir / "runs" / name
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "warehouse").mkdir(parents=True)
        if history:
            shutil.copyfile(self.prepared.history_warehouse, folder / "warehouse" / "working.duckdb")
        return folder

    def run_stage(
        self, phase: str, stage: str, data_dir: Path, landing: Path, items: int, item_kind: str, extra: list[str] = ()
    ) -> StageResult:
        label = f"{phase}: {STAGE_LABELS[stage]}{''.join(' ' + e for e in extra)}"
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        command = stage_command(stage, f"bench-{slug}")
        _progress(f"{label} ({items:,} {item_kind})")
        log = self.logs / f"{slug}.log"
        m = measure(command, _child_env(data_dir, landing, self.prepared.seeds), label, self.scale.name, items, log)
        _progress(f"  done in {m.seconds:.1f} s, peak {m.peak_mb:,.0f} MB" + ("" if not m.exit_code else " (FAILED)"))
        result = StageResult(
            phase,
            stage,
            items,
            item_kind,
            round(m.seconds, 2),
            round(m.peak_mb),
            m.exit_code,
            profile=stage_profile(stage, data_dir, log) if not m.exit_code else None,
        )
        if stage == "ingest" and extra:  # one ingest per format: the format goes into the load's name
            result.phase = f"{phase} ({extra[0]})"
        self.results.append(result)
        if m.exit_code:
            raise BenchmarkFailed(f"{label} failed; see {log}")
        return result

    def prepare_airflow(self, data_dir: Path) -> None:
        """Airflow's metadata database is created once per benchmark and copied into each run's
        data directory: a one-off installation step is not part of a pipeline run."""
        if not (self.airflow_template / "airflow" / ".migrated-for").exists():
            _progress("creating Airflow's metadata database once (airflow db migrate)")
            command = [
                sys.executable,
                "-c",
                "from qnwu_warehouse.orchestration.airflow_runner import migrate_metadata; "
                "from qnwu_warehouse.settings import Settings; s = Settings.from_env(); "
                "s.ensure_data_dir(); migrate_metadata(s)",
            ]
            self.airflow_template.mkdir(parents=True, exist_ok=True)
            m = measure(
                command,
                _child_env(self.airflow_template, self.airflow_template, self.prepared.seeds),
                "airflow db migrate",
                self.scale.name,
                0,
                self.logs / "airflow-db-migrate.log",
            )
            if m.exit_code:
                raise BenchmarkFailed("airflow db migrate failed")
            self.baseline.setdefault("setup", {})["airflow_db_migrate_seconds"] = round(m.seconds, 1)
        shutil.copytree(self.airflow_template / "airflow", data_dir / "airflow", dirs_exist_ok=True)

    def counts(self, data_dir: Path) -> dict[str, int]:
        import duckdb

        with duckdb.connect(str(data_dir / "warehouse" / "working.duckdb"), read_only=True) as con:
            row = con.execute("""select
                (select count(*) from raw.received_files),
                (select count(*) from (select distinct unit_code, period from raw.submissions)),
                (select count(*) from raw.submission_values),
                (select count(*) from raw.submission_clubs)""").fetchone()
        return dict(zip(("files", "submissions", "value_rows", "club_rows"), row, strict=True))

    def stages(self, phase: str, data_dir: Path, landing: Path, by_format: bool = False) -> dict[str, int]:
        """ingest, dbt build, quality gate, publish, one after the other on one data directory."""
        settle_disk()
        before = (
            self.counts(data_dir)
            if (data_dir / "warehouse" / "working.duckdb").exists()
            else {"files": 0, "submissions": 0, "value_rows": 0, "club_rows": 0}
        )
        if by_format:
            for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
                files = sum(1 for _ in folder.iterdir())
                self.run_stage(phase, "ingest", data_dir, folder, files, "files", extra=[folder.name])
        else:
            files = sum(1 for p in landing.iterdir() if not p.name.startswith("."))
            self.run_stage(phase, "ingest", data_dir, landing, files, "files")
        after = self.counts(data_dir)
        self.build_gate_publish(phase, data_dir, landing, after["submissions"] - before["submissions"])
        return after

    def stages_without_ingest(self, phase: str, data_dir: Path) -> dict[str, int]:
        settle_disk()
        totals = self.counts(data_dir)
        self.build_gate_publish(phase, data_dir, data_dir, totals["submissions"])
        return totals

    def build_gate_publish(self, phase: str, data_dir: Path, landing: Path, submissions: int) -> None:
        for stage in ("build", "gate", "publish"):
            if stage == "gate" and phase == self.gate_compared_phase:
                # not timed: a copy for gate_pairs, without the ingested files (the gate never reads them)
                shutil.rmtree(self.state_before_gate, ignore_errors=True)
                copy_data_dir(data_dir, self.state_before_gate, leave_out=("archive",))
                settle_disk()
            self.run_stage(phase, stage, data_dir, landing, submissions, "submissions")

    def gate_pairs(self) -> dict[str, object]:
        """The compared phase's gate and its checks as plain SQL, `repeats` times, in pairs on fresh
        copies of the state that gate found; each pair's ratio, and their median. Run once each,
        minutes apart, the two drift apart on a shared machine: in two runs of one national year
        the gate took 3.75 and 3.71 s and its checks 1.02 and 1.74 s, a ratio of 3.68x, then 2.13x
        (docs/benchmarks.md). In a pair they run back to back on one copy, in alternating order."""
        gate_result = next(r for r in self.results if r.phase == self.gate_compared_phase and r.stage == "gate")
        copy = self.workdir / "runs" / "gate-pair"
        pairs = []
        for run in range(1, self.repeats + 1):
            shutil.rmtree(copy, ignore_errors=True)
            copy_data_dir(self.state_before_gate, copy)
            settle_disk()
            label = f"gate pair {run}"
            gate_command = stage_command("gate", f"bench-gate-pair-{run}")
            checks_command = self.baseline_command("checks", copy / "warehouse" / "working.duckdb", copy)
            sides = {
                "gate": (gate_command, _child_env(copy, copy, self.prepared.seeds)),
                "checks": (checks_command, dict(os.environ)),
            }
            seconds = {}
            for side in ("gate", "checks") if run % 2 else ("checks", "gate"):
                command, env = sides[side]
                log = self.logs / f"gate-pair-{run}-{side}.log"
                m = measure(command, env, f"{label}: {side}", self.scale.name, gate_result.items, log)
                if m.exit_code:
                    raise BenchmarkFailed(f"{label}: the {side} failed; see {log}")
                seconds[side] = round(m.seconds, 2)
            _progress(f"{label}: gate {seconds['gate']:.2f} s, its checks as plain SQL {seconds['checks']:.2f} s")
            pairs.append(seconds)
        shutil.rmtree(copy, ignore_errors=True)
        ratios = [round(p["gate"] / p["checks"], 2) for p in pairs]
        return {
            "phase": self.gate_compared_phase,
            "gate_seconds_per_pair": [p["gate"] for p in pairs],
            "checks_seconds_per_pair": [p["checks"] for p in pairs],
            "ratio_per_pair": ratios,
            "median_ratio": round(statistics.median(ratios), 2),
        }

    def airflow(self, phase: str, data_dir: Path, landing: Path, submissions: int) -> None:
        self.prepare_airflow(data_dir)
        settle_disk()
        self.run_stage(phase, "airflow", data_dir, landing, submissions, "submissions")
        self.airflow_tasks[phase] = airflow_task_seconds(data_dir)

    def run_baseline(self, data_dir: Path) -> None:
        """The plain-DuckDB baseline over the raw data and marts of `data_dir`, in child processes
        measured like the stages."""
        scratch = self.workdir / "runs" / "baseline"
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir(parents=True)
        for step in ("transform", "checks", "copy"):
            _progress(f"baseline: {step}")
            command = self.baseline_command(step, data_dir / "warehouse" / "working.duckdb", scratch)
            m = measure(
                command, dict(os.environ), f"baseline {step}", self.scale.name, 0, self.logs / f"baseline-{step}.log"
            )
            if m.exit_code:
                raise BenchmarkFailed(f"baseline {step} failed; see {self.logs / f'baseline-{step}.log'}")
            _progress(f"  done in {m.seconds:.1f} s, peak {m.peak_mb:,.0f} MB")
            self.baseline[step] = {"seconds": round(m.seconds, 2), "peak_mb": round(m.peak_mb)}
        self.baseline["matches_marts"] = compare_baseline_with_marts(
            scratch / "baseline.duckdb", data_dir / "warehouse" / "working.duckdb"
        )

    def baseline_command(self, step: str, working: Path, scratch: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "qnwu_devtools.benchmark",
            "_baseline",
            step,
            "--working",
            str(working),
            "--seeds",
            str(self.prepared.seeds),
            "--scratch",
            str(scratch),
        ]

    def attach_baseline(self, phase: str) -> None:
        """Set each stage's baseline figures (the whole pipeline's is the sum of the baseline steps)."""
        for result in self.results:
            if result.phase != phase:
                continue
            step = BASELINE_OF.get(result.stage)
            if step:
                result.baseline_seconds = self.baseline[step]["seconds"]
                result.baseline_peak_mb = self.baseline[step]["peak_mb"]
            elif result.stage == "airflow":
                result.baseline_seconds = round(sum(self.baseline[s]["seconds"] for s in BASELINE_OF.values()), 2)
                result.baseline_peak_mb = max(self.baseline[s]["peak_mb"] for s in BASELINE_OF.values())

    def run(self) -> dict[str, object]:
        facts: dict[str, object] = {}
        if self.scale.full_load_through_files:
            data_dir = self.data_dir("full-load")
            facts["full_load"] = self.stages("full load", data_dir, self.prepared.landing_all, by_format=True)
            self.run_baseline(data_dir)
            self.attach_baseline("full load")
            facts["gate_pairs"] = self.gate_pairs()
            airflow_dir = self.data_dir("full-load-airflow")
            self.airflow("full load", airflow_dir, self.prepared.landing_all, facts["full_load"]["submissions"])
            self.attach_baseline("full load")
        if self.scale.incremental_scenario:
            facts["incremental"] = self.incremental()
            if not self.scale.full_load_through_files:
                facts["gate_pairs"] = self.gate_pairs()
        return facts

    def incremental(self) -> dict[str, object]:
        """The newest month on top of all earlier ones, against the first month on an empty warehouse.

        Each is run `repeats` times, in pairs (a first month, then a newest month on a fresh copy of
        the same history), and each side's median run is compared: this machine's speed drifts by
        a tenth or more from minute to minute (shared CPUs), and pairing keeps both sides under the
        same drift."""
        history_dir = self.data_dir("history", history=True)
        history = self.stages_without_ingest(f"history ({self.scale.months - 1} months)", history_dir)
        pristine = self.workdir / "runs" / "history-as-built"
        if pristine.exists():
            shutil.rmtree(pristine)
        copy_data_dir(history_dir, pristine)
        first_costs, newest_costs, labels = [], [], []
        first = newest = {}
        newest_dir = history_dir
        for run in range(1, self.repeats + 1):
            # numbered even when alone: "first month" and "newest month" are the Airflow runs' phases
            suffix = f", run {run}"
            labels.append((f"first month{suffix}", f"newest month{suffix}"))
            first = self.stages(
                f"first month{suffix}", self.data_dir(f"first-month-{run}"), self.prepared.landing_first_month
            )
            first_costs.append(self.cost(f"first month{suffix}", STAGES))
            # the newest month runs where the history was built, as a deployment's runs share one
            # data directory: dbt's saved parse is valid only for the same paths (the profile)
            newest_dir = history_dir
            shutil.rmtree(newest_dir)
            copy_data_dir(pristine, newest_dir)
            newest = self.stages(f"newest month{suffix}", newest_dir, self.prepared.landing_newest_month)
            newest_costs.append(self.cost(f"newest month{suffix}", STAGES))
        first_airflow_dir = self.data_dir("first-month-airflow")
        self.airflow("first month", first_airflow_dir, self.prepared.landing_first_month, first["submissions"])
        if not self.scale.full_load_through_files:
            # the baseline of this scale runs over everything: the history and the newest month
            self.run_baseline(newest_dir)
            for phase in {r.phase for r in self.results if r.phase.startswith(("newest month", "history"))}:
                self.attach_baseline(phase)
        # the Airflow run of the newest month starts from the same history
        newest_airflow_dir = history_dir
        shutil.rmtree(newest_airflow_dir)
        copy_data_dir(pristine, newest_airflow_dir)
        self.airflow(
            "newest month",
            newest_airflow_dir,
            self.prepared.landing_newest_month,
            newest["submissions"] - history["submissions"],
        )
        if not self.scale.full_load_through_files:
            self.attach_baseline("newest month")

        first_cost, newest_cost = statistics.median(first_costs), statistics.median(newest_costs)
        first_median_run = labels[_median_index(first_costs)][0]
        newest_median_run = labels[_median_index(newest_costs)][1]
        first_airflow, newest_airflow = self.cost("first month", ("airflow",)), self.cost("newest month", ("airflow",))
        return {
            "history_months": self.scale.months - 1,
            "history": history,
            "after_newest_month": newest,
            "first_month_submissions": first["submissions"],
            "newest_month_submissions": newest["submissions"] - history["submissions"],
            "repeats": self.repeats,
            "first_month_stage_seconds_per_run": [round(c, 2) for c in first_costs],
            "newest_month_stage_seconds_per_run": [round(c, 2) for c in newest_costs],
            "first_month_stage_seconds": round(first_cost, 2),
            "newest_month_stage_seconds": round(newest_cost, 2),
            "stage_cost_ratio": round(newest_cost / first_cost, 2),
            "newest_month_peak_mb": max(r.peak_mb for r in self.results if r.phase.startswith("newest month")),
            "first_month_airflow_seconds": first_airflow,
            "newest_month_airflow_seconds": newest_airflow,
            "airflow_cost_ratio": round(newest_airflow / first_airflow, 2),
            "first_month_per_stage": {r.stage: r.seconds for r in self.results if r.phase == first_median_run},
            "newest_month_per_stage": {r.stage: r.seconds for r in self.results if r.phase == newest_median_run},
            "per_stage_difference": self.per_stage_difference(labels),
        }

    def per_stage_difference(self, labels: list[tuple[str, str]]) -> dict[str, dict[str, object]]:
        """Each stage's newest-minus-first cost, pair by pair, with the medians: where a regression
        of the newest month comes from."""
        table = {}
        for stage in STAGES:
            firsts = [self.cost(first, (stage,)) for first, _ in labels]
            newests = [self.cost(newest, (stage,)) for _, newest in labels]
            table[stage] = {
                "first_s": round(statistics.median(firsts), 2),
                "newest_s": round(statistics.median(newests), 2),
                "difference_per_pair_s": [round(n - f, 2) for f, n in zip(firsts, newests, strict=True)],
                "difference_s": round(statistics.median(n - f for f, n in zip(firsts, newests, strict=True)), 2),
            }
            table[stage]["ratio"] = (
                round(table[stage]["newest_s"] / table[stage]["first_s"], 2) if table[stage]["first_s"] else None
            )
            # the median pair's parts that grew most
            pair = labels[_median_index([n - f for f, n in zip(firsts, newests, strict=True)])]
            first_run, newest_run = (
                next(r for r in self.results if r.phase == phase and r.stage == stage) for phase in pair
            )
            table[stage]["spent_on"] = spent_on(first_run, newest_run)
        return table

    def cost(self, phase: str, stages: tuple[str, ...]) -> float:
        return sum(r.seconds for r in self.results if r.phase == phase and r.stage in stages)


def settle_disk() -> None:
    """Write out what the benchmark's own set-up left in the page cache (a copied data directory:
    2.2 GB at five national years; a removed one) before a phase is timed. Left unwritten, it was
    flushed during the newest month's ingest (ext4 commits it with the ingest's own fsyncs): that
    ingest took 18.7-19.7 s straight after the copy, 15.6-16.2 s after a sync (docs/benchmarks.md).
    A deployment's runs follow no such copy. Stages are not separated: the write-back a stage
    leaves to the next is part of a run."""
    os.sync()


def stage_profile(stage: str, data_dir: Path, log: Path) -> dict[str, float] | None:
    """The parts of a stage's time: each dbt node's execution time, or the gate's phases and suites."""
    if stage == "build":
        results = data_dir / "dbt" / "target" / "run_results.json"
        if results.exists():
            nodes = json.loads(results.read_text(encoding="utf-8"))["results"]
            # "model.qnwu_warehouse.fct_funds" -> "model fct_funds"
            return {
                " ".join([(parts := node["unique_id"].split("."))[0], ".".join(parts[2:])]): round(node["execution_time"], 3)
                for node in nodes
            }
    if stage == "gate":
        text = log.read_text(encoding="utf-8", errors="replace")
        try:
            seconds = json.loads(text[text.index("{") : text.rindex("}") + 1]).get("seconds") or {}
        except ValueError:
            return None
        return {
            **{f"phase {k}": v for k, v in seconds.items() if k != "per_suite"},
            **{f"suite {k}": v for k, v in (seconds.get("per_suite") or {}).items()},
        }
    if stage == "publish":
        import duckdb

        live = data_dir / "published" / "warehouse.duckdb"
        if live.exists():
            with duckdb.connect(str(live), read_only=True) as con:
                (disclosure,) = con.execute("select disclosure from meta.publication").fetchone()
            disclosure = json.loads(disclosure) if disclosure else {}
            seconds = (disclosure.get("audit") or {}).get("seconds")
            profile = {"phase disclosure audit": seconds} if seconds is not None else {}
            return profile | history_profile(live, disclosure) or None
    return None


def history_profile(live: Path, disclosure: dict) -> dict[str, float]:
    """What the published history (publish/history.py) cost this publish: the seconds of appending
    it and of the disclosure audit across versions, the rows it added, and its whole size on disk
    (its tables copied into a DuckDB file of their own, measured here, outside the timed stage)."""
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="qnwu-history-size-") as scratch:
        copy = Path(scratch) / "history.duckdb"
        with duckdb.connect(str(copy)) as con:
            con.execute(f"attach '{live}' as live (read_only)")
            tables = [
                table
                for (table,) in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'live' and schema_name = 'history'"
                ).fetchall()
            ]
            if not tables:
                return {}
            (entry,) = con.execute("select history from live.meta.publication").fetchone()
            entry = json.loads(entry or "{}")
            (rows,) = con.execute("select count(*) from live.history.figure_changes").fetchone()
            for table in tables:
                con.execute(f"create table {table} as select * from live.history.{table}")
            con.execute("detach live")
            con.execute("checkpoint")
        size_mb = copy.stat().st_size / 2**20
    return {
        "phase history": round(
            (entry.get("seconds") or 0) + ((disclosure.get("across_versions") or {}).get("seconds") or 0), 3
        ),
        "phase history rows appended": float(entry.get("figures_changed") or 0),
        "phase history rows in all": float(rows),
        "phase history MB in all": round(size_mb, 2),
    }


def history_cost(results: list[StageResult]) -> dict[str, dict[str, float]]:
    """Per publish: the history's seconds and their share of the publish stage, and its growth."""
    costs = {}
    for r in results:
        if r.stage != "publish" or not r.profile or "phase history" not in r.profile:
            continue
        costs[r.phase] = {
            "history_s": r.profile["phase history"],
            "publish_s": r.seconds,
            "share_pct": round(100 * r.profile["phase history"] / r.seconds, 2) if r.seconds else 0.0,
            "rows_appended": int(r.profile["phase history rows appended"]),
            "rows_in_all": int(r.profile["phase history rows in all"]),
            "mb_in_all": r.profile["phase history MB in all"],
        }
    return costs


def format_history(costs: dict[str, dict[str, float]]) -> str:
    return "\n".join(
        f"history, {phase}: +{c['rows_appended']:,} figure changes ({c['rows_in_all']:,} in all, {c['mb_in_all']:.2f} MB), "
        f"{c['history_s']:.3f} s = {c['share_pct']:.2f}% of publish ({c['publish_s']:.2f} s)"
        for phase, c in costs.items()
    )


# dbt's nodes of disclosure control (dbt_project/models/published/disclosure/)
DISCLOSURE_NODES = ("model disclosure_sensitive_cells", "model disclosure_hidden_cells")


def disclosure_cost(results: list[StageResult]) -> dict[str, dict[str, float]]:
    """Per load: the seconds of suppression (the disclosure models of dbt build) and of the audit
    (in the gate and in publish), and their share of the four stages' time."""
    costs = {}
    for phase in dict.fromkeys(r.phase for r in results if r.stage == "build"):
        by_stage = {r.stage: r for r in results if r.phase == phase or r.phase.startswith(f"{phase} (")}
        build, gate, publish_result = (by_stage.get(stage) for stage in ("build", "gate", "publish"))
        if not build or not build.profile or not gate or not gate.profile:
            continue
        suppression = sum(build.profile.get(node, 0.0) for node in DISCLOSURE_NODES)
        audit_gate = gate.profile.get("phase disclosure_audit", 0.0)
        audit_publish = ((publish_result.profile or {}).get("phase disclosure audit", 0.0)) if publish_result else 0.0
        stages = sum(
            r.seconds
            for r in results
            if (r.phase == phase or r.phase.startswith(f"{phase} (")) and r.stage in ("ingest", "build", "gate", "publish")
        )
        total = suppression + audit_gate + audit_publish
        costs[phase] = {
            "suppression_s": round(suppression, 2),
            "audit_gate_s": round(audit_gate, 2),
            "audit_publish_s": round(audit_publish, 2),
            "total_s": round(total, 2),
            "four_stages_s": round(stages, 2),
            "share_pct": round(100 * total / stages, 1) if stages else 0.0,
        }
    return costs


def format_disclosure(costs: dict[str, dict[str, float]]) -> str:
    return "\n".join(
        f"disclosure control, {phase}: suppression {c['suppression_s']:.2f} s + audit {c['audit_gate_s']:.2f} s (gate) "
        f"+ {c['audit_publish_s']:.2f} s (publish) = {c['total_s']:.2f} s, {c['share_pct']:.1f}% of the four stages "
        f"({c['four_stages_s']:.1f} s)"
        for phase, c in costs.items()
    )


def spent_on(first: StageResult, newest: StageResult, top: int = 5) -> list[tuple[str, float]]:
    """The parts that grew most from the first month's run to the newest month's."""
    if not first.profile or not newest.profile:
        return []
    growth = {
        part: newest.profile.get(part, 0) - first.profile.get(part, 0)
        for part in set(first.profile) | set(newest.profile)
        if not part.startswith("phase ")
    }
    return [(part, round(delta, 2)) for part, delta in sorted(growth.items(), key=lambda item: -item[1])[:top] if delta > 0]


def _median_index(values: list[float]) -> int:
    """The run whose figure is the median (the lower of the middle two for an even count)."""
    return sorted(range(len(values)), key=values.__getitem__)[(len(values) - 1) // 2]


def airflow_task_seconds(data_dir: Path) -> dict[str, float]:
    """Where an Airflow run's time went, task by task, from its own metadata database; the
    run's wall time less their sum is Airflow's start-up and scheduling."""
    import sqlite3

    with sqlite3.connect(data_dir / "airflow" / "airflow.db") as db:
        rows = db.execute("select dag_id || '.' || task_id, duration from task_instance order by start_date").fetchall()
    tasks = {name: round(seconds or 0.0, 2) for name, seconds in rows}
    light = [name for name in tasks if name.startswith("qnwu_publish.dbt.")]
    summary = {name: seconds for name, seconds in tasks.items() if name not in light}
    summary["qnwu_publish.dbt.* (one light task per model)"] = round(sum(tasks[name] for name in light), 2)
    return summary


class BenchmarkFailed(Exception):
    pass


# --- the baseline steps (run as `python -m qnwu_devtools.benchmark _baseline STEP`) -------------------
def baseline_transform(working: Path, seeds: Path, scratch: Path) -> None:
    import duckdb

    sql = BASELINE_SQL.read_text(encoding="utf-8").replace("{seeds}", str(seeds))
    # the same memory cap as dbt's connection (dbt_project/profiles.yml), so both work within the same means
    with duckdb.connect(str(scratch / "baseline.duckdb"), config={"memory_limit": "2GB"}) as con:
        con.execute(f"attach '{working}' as working (read_only)")
        con.execute(sql)
        con.execute("checkpoint")


def baseline_checks(working: Path) -> None:
    """Every expectation of expectations/*.yml as one SQL aggregate per suite, on the same marts."""
    import duckdb

    from qnwu_warehouse.checks.quality import load_suites

    with duckdb.connect(str(working), read_only=True) as con:
        for suite in load_suites(EXPECTATIONS_DIR):
            source = suite.get("table") or f"({suite['query']})"
            checks = [expectation_as_sql(e["type"], e.get("kwargs", {}), source) for e in suite["expectations"]]
            con.execute(f"select {', '.join(checks)} from {source} as checked").fetchall()


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def expectation_as_sql(kind: str, kwargs: dict, source: str) -> str:
    """The number of rows failing one expectation, as an aggregate over the checked table."""
    column = kwargs.get("column")
    if kind == "expect_column_values_to_not_be_null":
        return f"count(*) filter ({column} is null)"
    if kind == "expect_column_values_to_be_unique":
        return f"count({column}) - count(distinct {column})"
    if kind == "expect_column_values_to_be_between":
        bounds = [
            f"{column} < {_sql_literal(kwargs['min_value'])}" if kwargs.get("min_value") is not None else "",
            f"{column} > {_sql_literal(kwargs['max_value'])}" if kwargs.get("max_value") is not None else "",
        ]
        return f"count(*) filter ({' or '.join(b for b in bounds if b)})"
    if kind == "expect_column_values_to_be_in_set":
        values = kwargs["value_set"]
        allowed = values["query"] if isinstance(values, dict) else ", ".join(_sql_literal(v) for v in values)
        return f"count(*) filter ({column} is not null and {column} not in ({allowed}))"
    if kind == "expect_column_values_to_match_regex":
        return f"count(*) filter (not regexp_matches({column}, {_sql_literal(kwargs['regex'])}))"
    if kind == "expect_table_columns_to_match_set":
        table = source.split(".")
        return (
            f"(select count(*) from duckdb_columns() where schema_name = {_sql_literal(table[0])} "
            f"and table_name = {_sql_literal(table[-1])})"
        )
    raise ValueError(f"no SQL translation for {kind}")


def baseline_copy(working: Path, scratch: Path) -> None:
    """Publishing without the pipeline: copy every mart into a new file."""
    import duckdb

    target = scratch / "published-copy.duckdb"
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{working}' as working (read_only)")
        con.execute("create schema marts")
        for table in attached_tables(con, "working", "marts"):
            con.execute(f"create table marts.{table} as select * from working.marts.{table}")
        con.execute("detach working")
        con.execute("checkpoint")


def compare_baseline_with_marts(baseline: Path, working: Path) -> dict[str, int]:
    """Rows that differ between each baseline table and the mart of the same name (0 = same rows):
    the baseline is only a fair yardstick if it does the same work."""
    import duckdb

    differences = {}
    with duckdb.connect(str(baseline), read_only=True) as con:
        con.execute(f"attach '{working}' as working (read_only)")
        for table in attached_tables(con, "working", "marts"):
            columns = [
                row[0]
                for row in con.execute(
                    "select column_name from duckdb_columns() where database_name = 'working' and schema_name = 'marts' "
                    "and table_name = ? order by column_index",
                    [table],
                ).fetchall()
            ]
            exists = con.execute(
                "select count(*) from duckdb_columns() where database_name = current_database() "
                "and schema_name = 'baseline' and table_name = ?",
                [table],
            ).fetchone()[0]
            if not exists:
                differences[table] = -1  # no baseline for this mart
                continue
            listed = ", ".join(columns)
            differences[table] = con.execute(f"""select
                (select count(*) from (select {listed} from working.marts.{table}
                                       except all select {listed} from baseline.baseline.{table}))
              + (select count(*) from (select {listed} from baseline.baseline.{table}
                                       except all select {listed} from working.marts.{table}))""").fetchone()[0]
    return differences


# --- the report -------------------------------------------------------------------------------------
TARGETS = {
    # (scale, what, limit, description)
    "smoke": [
        ("history_share_of_publish_pct", 5, "published history and its audit across versions < 5% of every publish"),
        ("airflow_full_load_seconds", 60, "smoke load end to end through Airflow < 60 s"),
        ("peak_mb", 4096, "every peak < 4 GB"),
    ],
    "province": [
        ("history_share_of_publish_pct", 5, "published history and its audit across versions < 5% of every publish"),
        ("airflow_full_load_seconds", 60, "province year end to end through Airflow < 60 s"),
        ("peak_mb", 4096, "every peak < 4 GB"),
    ],
    "national-year": [
        ("history_share_of_publish_pct", 5, "published history and its audit across versions < 5% of every publish"),
        ("ingest_csv_per_second", -1000, "ingest CSV >= 1,000 submissions/s"),
        ("ingest_json_per_second", -1000, "ingest JSON >= 1,000 submissions/s"),
        ("build_ratio_to_baseline", 3, "dbt build within 3x of plain DuckDB"),
        ("gate_ratio_to_baseline", 3, "quality gate within 3x of its checks as plain SQL, median of paired runs"),
        ("airflow_full_load_seconds", 600, "whole pipeline (Airflow) < 10 min"),
        ("disclosure_share_pct", 20, "suppression and audit <= 20% of the pipeline's stages"),
        ("peak_mb", 4096, "every peak < 4 GB"),
    ],
    "national-history": [
        ("history_share_of_publish_pct", 5, "published history and its audit across versions < 5% of every publish"),
        ("newest_month_cost_ratio", 1.2, "new month on 5 years <= 1.2x the first month's cost"),
        # the gate of the one-off build of five years, which validates every row
        ("gate_ratio_to_baseline", 3, "quality gate of 5 years within 3x of its checks as plain SQL, median of paired runs"),
        ("newest_month_peak_mb", 4096, "peak memory of a new month on 5 years < 4 GB"),
        ("peak_mb", 4096, "every peak < 4 GB, the one-off build of 5 years included"),
    ],
}


def target_figures(results: list[StageResult], facts: dict) -> dict[str, float]:
    figures: dict[str, float] = {"peak_mb": max((r.peak_mb for r in results), default=0)}
    for r in results:
        if r.stage == "ingest" and r.phase.startswith("full load ("):
            figures[f"ingest_{r.phase[len('full load (') : -1]}_per_second"] = round(r.per_second)
        if r.phase == "full load" and r.stage == "build" and r.ratio_to_baseline:
            figures["build_ratio_to_baseline"] = round(r.ratio_to_baseline, 2)
        # the gate's baseline checks every row: compare it with a gate that validated every row
        if r.stage == "gate" and r.ratio_to_baseline and (r.phase == "full load" or r.phase.startswith("history")):
            figures["gate_ratio_to_baseline_one_run"] = round(r.ratio_to_baseline, 2)
        if r.phase == "full load" and r.stage == "airflow":
            figures["airflow_full_load_seconds"] = r.seconds
    disclosure = disclosure_cost(results)
    if "full load" in disclosure:
        figures["disclosure_share_pct"] = disclosure["full load"]["share_pct"]
    history = history_cost(results)
    if history:
        figures["history_share_of_publish_pct"] = max(c["share_pct"] for c in history.values())
    # the target is judged on the paired runs (PipelineBench.gate_pairs), the one run kept beside it
    if "gate_pairs" in facts:
        figures["gate_ratio_to_baseline"] = facts["gate_pairs"]["median_ratio"]
    if "incremental" in facts:
        figures["newest_month_cost_ratio"] = facts["incremental"]["stage_cost_ratio"]
        figures["newest_month_peak_mb"] = facts["incremental"]["newest_month_peak_mb"]
        figures["newest_month_airflow_cost_ratio"] = facts["incremental"]["airflow_cost_ratio"]
    return figures


def evaluate_targets(scale: str, figures: dict[str, float]) -> list[dict[str, object]]:
    verdicts = []
    for key, limit, description in TARGETS.get(scale, []):
        if key not in figures:
            continue
        value = figures[key]
        met = value >= -limit if limit < 0 else value <= limit
        verdicts.append({"target": description, "figure": value, "limit": abs(limit), "met": met})
    return verdicts


def _cells(r: StageResult, missing: str) -> tuple[str, ...]:
    """One result as the table's cells: load, stage, items, kind, seconds, items/s, peak MB, baseline s, ratio."""
    return (
        r.phase,
        STAGE_LABELS[r.stage],
        f"{r.items:,}",
        r.item_kind,
        f"{r.seconds:.2f}",
        f"{r.per_second:,.0f}",
        f"{r.peak_mb:,.0f}",
        f"{r.baseline_seconds:.2f}" if r.baseline_seconds else missing,
        f"{r.ratio_to_baseline:.2f}" if r.ratio_to_baseline else missing,
    )


def format_table(results: list[StageResult]) -> str:
    header = ("load", "stage", "items", "kind", "seconds", "items/s", "peak MB", "baseline s", "x baseline")
    widths = (-22, -20, 9, -11, 8, 9, 8, 10, 10)  # negative: left-aligned

    def line(cells: tuple[str, ...]) -> str:
        return " ".join(f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))

    return "\n".join([line(header), *(line(_cells(r, "-")) for r in results)])


def format_markdown(results: list[StageResult]) -> str:
    lines = [
        "| load | stage | items | seconds | items/s | peak MB | baseline s | × baseline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        load, stage, items, kind, *figures = _cells(r, "–")
        lines.append("| " + " | ".join((load, stage, f"{items} {kind}", *figures)) + " |")
    return "\n".join(lines)


def format_difference(table: dict[str, dict[str, object]]) -> str:
    """The newest month against the first, stage by stage (medians of the pairs; each pair's difference)."""
    lines = [f"{'stage':<14}{'first s':>9}{'newest s':>10}{'newest-first s':>16}{'x first':>9}  per pair"]
    for stage, row in table.items():
        ratio = f"{row['ratio']:.2f}" if row["ratio"] else "-"
        lines.append(
            f"{STAGE_LABELS[stage]:<14}{row['first_s']:>9.2f}{row['newest_s']:>10.2f}"
            f"{row['difference_s']:>16.2f}{ratio:>9}  {row['difference_per_pair_s']}"
        )
        if row.get("spent_on"):
            lines.append("    grew most: " + ", ".join(f"{part} +{delta:.2f} s" for part, delta in row["spent_on"]))
    return "\n".join(lines)


def bench_pipeline(scale_name: str, workdir: Path, json_path: Path | None, regenerate: bool, repeats: int = 3) -> int:
    scale = SCALES[scale_name]
    workdir = workdir / scale.name
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # the machine may be shared: the load it carried is part of the figures
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    print(
        f"{scale.description}\nmachine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        "every stage runs as a fresh `qnwu` process (start-up included)",
        flush=True,
    )
    prepared = prepare_data(scale, workdir / "data", regenerate)
    bench = PipelineBench(scale, workdir, prepared, repeats)
    error = None
    facts: dict[str, object] = {}
    try:
        facts = bench.run()
    except BenchmarkFailed as failure:
        error = str(failure)
    figures = target_figures(bench.results, facts)
    verdicts = evaluate_targets(scale.name, figures) if error is None else []
    print()
    print(format_table(bench.results))
    if "matches_marts" in bench.baseline:
        differing = {t: n for t, n in bench.baseline["matches_marts"].items() if n}
        print(
            "baseline = marts: "
            + ("yes, every table has the same rows" if not differing else f"NO, differing rows: {differing}")
        )
    if "incremental" in facts:
        inc = facts["incremental"]
        print(
            f"newest month on {inc['history_months']} months: stages {inc['newest_month_stage_seconds']:.1f} s vs "
            f"first month {inc['first_month_stage_seconds']:.1f} s ({inc['stage_cost_ratio']:.2f}x; medians of "
            f"{inc['repeats']} paired runs: {inc['newest_month_stage_seconds_per_run']} vs "
            f"{inc['first_month_stage_seconds_per_run']}); through Airflow "
            f"{inc['newest_month_airflow_seconds']:.1f} s vs {inc['first_month_airflow_seconds']:.1f} s "
            f"({inc['airflow_cost_ratio']:.2f}x)"
        )
    if "gate_pairs" in facts:
        pairs = facts["gate_pairs"]
        print(
            f"quality gate ({pairs['phase']}) / its checks as plain SQL, run in pairs on copies of the state it "
            f"found: gate {pairs['gate_seconds_per_pair']} s, checks {pairs['checks_seconds_per_pair']} s, "
            f"ratios {pairs['ratio_per_pair']}; median {pairs['median_ratio']:.2f}x"
        )
    if "incremental" in facts:
        print(format_difference(facts["incremental"]["per_stage_difference"]))
    if disclosure_cost(bench.results):
        print(format_disclosure(disclosure_cost(bench.results)))
    if history_cost(bench.results):
        print(format_history(history_cost(bench.results)))
    for verdict in verdicts:
        print(f"target {'met   ' if verdict['met'] else 'MISSED'}: {verdict['target']}: {verdict['figure']:,}")
    total = time.perf_counter() - started
    print(f"benchmark wall time {total:.0f} s" + (f"; FAILED: {error}" if error else ""))
    if json_path:
        document = {
            "scale": scale.name,
            "description": scale.description,
            "date": date.today().isoformat(),
            "command": "qnwu bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]),
            "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30)},
            "load_average_1_5_15_min": {"start": load_at_start, "end": [round(x, 2) for x in os.getloadavg()]},
            "data": prepared.facts,
            "facts": facts,
            "stages": [r.as_dict() for r in bench.results],
            "airflow_task_seconds": bench.airflow_tasks,
            "baseline": bench.baseline,
            "targets": verdicts,
            "figures": figures,
            "disclosure": disclosure_cost(bench.results),
            "history": history_cost(bench.results),
            "markdown_table": format_markdown(bench.results),
            "error": error,
            "benchmark_seconds": round(total, 1),
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(document, indent=1, default=str), encoding="utf-8")
        print(f"results written to {json_path}")
    return 1 if error else 0


# --- command line -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qnwu bench",
        description=(
            "Benchmarks that print figures (wall time, throughput, peak memory). Every measured stage runs as "
            "a fresh process; generated data is kept in the work folder and reused."
        ),
    )
    commands = parser.add_subparsers(dest="what", required=True, metavar="{ingest,pipeline,mailbox}")
    ingest = commands.add_parser("ingest", help="ingest throughput per file format on generated data")
    ingest.add_argument("--workdir", default="data/bench", help="where generated data and results go")
    ingest.add_argument("--scales", default="2000,24000", help="submissions per case, comma-separated")
    ingest.add_argument("--formats", default="csv,json,xlsx")
    ingest.add_argument("--json", dest="json_path", help="also write the results as JSON here")
    ingest.add_argument(
        "--large-file-mb",
        type=int,
        default=500,
        help="also ingest 200 reports beside one CSV of this many MB and print the peak memory (target < 1 GB); 0: skip",
    )

    pipeline = commands.add_parser(
        "pipeline",
        help="every stage and the whole pipeline through Airflow, against plain DuckDB",
        description="Run ingest, dbt build, quality gate and publish one by one, then the whole pipeline "
        "through Airflow, and the same work in plain DuckDB (bench/baseline.sql). Scales: "
        + "; ".join(f"{s.name} = {s.description}" for s in SCALES.values())
        + ".",
    )
    pipeline.add_argument("--scale", choices=list(SCALES), default="province")
    pipeline.add_argument("--workdir", default="data/bench", help="where generated data, runs and logs go")
    pipeline.add_argument("--json", dest="json_path", help="also write the results as JSON here")
    pipeline.add_argument("--regenerate", action="store_true", help="generate the data again even if kept")
    pipeline.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="paired runs of the first and the newest month; their medians are compared (default 3)",
    )

    from qnwu_devtools import mailbox_bench

    mailbox_bench.add_parser(commands)
    return parser


def _baseline_step(argv: list[str]) -> int:
    """One baseline step in a process of its own, so it is measured like a stage (internal)."""
    parser = argparse.ArgumentParser(prog="python -m qnwu_devtools.benchmark _baseline")
    parser.add_argument("step", choices=["transform", "checks", "copy"])
    parser.add_argument("--working", type=Path, required=True)
    parser.add_argument("--seeds", type=Path, required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.step == "transform":
        baseline_transform(args.working, args.seeds, args.scratch)
    elif args.step == "checks":
        baseline_checks(args.working)
    else:
        baseline_copy(args.working, args.scratch)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_baseline"]:
        return _baseline_step(argv[1:])
    args = build_parser().parse_args(argv)
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if args.what == "mailbox":
        from qnwu_devtools import mailbox_bench

        return mailbox_bench.main(args, workdir)
    if args.what == "pipeline":
        if args.repeats < 1:
            raise SystemExit("qnwu bench pipeline: --repeats must be 1 or more")
        return bench_pipeline(
            args.scale, workdir, Path(args.json_path).resolve() if args.json_path else None, args.regenerate, args.repeats
        )
    print(
        f"machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"each case runs `qnwu ingest` in a fresh process on a fresh data directory"
    )
    print(HEADER)
    results = bench_ingest(workdir, [int(s) for s in args.scales.split(",")], args.formats.split(","))
    if args.large_file_mb > 0:
        results.append(bench_large_file(workdir, args.large_file_mb))
    if args.json_path:
        Path(args.json_path).write_text(
            json.dumps([asdict(r) | {"per_second": r.per_second} for r in results], indent=1), encoding="utf-8"
        )
    return 1 if any(r.exit_code for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
