"""Running dbt over the working warehouse.

dbt runs as one `dbt build` (seeds, models and their data tests in dependency order) in a
child process (dbt_process: forked from a helper that has imported dbt once), holding the writer
lock for the whole build. One process, not one Airflow task per model: dbt's start-up costs
seconds, and paying it per model (Cosmos LOCAL mode) would dominate a run whose SQL takes well
under a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from qnwu_warehouse.publish import versioning
from qnwu_warehouse.settings import DBT_PROJECT_DIR, ConfigError, Settings, path_safe
from qnwu_warehouse.transform import dbt_process
from qnwu_warehouse.transform.graph import with_rebuild_hint
from qnwu_warehouse.warehouse import writer_lock


class DbtFailed(Exception):
    """dbt build failed; the message carries the end of dbt's own output."""


def seeds_path_for_dbt(settings: Settings) -> str:
    """The seeds folder as dbt must be given it: relative to the dbt project.

    dbt writes each seed's compiled SQL to target/run/<project>/<seed path>; given an absolute
    seed path (QNWU_SEEDS_DIR=/somewhere/seeds), that join yields the seed file itself, and dbt
    overwrites the reference data with SQL (seen with dbt-core 1.11). A relative path keeps its
    copy under the data directory's dbt folder."""
    relative = os.path.relpath(settings.seeds_dir, DBT_PROJECT_DIR)
    landing = os.path.normpath(os.path.join(settings.dbt_target_dir, "run", "qnwu_warehouse", relative))
    if Path(landing).resolve() == settings.seeds_dir.resolve():
        raise ConfigError(
            f"QNWU_DATA_DIR={settings.data_dir} is too near the root of the filesystem: dbt would "
            f"overwrite the seeds in {settings.seeds_dir}; use a deeper data directory."
        )
    return relative


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Everything dbt writes (target, logs) goes under the data directory, nothing elsewhere.

    dbt runs in the data directory (cwd=settings.data_dir), which it is told is '.': the profile's
    DuckDB path then reads the same for every data directory. dbt keeps a saved parse only while
    the profile it rendered is unchanged, so a parse saved by one data directory serves another
    (saved_parse below); with the absolute path, every new data directory parsed the whole
    project again, 3.3 s a time (58 of the suite's 75 dbt commands did)."""
    return {
        **os.environ,
        "QNWU_DATA_DIR": ".",
        "QNWU_SEEDS_DIR": seeds_path_for_dbt(settings),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.dbt_log_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # the published layer's disclosure control (dbt_project/macros/disclosure.sql)
        "QNWU_SMALL_CELL_THRESHOLD": str(settings.small_cell_threshold),
        "QNWU_COMPLEMENTARY_SUPPRESSION": str(settings.complementary_suppression).lower(),
    }


# dbt's saved parse of the project (target/partial_parse.msgpack), kept per user for the next new
# data directory: dbt checks it against the project's files, the profile and the variables itself
# and parses again whatever changed, so a stale copy costs a parse, never a wrong build. One per
# project folder (the parse names its files by absolute path), seeds folder and dbt target.
# A user without a home (an arbitrary uid in a container: "~" stays "~") has no cache.
_HOME = Path(os.path.expanduser("~"))
PARSE_CACHE_DIR = _HOME / ".cache" / "qnwu" / "dbt-parse" if _HOME.is_absolute() else None


def _parse_cache(settings: Settings, args: tuple[str, ...]) -> Path | None:
    if PARSE_CACHE_DIR is None:
        return None
    target = args[args.index("--target") + 1] if "--target" in args[:-1] else "default"
    key = hashlib.sha256(f"{DBT_PROJECT_DIR}\0{seeds_path_for_dbt(settings)}\0{target}".encode()).hexdigest()[:20]
    return PARSE_CACHE_DIR / f"{key}.msgpack"


@contextlib.contextmanager
def saved_parse(settings: Settings, args: tuple[str, ...], target_dir: Path | None = None) -> Iterator[None]:
    """Give a dbt target folder (the data directory's, unless another is given) without a saved
    parse the last one saved, and keep the one dbt leaves. Only an optimisation: a cache that
    cannot be read or written is passed over."""
    target_dir = target_dir or settings.dbt_target_dir
    saved = target_dir / "partial_parse.msgpack"
    cache = _parse_cache(settings, args)
    if cache is None:
        yield
        return
    with contextlib.suppress(OSError):
        if not saved.exists() and cache.exists():
            target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cache, saved)
    yield
    with contextlib.suppress(OSError):
        if saved.exists() and (not cache.exists() or saved.stat().st_mtime > cache.stat().st_mtime):
            cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = cache.with_name(f".{cache.name}.{os.getpid()}")
            shutil.copyfile(saved, partial)
            os.replace(partial, cache)  # whole or not at all, for the other processes reading it


