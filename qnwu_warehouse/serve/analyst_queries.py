"""Ready analyst queries: plain SQL files in ``qnwu_warehouse/serve/queries/`` run against the published
warehouse file (schema ``marts``), read-only.

The files are the single home of each reporting query: analysts run them as they are (DuckDB
command line, a notebook, a BI tool's SQL editor), ``qnwu query NAME`` prints them, and the HTML
report (``qnwu_warehouse.serve.report``) takes its figures from them. They select from the marts, which
hold the rules (flows vs stocks, distinct units, small-cell suppression); a query only picks,
labels and shapes. They live inside the package, not at the top of the repository, because the
deployment mounts only ``qnwu_warehouse/`` into the Airflow containers that publish the report.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import duckdb

QUERIES_DIR = Path(__file__).resolve().parent / "queries"


class UnknownQuery(LookupError):
    """No query file of that name."""


def names() -> list[str]:
    """The ready queries, by file name without ``.sql``."""
    return sorted(path.stem for path in QUERIES_DIR.glob("*.sql"))


def description(name: str) -> str:
    """The query's title: its first comment line, Vietnamese / English."""
    first_line = sql(name).splitlines()[0]
    return first_line.removeprefix("--").strip()


def sql(name: str) -> str:
    path = QUERIES_DIR / f"{name}.sql"
    if name not in names():
        raise UnknownQuery(f"no analyst query {name!r}; ready queries: {', '.join(names())}")
    return path.read_text(encoding="utf-8")


def run(con: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    """Run one query on an open connection to a published file; rows as dicts, in the query's order."""
    result = con.execute(sql(name))
    columns = [column[0] for column in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def connect_published(published_file: Path) -> duckdb.DuckDBPyConnection:
    """Open a published warehouse file the way analysts must: read-only, so nothing can change it."""
    if not Path(published_file).exists():
        raise FileNotFoundError(f"no published warehouse at {published_file}: run `make run` first.")
    return duckdb.connect(str(published_file), read_only=True)


def print_query(published_file: Path, name: str, output_format: str = "table", max_rows: int = 1000) -> None:
    """``qnwu query NAME``: run one query read-only and print it as a table or as CSV on stdout."""
    text = sql(name)
    with connect_published(published_file) as con:
        if output_format == "csv":
            result = con.execute(text)
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(column[0] for column in result.description)
            writer.writerows(result.fetchall())
        else:  # DuckDB's box rendering, as `qnwu sql` prints it
            con.sql(text).show(max_rows=max_rows, max_width=250)
