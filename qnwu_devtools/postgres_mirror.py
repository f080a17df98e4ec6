"""Copy the raw layer of the DuckDB working warehouse into PostgreSQL, for the dbt-on-PostgreSQL
build (tests/test_dbt_postgres.py and the Celery deployment's test).

The dbt models are written once, with dbt's cross-database macros, and build on DuckDB (the
pipeline's warehouse) and on PostgreSQL (``dbt build --target postgres``, see
dbt_project/profiles.yml). This puts the same raw tables in front of the PostgreSQL build: every
``raw.*`` table is dropped and recreated in the database's ``raw`` schema, all in one
transaction (qnwu_warehouse/serve/postgres_copy.py does the copying).

    python -m qnwu_devtools.postgres_mirror [--database NAME]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from psycopg2 import sql

from qnwu_warehouse.serve.postgres_copy import (
    MirrorError,
    connect,
    connection_parameters,
    copy_table,
    ensure_database,
    schema_tables,
)
from qnwu_warehouse.settings import ConfigError, Settings
from qnwu_warehouse.warehouse import working_connection

RAW_SCHEMA = "raw"


def mirror_raw(settings: Settings, database: str | None = None) -> dict[str, int]:
    """Replace the PostgreSQL database's raw schema with a copy of the working warehouse's raw
    tables; returns the rows copied per table. Creates the database if needed."""
    database = database or str(connection_parameters()["dbname"])
    ensure_database(database)
    copied: dict[str, int] = {}
    with (
        tempfile.TemporaryDirectory(prefix="qnwu-pg-mirror-") as spool,
        working_connection(settings, read_only=True) as duck,
    ):
        duck.execute("set TimeZone = 'UTC'")
        tables = schema_tables(duck, RAW_SCHEMA)
        if not tables:
            raise MirrorError(f"no raw tables in {settings.working_warehouse}: run `qnwu ingest` first.")
        pg = connect(database)
        try:
            with pg, pg.cursor() as cur:  # one transaction: all tables or none
                cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA)))
                for table, spec in tables.items():
                    copied[table] = copy_table(duck, f'{RAW_SCHEMA}."{table}"', cur, RAW_SCHEMA, table, spec, Path(spool))
        finally:
            pg.close()
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="PostgreSQL database (default: QNWU_PG_DATABASE or qnwu)")
    args = parser.parse_args(argv)
    try:
        copied = mirror_raw(Settings.from_env(), args.database)
    except ConfigError as exc:
        parser.exit(2, f"configuration error: {exc}\n")
    except MirrorError as exc:
        parser.exit(1, f"error: {exc}\n")
    print(json.dumps(copied, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
