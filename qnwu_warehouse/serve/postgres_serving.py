"""Serving the published marts from PostgreSQL, for many BI users at once.

The published DuckDB file is the single-machine way to read the marts. With
``QNWU_SERVE_POSTGRES=true`` each published version is also served from PostgreSQL, write-audit-
publish as for the file:

1. write: the version's ``marts`` and ``meta`` tables (already through the quality gate, with
   small cells suppressed) are loaded into the staging schemas ``marts__staging`` and
   ``meta__staging``, which no analyst can read;
2. audit: every staged table must hold exactly what the published file holds: the same row count
   and the same sum of every numeric column, computed by each engine on its own side. A copy
   that does not match is not served;
3. publish: one transaction renames the live schemas away, the staging schemas to ``marts`` and
   ``meta``, grants the analyst role read access, and drops the old version. A BI query sees
   the old version or the new one, never a mix; a failure at any step leaves the old one live.

The analyst role (``QNWU_PG_ANALYST_ROLE``, default ``qnwu_analyst``) can connect and read
``marts`` and ``meta``, and nothing else: no writes anywhere, no raw or staging data. Its
sessions also default to read-only transactions, a second lock on the same door.

Connection settings are the QNWU_PG_* variables of the dbt profile, parsed by settings.PostgresSettings.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import duckdb
from psycopg2 import sql

from qnwu_warehouse.publish import history
from qnwu_warehouse.serve import postgres_copy
from qnwu_warehouse.serve.postgres_copy import MirrorError
from qnwu_warehouse.settings import PostgresSettings, Settings, serve_postgres

# schema in the published DuckDB file -> schema served in PostgreSQL
SERVED_SCHEMAS = ("marts", "meta", history.HISTORY_SCHEMA)
STAGING_SUFFIX = "__staging"
RETIRED_SUFFIX = "__retired"
# A BI query holding a lock on the old tables delays the swap; past this, fail rather than hang.
SWAP_LOCK_TIMEOUT = "60s"


class ServingCheckFailed(Exception):
    """The staged copy differs from the published version; the live marts were left as they were."""


def enabled() -> bool:
    return serve_postgres()


def analyst_role() -> str:
    return PostgresSettings.from_env().analyst_role


def _database() -> str:
    return str(postgres_copy.connection_parameters()["dbname"])


def ensure_analyst_role(cur, database: str) -> None:
    """The analyst role exists, can log in and connect, and holds no other privilege; nobody but
    the owner can create objects in the public schema."""
    postgres = PostgresSettings.from_env()
    role = postgres.analyst_role
    cur.execute("select 1 from pg_roles where rolname = %s", (role,))
    verb = "alter" if cur.fetchone() else "create"
    cur.execute(
        sql.SQL(
            verb + " role {} login nosuperuser nocreatedb nocreaterole noinherit connection limit {} password %s"
        ).format(sql.Identifier(role), sql.Literal(postgres.analyst_connection_limit)),
        (postgres.analyst_password,),
    )
    # Role defaults apply to every new session of this role and to no session of the loading
    # role. A session may still SET its own timeouts (PostgreSQL has no way to forbid that), so
    # they stop the runaway query of a dashboard or a slip, not a determined analyst; the
    # connection limit holds regardless.
    for setting, value in (
        ("default_transaction_read_only", "on"),
        ("statement_timeout", f"{postgres.analyst_statement_timeout_s}s"),
        ("idle_in_transaction_session_timeout", f"{postgres.analyst_idle_in_transaction_timeout_s}s"),
    ):
        cur.execute(
            sql.SQL("alter role {} set {} = {}").format(sql.Identifier(role), sql.Identifier(setting), sql.Literal(value))
        )
    cur.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(database)))
    cur.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), sql.Identifier(role)))
    cur.execute("revoke all on schema public from public")


def _stage(published_file: Path, pg) -> dict[str, dict[str, int]]:
    """Load the published file's served schemas into the staging schemas (one transaction)."""
    staged: dict[str, dict[str, int]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="qnwu-pg-serve-") as spool,
        duckdb.connect(str(published_file), read_only=True) as duck,
        pg,
        pg.cursor() as cur,
    ):
        duck.execute("set TimeZone = 'UTC'")
        for schema in SERVED_SCHEMAS:
            staging = schema + STAGING_SUFFIX
            cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(staging)))
            cur.execute(sql.SQL("create schema {}").format(sql.Identifier(staging)))
            tables = postgres_copy.schema_tables(duck, schema)
            staged[schema] = {
                table: postgres_copy.copy_table(duck, f'{schema}."{table}"', cur, staging, table, spec, Path(spool))
                for table, spec in tables.items()
            }
            if schema == history.HISTORY_SCHEMA and tables:
                # the as-of queries, as the DuckDB file has them (publish/history.py holds their one text)
                cur.execute("set local check_function_bodies = off")
                for statement in history.postgres_functions(staging):
                    cur.execute(statement)
    return staged


def _sum_kind(pg_type: str) -> str | None:
    """'exact' for integer columns (compared to the unit), 'float' for the rest (compared to 1e-9
    relative: the engines add doubles in different orders), None for non-numeric columns."""
    pg_type = pg_type.lower()
    if pg_type in ("smallint", "integer", "bigint") or re.fullmatch(r"numeric\(\d+, ?0\)", pg_type):
        return "exact"
    if pg_type.startswith(("numeric", "real", "double precision")):
        return "float"
    return None


