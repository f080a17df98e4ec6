"""The same dbt models build on PostgreSQL, with no edit per target, and give the same marts.

The demo warehouse is built in DuckDB as the pipeline builds it; its raw layer is then copied to a
throw-away PostgreSQL database (qnwu_warehouse/serve/postgres_copy.py) and `dbt build --target postgres`
runs over it. Every mart must come out row for row as in DuckDB. PostgreSQL is part of the test
environment (CI runs a server): if it cannot be reached the tests fail, they do not skip.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import duckdb
import pytest
from support import sorted_rows

from qnwu_devtools import postgres_mirror
from qnwu_devtools.generator import generate
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.serve import postgres_copy
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow


def _require_postgres() -> None:
    try:
        postgres_copy.connect("postgres").close()
        return
    except postgres_copy.MirrorError as exc:
        problem = str(exc)
    pytest.fail(f"PostgreSQL is required by this test and is not reachable: {problem}", pytrace=False)


def _settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch, database: str) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("QNWU_DATA_DIR", str(data_dir))
    monkeypatch.delenv("QNWU_LANDING_URL", raising=False)
    monkeypatch.setenv("QNWU_PG_DATABASE", database)  # read by the dbt profile's postgres target
    settings = Settings.from_env()
    settings.ensure_data_dir()
    return settings


def _mart_tables(duck) -> list[str]:
    return [
        name
        for (name,) in duck.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
    ]


def _columns(duck, table: str) -> str:
    names = duck.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    return ", ".join(f'"{name}"' for (name,) in names)


def _pg_rows(pg, query: str) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def test_mirror_keeps_types_nulls_and_empty_strings(tmp_path, monkeypatch):
    _require_postgres()
    database = f"qnwu_test_{secrets.token_hex(4)}"
    settings = _settings(tmp_path, monkeypatch, database)
    settings.working_warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.working_warehouse)) as duck:
        duck.execute("create schema raw")
        duck.execute(
            "create table raw.sample (id varchar primary key, note varchar, n bigint, i integer, "
            "sent_at timestamptz, d date, ok boolean)"
        )
        duck.execute("""insert into raw.sample values
            ('a', '', 1, 2, '2023-06-05 02:00:00+00', '2023-06-01', true),
            ('b', null, null, null, null, null, null),
            ('c', 'dấu phẩy, "ngoặc kép"' || chr(10) || 'xuống dòng \\N', 9007199254740993, -1,
             '2024-01-01 00:00:00.123456+07', '2024-02-29', false)""")
    try:
        copied = postgres_mirror.mirror_raw(settings, database)
        assert copied == {"sample": 3}
        copied = postgres_mirror.mirror_raw(settings, database)  # a second copy replaces the first
        assert copied == {"sample": 3}
        pg = postgres_copy.connect(database)
        try:
            types = dict(
                _pg_rows(
                    pg,
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'raw' and table_name = 'sample'",
                )
            )
            rows = _pg_rows(pg, "select id, note, n, i, sent_at, d, ok from raw.sample order by id")
            primary_key = _pg_rows(
                pg,
                "select count(*) from information_schema.table_constraints "
                "where table_schema = 'raw' and constraint_type = 'PRIMARY KEY'",
            )
        finally:
            pg.close()
    finally:
        postgres_copy.drop_database(database)
    assert types == {
        "id": "character varying",
        "note": "character varying",
        "n": "bigint",
        "i": "integer",
        "sent_at": "timestamp with time zone",
        "d": "date",
        "ok": "boolean",
    }
    assert primary_key == [(1,)]
    assert rows[0][1] == "" and rows[1][1:] == (None,) * 6
    assert rows[2][1] == 'dấu phẩy, "ngoặc kép"\nxuống dòng \\N'
    assert rows[2][2] == 9007199254740993
    assert rows[2][4] == dt.datetime(2023, 12, 31, 17, 0, 0, 123456, tzinfo=dt.UTC)
    assert rows[2][5] == dt.date(2024, 2, 29)


def test_models_build_on_postgresql_with_the_same_marts(tmp_path, monkeypatch):
    _require_postgres()
    database = f"qnwu_test_{secrets.token_hex(4)}"
    settings = _settings(tmp_path / "data", monkeypatch, database)
    generate(settings.data_dir / "landing", units=30, months=3, faults=True)
    ingest(settings, load_id="postgres-portability")
    dbt_runner.build(settings)
    try:
        copied = postgres_mirror.mirror_raw(settings, database)
        assert copied["submissions"] > 0 and copied["submission_values"] > 0
        output = dbt_runner.run_dbt(settings, "build", "--target", "postgres", "--fail-fast")
        assert "Completed successfully" in output, output[-3000:]
        # A second build on PostgreSQL runs the incremental facts as increments: their new rows must
        # have exactly the column types of the tables (on_schema_change: fail).
        dbt_runner.run_dbt(settings, "run", "--target", "postgres", "--select", "config.materialized:incremental")

        pg = postgres_copy.connect(database)
        try:
            pg.cursor().execute("set time zone 'UTC'")
            with duckdb.connect(str(settings.working_warehouse), read_only=True) as duck:
                # the figures the reports are made of, spelled out for a readable failure
                indicator_totals = (
                    "select indicator_code, period_grain, sum(value) from marts.agg_indicators_by_period "
                    "where scope_level = 'province' group by 1, 2 order by 1, 2"
                )
                duck_totals = sorted_rows(duck.execute(indicator_totals).fetchall())
                assert duck_totals, "no indicator totals in DuckDB"
                assert sorted_rows(_pg_rows(pg, indicator_totals)) == duck_totals
                for count in (
                    "select count(*) from marts.fct_club_snapshots",
                    "select count(*) from marts.fct_indicator_values",
                    "select status, count(*) from marts.fct_submission_feedback group by 1 order by 1",
                ):
                    assert sorted_rows(_pg_rows(pg, count)) == sorted_rows(duck.execute(count).fetchall()), count

                # and then every mart, row for row
                tables = _mart_tables(duck)
                assert len(tables) >= 17, tables
                different = []
                for table in tables:
                    query = f"select {_columns(duck, table)} from marts.{table}"
                    if sorted_rows(duck.execute(query).fetchall()) != sorted_rows(_pg_rows(pg, query)):
                        different.append(table)
                assert different == [], f"marts that differ between DuckDB and PostgreSQL: {different}"
        finally:
            pg.close()
    finally:
        postgres_copy.drop_database(database)
