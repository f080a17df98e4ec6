"""What several test modules need: a data directory to work in, and a warehouse built in it from
generated submissions by the pipeline's own stages (ingest, dbt build, and optionally the gate
and publish). Imported as `from support import ...` (pytest puts tests/ on the path)."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from qnwu_devtools.child_environment import without_settings
from qnwu_devtools.generator import generate
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.transform import dbt_runner


@contextlib.contextmanager
def using_data_dir(data_dir: Path, **environment: str) -> Iterator[Settings]:
    """The settings of `data_dir` (and any extra variables), set in the environment for the block
    only, as module-scoped fixtures need (the function-scoped monkeypatch is not available to them)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("QNWU_DATA_DIR", str(data_dir))
    patch.delenv("QNWU_LANDING_URL", raising=False)
    for name, value in environment.items():
        patch.setenv(name, value)
    try:
        settings = Settings.from_env()
        settings.ensure_data_dir()
        yield settings
    finally:
        patch.undo()


def build_warehouse(
    data_dir: Path,
    run_id: str,
    *,
    publish: bool = False,
    prepare_landing=None,
    environment: dict[str, str] | None = None,
    **generate_options,
) -> Settings:
    """Generate submissions into data_dir/landing, ingest them and build the marts; with
    publish=True also pass the quality gate and publish. `prepare_landing(landing)` may edit the
    generated files first (remove some, add bad ones); `environment` holds settings for the build."""
    data_dir.mkdir(parents=True, exist_ok=True)
    landing = data_dir / "landing"
    generate(landing, **generate_options)
    if prepare_landing is not None:
        prepare_landing(landing)
    with using_data_dir(data_dir, **(environment or {})) as settings:
        ingest(settings, load_id=run_id)
        dbt_runner.build(settings)
        if publish:
            pipeline.publish_stage(run_id, pipeline.gate_stage(run_id))
    return settings


# What a dbt build leaves that must not depend on how it got there: the marts, and the incremental
# intermediate and disclosure tables under them (incremental equals a full rebuild, layer by layer)
BUILT_SCHEMAS = ("marts", "intermediate", "disclosure")


def marts_snapshot(warehouse: Path, schemas: tuple[str, ...] = ("marts",)) -> dict[str, tuple[int, str]]:
    """{table or view of the DuckDB file: (rows, SHA-256 of its sorted rows)}, for the marts (named
    alone) and any other schema asked for (named schema.table)."""
    snapshot = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2",
            list(schemas),
        ).fetchall()
        for schema, table in tables:
            rows = sorted(repr(row) for row in connection.execute(f"select * from {schema}.{table}").fetchall())
            name = table if schema == "marts" else f"{schema}.{table}"
            snapshot[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return snapshot


def snapshot_differences(first: dict, second: dict) -> list[str]:
    return sorted(name for name in first.keys() | second.keys() if first.get(name) != second.get(name))


def in_second_load(path: Path, last_month: str) -> bool:
    """Files of the generator's output that arrive in a second load: the last month's reports and
    every correction (_v2) of an earlier month."""
    return "_v2" in path.stem or re.search(rf"_{last_month}(\b|_)", path.stem) is not None


def _normalise(value):
    """A value as DuckDB and PostgreSQL both give it back: timestamps in UTC, whole decimals as int."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def sorted_rows(rows) -> list[tuple]:
    """Rows of either database, normalised and sorted, to compare the two."""
    return sorted((tuple(_normalise(v) for v in row) for row in rows), key=repr)


QNWU = [sys.executable, "-m", "qnwu_warehouse.cli"]


def run_qnwu_cli(args: list[str], *, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """`qnwu ARGS` in a fresh process with none of this environment's QNWU_ or AIRFLOW settings
    (but qnwu_devtools.child_environment.INHERITED_SETTINGS)."""
    environment = without_settings()
    environment.update(env)
    return subprocess.run(QNWU + args, env=environment, capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(done: subprocess.CompletedProcess, *words: str) -> None:
    """A configuration error as an operator must see it: exit 2 and one line naming `words`."""
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0]
