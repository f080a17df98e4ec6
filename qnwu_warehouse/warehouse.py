"""Access to the working warehouse, one writer at a time.

DuckDB lets one process write a file and locks every other process out while it does, so
every stage that touches the working warehouse (ingest, dbt, the quality gate, publish) takes
this exclusive file lock first. Two pipeline runs, or a run and a manual command, then queue
instead of failing with "Could not set lock on file". Readers never open this file: they open
the published copy (publish.py).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from qnwu_warehouse.settings import Settings


class WarehouseBusy(Exception):
    """Another writer held the working warehouse for longer than we were willing to wait."""


@contextmanager
def writer_lock(settings: Settings, timeout_seconds: float = 1800) -> Iterator[None]:
    settings.writer_lock.parent.mkdir(parents=True, exist_ok=True)
    with settings.writer_lock.open("a") as handle:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"the working warehouse {settings.working_warehouse} stayed locked for "
                        f"{timeout_seconds:.0f} s: another pipeline run is still writing; wait for it "
                        "or find the stuck process (fuser on the lock file)."
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def working_connection(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working warehouse, taken under the writer lock."""
    with writer_lock(settings):
        connection = duckdb.connect(str(settings.working_warehouse), read_only=read_only)
        try:
            yield connection
        finally:
            connection.close()


def current_database(con: duckdb.DuckDBPyConnection) -> str:
    """The catalog name of the file a connection opened (its file name without the extension)."""
    return con.execute("select current_database()").fetchone()[0]


def attached_tables(con: duckdb.DuckDBPyConnection, database: str, schema: str) -> list[str]:
    """The tables and views of `schema` in the attached `database`, by name."""
    return [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = ? "
            "union all select view_name from duckdb_views() where database_name = ? and schema_name = ? "
            "order by table_name",
            [database, schema, database, schema],
        ).fetchall()
    ]


def quoted_identifier(name: str) -> str:
    """A name as a quoted SQL identifier: published files (catalogs) are named after their run id,
    which may hold '-'; the gate quotes column names the same way."""
    return '"' + name.replace('"', '""') + '"'