def _fingerprint(row: tuple, kinds: list[str]) -> tuple:
    count, *sums = row
    return (
        int(count),
        *(
            None if value is None else int(value) if kind == "exact" else float(value)
            for value, kind in zip(sums, kinds, strict=True)
        ),
    )


def _fingerprints_duckdb(published_file: Path) -> dict[tuple[str, str], tuple]:
    """(schema, table) -> (rows, sum of each numeric column in column order), in DuckDB."""
    prints = {}
    with duckdb.connect(str(published_file), read_only=True) as duck:
        for schema in SERVED_SCHEMAS:
            for table, spec in postgres_copy.schema_tables(duck, schema).items():
                numeric = [(name, _sum_kind(pg_type)) for name, pg_type in spec["columns"] if _sum_kind(pg_type)]
                sums = "".join(f', sum("{name}")' for name, _ in numeric)
                row = duck.execute(f'select count(*){sums} from {schema}."{table}"').fetchone()
                prints[(schema, table)] = _fingerprint(row, [kind for _, kind in numeric])
    return prints


def _fingerprints_postgres(cur) -> dict[tuple[str, str], tuple]:
    """The same fingerprints of the staging schemas, computed by PostgreSQL."""
    prints = {}
    for schema in SERVED_SCHEMAS:
        staging = schema + STAGING_SUFFIX
        cur.execute(
            "select c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod) "
            "from information_schema.columns c join pg_attribute a "
            "on a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)::regclass "
            "and a.attname = c.column_name "
            "where c.table_schema = %s order by c.table_name, c.ordinal_position",
            (staging,),
        )
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, pg_type in cur.fetchall():
            columns.setdefault(table, [])
            if _sum_kind(pg_type):
                columns[table].append((column, _sum_kind(pg_type)))
        for table, numeric in columns.items():
            sums = [sql.SQL("sum({})").format(sql.Identifier(name)) for name, _ in numeric]
            cur.execute(
                sql.SQL("select {} from {}.{}").format(
                    sql.SQL(", ").join([sql.SQL("count(*)"), *sums]), sql.Identifier(staging), sql.Identifier(table)
                )
            )
            prints[(schema, table)] = _fingerprint(cur.fetchone(), [kind for _, kind in numeric])
    return prints


def _same(expected: tuple | None, actual: tuple | None) -> bool:
    if expected is None or actual is None or len(expected) != len(actual):
        return expected == actual
    return all(
        e == a if not isinstance(e, float) or a is None else math.isclose(e, a, rel_tol=1e-9, abs_tol=1e-6)
        for e, a in zip(expected, actual, strict=True)
    )


def _audit(published_file: Path, pg) -> None:
    expected = _fingerprints_duckdb(published_file)
    with pg, pg.cursor() as cur:
        actual = _fingerprints_postgres(cur)
    differences = sorted(
        f"{schema}.{table}: published {expected.get((schema, table))}, staged {actual.get((schema, table))}"
        for schema, table in expected.keys() | actual.keys()
        if not _same(expected.get((schema, table)), actual.get((schema, table)))
    )
    if differences:
        raise ServingCheckFailed(
            "the PostgreSQL staging copy differs from the published version (rows, sums of numeric columns); "
            "the served marts were left as they were. Differences: " + "; ".join(differences[:10])
        )


def _swap(pg, database: str) -> None:
    """Make the staged schemas the live ones, in one transaction."""
    role = sql.Identifier(analyst_role())
    with pg, pg.cursor() as cur:
        cur.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(SWAP_LOCK_TIMEOUT)))
        ensure_analyst_role(cur, database)
        for schema in SERVED_SCHEMAS:
            live, staging, retired = (sql.Identifier(schema + suffix) for suffix in ("", STAGING_SUFFIX, RETIRED_SUFFIX))
            cur.execute(sql.SQL("drop schema if exists {} cascade").format(retired))
            cur.execute("select 1 from pg_namespace where nspname = %s", (schema,))
            if cur.fetchone():
                cur.execute(sql.SQL("alter schema {} rename to {}").format(live, retired))
            cur.execute(sql.SQL("alter schema {} rename to {}").format(staging, live))
            cur.execute(sql.SQL("grant usage on schema {} to {}").format(live, role))
            cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(live, role))
            cur.execute(sql.SQL("drop schema if exists {} cascade").format(retired))


def publish_to_postgres(settings: Settings, published_file: Path | None = None) -> dict[str, object]:
    """Serve a published version (default: the live one) from PostgreSQL's marts schema."""
    PostgresSettings.from_env()  # a malformed QNWU_PG_* setting is the first thing to fix
    published_file = published_file or settings.published_warehouse
    if not published_file.exists():
        raise FileNotFoundError(f"no published warehouse at {published_file}: run the pipeline first.")
    database = _database()
    postgres_copy.ensure_database(database)
    pg = postgres_copy.connect(database)
    try:
        staged = _stage(published_file, pg)
        _audit(published_file, pg)
        _swap(pg, database)
    finally:
        pg.close()
    params = postgres_copy.connection_parameters(database)
    return {
        "database": database,
        "host": f"{params['host']}:{params['port']}",
        "analyst_role": analyst_role(),
        "tables": {f"{schema}.{table}": rows for schema, tables in staged.items() for table, rows in tables.items()},
    }


__all__ = ["MirrorError", "ServingCheckFailed", "enabled", "publish_to_postgres"]
