"""Copying DuckDB tables into PostgreSQL, for serving the published marts and for the raw mirror.

Each table is created in PostgreSQL with matching column types (and primary keys) and bulk loaded
with ``COPY ... FROM STDIN`` from a CSV that DuckDB writes itself, inside the caller's transaction,
so a reader sees either the previous copy or the new one and never half of it.

A database is created when missing, with the ``C`` collation: text then sorts by code point as it
does in DuckDB, so ordered aggregates (the reason lists of fct_submission_feedback) come out
identical on both engines.

Connection settings are the ones the dbt profile reads: QNWU_PG_HOST (127.0.0.1), QNWU_PG_PORT
(5432), QNWU_PG_USER (postgres), QNWU_PG_PASSWORD (empty) and QNWU_PG_DATABASE (qnwu).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import psycopg2
from psycopg2 import sql

from qnwu_warehouse.settings import PostgresSettings

log = logging.getLogger(__name__)

# NULL marker of the CSV exchanged between DuckDB and PostgreSQL. Every non-null value is quoted,
# so an empty string ("") and a value that happens to read \N stay distinct from NULL.
NULL_MARKER = r"\N"

# DuckDB column types (information_schema.columns.data_type) and their PostgreSQL spelling.
_TYPES = {
    "VARCHAR": "varchar",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}


class MirrorError(Exception):
    """The raw layer could not be copied; the message says what to do."""


def connection_parameters(database: str | None = None) -> dict[str, object]:
    """psycopg2 connection keywords from the same variables (and defaults) as the dbt profile
    (settings.PostgresSettings; a malformed one raises ConfigError)."""
    postgres = PostgresSettings.from_env()
    params: dict[str, object] = {
        "host": postgres.host,
        "port": postgres.port,
        "user": postgres.user,
        "dbname": database or postgres.database,
        "connect_timeout": 10,
    }
    if postgres.password:
        params["password"] = postgres.password
    return params


def connect(database: str | None = None):
    """A connection to the database (default QNWU_PG_DATABASE), or MirrorError saying where it failed."""
    params = connection_parameters(database)
    try:
        return psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MirrorError(
            f"cannot connect to PostgreSQL database {params['dbname']!r} at {params['host']}:{params['port']} "
            f"as {params['user']!r} ({first_line}): start the server or set QNWU_PG_HOST, QNWU_PG_PORT, "
            "QNWU_PG_USER, QNWU_PG_PASSWORD."
        ) from None


def _maintenance_connection():
    conn = connect("postgres")
    conn.autocommit = True
    return conn


def ensure_database(database: str) -> bool:
    """Create the database if it is missing (UTF-8, C collation); True if it was created."""
    conn = _maintenance_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("select datcollate from pg_database where datname = %s", (database,))
            row = cur.fetchone()
            if row is not None:
                if row[0] not in ("C", "POSIX"):
                    log.warning(
                        "database %s sorts text with collation %s, not C: ordered text may differ from DuckDB",
                        database,
                        row[0],
                    )
                return False
            cur.execute(
                sql.SQL("create database {} template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'").format(
                    sql.Identifier(database)
                )
            )
            return True
    finally:
        conn.close()


def drop_database(database: str) -> None:
    """Drop the database, disconnecting anyone still in it (used by tests for throw-away databases)."""
    conn = _maintenance_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
    finally:
        conn.close()


def _postgres_type(duckdb_type: str) -> str:
    duckdb_type = duckdb_type.upper()
    if duckdb_type in _TYPES:
        return _TYPES[duckdb_type]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    raise MirrorError(f"no PostgreSQL type for DuckDB type {duckdb_type}: add it to postgres_mirror._TYPES.")


def schema_tables(duck, schema: str) -> dict[str, dict]:
    """{table: {"columns": [(name, pg type)], "primary_key": [names]}} for every table and view of a
    DuckDB schema. A view (the published file's slices of a fact table, publish/versioning.py) is
    loaded into PostgreSQL as a table of its rows, as its copy was before."""
    tables: dict[str, dict] = {}
    for table, column, data_type in duck.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name in (select table_name from information_schema.tables "
        "where table_schema = ? and table_type in ('BASE TABLE', 'VIEW')) order by table_name, ordinal_position",
        [schema, schema],
    ).fetchall():
        tables.setdefault(table, {"columns": [], "primary_key": []})["columns"].append((column, _postgres_type(data_type)))
    for table, columns in duck.execute(
        "select table_name, constraint_column_names from duckdb_constraints() "
        "where schema_name = ? and constraint_type = 'PRIMARY KEY'",
        [schema],
    ).fetchall():
        if table in tables:
            tables[table]["primary_key"] = list(columns)
    return tables


def copy_table(duck, source: str, cur, target_schema: str, table: str, spec: dict, spool: Path) -> int:
    """(Re)create target_schema.table in PostgreSQL and bulk load it from the DuckDB relation
    `source`; returns the rows loaded. Runs inside the caller's transaction."""
    cur.execute(sql.SQL("drop table if exists {}.{} cascade").format(sql.Identifier(target_schema), sql.Identifier(table)))
    cur.execute(_create_statement(target_schema, table, spec))
    # DuckDB writes the CSV (fast, in C++); PostgreSQL reads it in one COPY.
    csv_path = spool / f"{target_schema}.{table}.csv"
    duck.execute(
        f"copy (select * from {source}) to '{csv_path}' (format csv, header false, nullstr '{NULL_MARKER}', force_quote *)"
    )
    with csv_path.open("rb") as buffer:
        cur.copy_expert(
            sql.SQL("copy {}.{} from stdin with (format csv, null {})").format(
                sql.Identifier(target_schema), sql.Identifier(table), sql.Literal(NULL_MARKER)
            ),
            buffer,
            size=1 << 20,
        )
    loaded = cur.rowcount
    csv_path.unlink()
    cur.execute(sql.SQL("analyze {}.{}").format(sql.Identifier(target_schema), sql.Identifier(table)))
    return loaded


def _create_statement(schema: str, table: str, spec: dict) -> sql.Composed:
    columns = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type)) for name, pg_type in spec["columns"]]
    if spec["primary_key"]:
        columns.append(sql.SQL("primary key ({})").format(sql.SQL(", ").join(map(sql.Identifier, spec["primary_key"]))))
    return sql.SQL("create table {}.{} ({})").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(columns)
    )
