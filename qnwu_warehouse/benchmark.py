"""Benchmarks that print figures, not timed tests: `qnwu bench ingest ...`.

Each measured stage runs in a child process of its own, so its wall time includes what an
operator pays (imports, start-up) and its peak memory is the sum of the resident memory of the
child and all its workers, sampled every 50 ms. Data comes from the generator, with synthetic
units added to a copy of the seeds when a scale needs more than the real 177.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from qnwu_warehouse.settings import SEEDS_DIR

TARGET_SUBMISSIONS_PER_SECOND = {"csv": 1000, "json": 1000, "xlsx": 500}


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


def measure(command: list[str], env: dict[str, str], stage: str, scale: str, items: int) -> Measurement:
    """Run a command, sampling the resident memory of its whole process tree."""
    started = time.perf_counter()
    process = psutil.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.stderr.write(process.stderr.read().decode(errors="replace")[-3000:])
    return Measurement(stage, scale, items, seconds, peak / 2**20, process.returncode)


def seeds_with_synthetic_units(workdir: Path, synthetic_units_csv: Path) -> Path:
    """A copy of the seeds whose units.csv also lists the generator's synthetic units."""
    seeds = workdir / "seeds"
    if seeds.exists():
        shutil.rmtree(seeds)
    shutil.copytree(SEEDS_DIR, seeds)
    if synthetic_units_csv.exists():
        with synthetic_units_csv.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with (seeds / "units.csv").open("a", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
            writer.writerows(rows)
    return seeds


def generate_landing(workdir: Path, submissions: int, file_format: str) -> tuple[Path, Path]:
    """Generate about `submissions` unit-month reports in one format; returns (landing, seeds)."""
    from qnwu_warehouse import generator

    months = 12
    units = max(1, math.ceil(submissions / months))
    landing = workdir / "landing"
    synthetic = workdir / "synthetic_units.csv"
    args = [str(landing), "--months", str(months), "--units", str(units), "--mix", f"{file_format}=1",
            "--synthetic-units-csv", str(synthetic)]
    if landing.exists():
        shutil.rmtree(landing)
    generator.main(args)
    return landing, seeds_with_synthetic_units(workdir, synthetic)


def _child_env(data_dir: Path, landing: Path, seeds: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QNWU_")}
    env.update(QNWU_DATA_DIR=str(data_dir), QNWU_LANDING_URL=str(landing), QNWU_SEEDS_DIR=str(seeds))
    return env


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
            result = measure(command, _child_env(data_dir, landing, seeds), f"ingest {file_format}", str(scale), files)
            results.append(result)
            print(_row(result, TARGET_SUBMISSIONS_PER_SECOND[file_format]), flush=True)
    return results


HEADER = f"{'stage':<14} {'scale':>8} {'items':>8} {'seconds':>9} {'items/s':>9} {'peak MB':>8}  verdict"


def _row(m: Measurement, target_per_second: float | None = None) -> str:
    verdict = "FAILED" if m.exit_code else ""
    if not m.exit_code and target_per_second:
        verdict = f"{m.per_second / target_per_second:.2f}x the {target_per_second:.0f}/s target"
    return (f"{m.stage:<14} {m.scale:>8} {m.items:>8} {m.seconds:>9.2f} {m.per_second:>9.0f} "
            f"{m.peak_mb:>8.0f}  {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qnwu bench")
    parser.add_argument("what", choices=["ingest"])
    parser.add_argument("--workdir", default="data/bench", help="where generated data and results go")
    parser.add_argument("--scales", default="2000,24000", help="submissions per case, comma-separated")
    parser.add_argument("--formats", default="csv,json,xlsx")
    parser.add_argument("--json", dest="json_path", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
          f"each case runs `qnwu ingest` in a fresh process on a fresh data directory")
    print(HEADER)
    results = bench_ingest(workdir, [int(s) for s in args.scales.split(",")], args.formats.split(","))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps([asdict(r) | {"per_second": r.per_second} for r in results],
                                                   indent=1), encoding="utf-8")
    return 1 if any(r.exit_code for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