# dbt's exit codes: 1 = some model or test failed (its results say which), 2 = dbt itself could
# not run (bad project, no database): only the second leaves nothing to report per model.
DBT_NODES_FAILED = 1


def run_dbt(
    settings: Settings, *args: str, allowed_exit_codes: tuple[int, ...] = (0,), extra_env: dict[str, str] | None = None
) -> str:
    """Run one dbt command under the writer lock; raise DbtFailed with its output if it fails."""
    environment = dbt_environment(settings)
    environment.pop("QNWU_TEST_ROWS_LOADED_SINCE", None)  # only the pipeline's own builds narrow the tests
    environment.update(extra_env or {})
    with writer_lock(settings), saved_parse(settings, args):
        completed = dbt_process.run(["--no-use-colors", *args], cwd=settings.data_dir, env=environment)
    output = completed.stdout
    if completed.returncode not in allowed_exit_codes:
        tail = "\n".join(output.strip().splitlines()[-40:])
        raise DbtFailed(with_rebuild_hint(f"`dbt {' '.join(args)}` failed (exit {completed.returncode}):\n{tail}"))
    return output


def tests_of_new_rows(settings: Settings) -> dict[str, str]:
    """The environment that makes the data tests of the large tables test only the rows loaded
    since the live published version (macros/new_rows_under_test.sql): older rows passed them before
    they were published. Empty when nothing is published or the rules changed: everything is tested.
    An environment variable read at run time, not a --vars: a var that changes every run costs a
    full parse of the project every run."""
    since = versioning.published_watermark(settings)
    return {"QNWU_TEST_ROWS_LOADED_SINCE": since} if since else {}


def build_arguments(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The arguments and environment of a `dbt build` of the working warehouse.

    dbt's unit tests check the models' logic on fixed inputs, not the data: their outcome can only
    change when the rules change. They cost about a fifth of a small build (2.4 s of 11 s on 40
    units x 12 months), so they run only when tests_of_new_rows() tests everything, which is when
    nothing is published yet or the rules (models, macros, seeds, expectations) changed since the
    live version: that version's build passed them under today's rules, and the gate refused it
    otherwise. dbt's own advice is the same: unit tests in development and CI, not in every
    production build. Every first build of a data directory runs them, so every run of the suite
    does (tests/test_quality_gate.py shows when they run and when not), unless
    QNWU_DBT_UNIT_TESTS_IN_BUILDS is false: a deployment whose CI runs them on every change of the
    rules, as this project's suite does: it runs them once, in its shared warehouse's first build
    (tests/conftest.py), which tests/test_quality_gate.py checks, not in each of its forty-odd first
    builds (a quarter of a small build: 3.3-4.6 s of 16-21 s)."""
    narrowed = tests_of_new_rows(settings)
    unit_tests = settings.dbt_unit_tests_in_builds and not narrowed
    return ([] if unit_tests else ["--exclude-resource-type", "unit_test"]), narrowed


def build(settings: Settings) -> str:
    """`dbt build`, raising DbtFailed with dbt's summary of what failed (operators and tests).

    Not --fail-fast: after a failed node it cancels the other threads' queries, and dbt-duckdb's
    cancel can meet a connection already closed and crash dbt (exit 2, "Connection Error:
    Connection already closed!", seen in CI on 2026-12-06) before dbt prints what failed. Without
    it, dbt skips what depends on the failure, builds the rest, and ends with every failure."""
    arguments, environment = build_arguments(settings)
    return run_dbt(settings, "build", *arguments, extra_env=environment)


def build_for_run(settings: Settings, run_id: str) -> tuple[str, Path]:
    """`dbt build` of every model the pipeline can build, for a pipeline run.

    Failed models and tests do not fail this step: each model's own Airflow task reports them
    (see dbt_graph.py). dbt's results are kept per run, since the next dbt command overwrites
    them in the target folder. Returns (dbt's summary line, the folder holding the results).
    """
    arguments, environment = build_arguments(settings)
    output = run_dbt(settings, "build", *arguments, allowed_exit_codes=(0, DBT_NODES_FAILED), extra_env=environment)
    results_dir = settings.data_dir / "dbt" / "runs" / path_safe(run_id)
    results_dir.mkdir(parents=True, exist_ok=True)
    for artifact in ("run_results.json", "manifest.json"):
        shutil.copyfile(settings.dbt_target_dir / artifact, results_dir / artifact)
    summary = next((line.split("Done. ", 1)[1].strip() for line in output.splitlines() if "Done. PASS=" in line), "")
    return summary, results_dir
