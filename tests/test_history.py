"""What did we report, and what changed since: the history, releases, as-of queries, restatements,
and the disclosure audit across versions.

One warehouse for the module: 2023 for 30 units, one report held back. Version 1 is published and
released as the annual report; then the late report and a correction of another report arrive,
and version 2 is published. Every expectation below is checked against the version files
themselves (the release's file and the live one), read independently of publish/history.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from support import build_warehouse, using_data_dir

from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.publish import history, releases, versioning
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow
RELEASE = "2023 annual report, sent 2024-01-10"
LATE_UNIT_PERIOD = "2023-07"


def _qnwu(settings, *args: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("qnwu")), *args],
        capture_output=True,
        text=True,
        env={"QNWU_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _figures(path: Path) -> dict[tuple[str, str, str], tuple[float | None, bool]]:
    """Every reported figure of a version file, read from its marts (not from its history)."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("""
            select 'agg_indicators_by_period', indicator_total_id, 'value', value::double, value_is_suppressed
            from marts.agg_indicators_by_period
            union all
            select 'agg_clubs_by_period', club_total_id, measure, value::double, false
            from marts.agg_clubs_by_period unpivot (value for measure in
                (clubs_open_at_period_end, members_at_period_end, clubs_new_in_period))
            union all
            select 'agg_target_progress', target_progress_id, measure, value::double, any_value(value_is_suppressed)
            from (select target_progress_id, value_is_suppressed, numerator_value::double as numerator_value,
                    denominator_value::double as denominator_value, achieved_value::double as achieved_value
                from marts.agg_target_progress)
            unpivot include nulls (value for measure in (numerator_value, denominator_value, achieved_value))
            group by all""").fetchall()
    return {(table, figure, measure): (value, bool(hidden)) for table, figure, measure, value, hidden in rows}


def _publish(run_id: str) -> None:
    pipeline.publish_stage(run_id, pipeline.gate_stage(run_id))


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """(settings, the release's record, version 1's file, the held-back and corrected reports)."""
    held_back = tmp_path_factory.mktemp("held-back")

    def hold_back_one(landing: Path) -> None:
        late = sorted(landing.glob(f"*_{LATE_UNIT_PERIOD}.*"))[0]
        shutil.move(late, held_back / late.name)

    data_dir = tmp_path_factory.mktemp("history")
    settings = build_warehouse(
        data_dir, "history-1", publish=True, prepare_landing=hold_back_one, year=2023, months=12, units=30
    )
    first_version = versioning.current_version(settings)
    with using_data_dir(data_dir):
        record = releases.create_release(settings, RELEASE, note="sent to the central union")
    time.sleep(1.1)  # a moment that lies between the two versions, for the as-of query
    between = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    # the late report arrives, and a unit corrects its May report (news items 40 more)
    landing = data_dir / "landing"
    (late,) = held_back.iterdir()
    shutil.move(late, landing / late.name)
    may = sorted(landing.glob("*_2023-05.csv"))[0]
    rows = list(csv.reader(io.StringIO(may.read_text(encoding="utf-8"))))
    for row in rows:
        if row[:2] == ["header", "submitted_at"]:
            row[3] = "2023-07-30T09:00:00+07:00"
        if row[:3] == ["value", "news_items", "total"]:
            row[3] = str(int(row[3]) + 40)
    corrected = landing / f"{may.stem}_correction.csv"
    with corrected.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    with using_data_dir(data_dir, QNWU_LANDING_SETTLE_SECONDS="0"):
        ingest(settings, load_id="history-2")
        dbt_runner.build(settings)
        _publish("history-2")
    return {
        "settings": settings,
        "release": record,
        "first_version": first_version,
        "late": late.name.split("_")[0],
        "corrected": may.name.split("_")[0],
        "between": between,
    }


def test_the_release_still_opens_unchanged_and_equals_what_the_history_says_of_its_version(story):
    settings, record = story["settings"], story["release"]
    assert releases.verify(record)
    assert Path(record["file"]).stat().st_ino == story["first_version"].stat().st_ino
    released = _figures(Path(record["file"]))
    with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
        as_of_release = con.execute(
            """
            select figure_table, figure_id, measure, value, value_is_suppressed
            from history.figures_as_of_version(
                (select version_seq from history.versions where version_name = ?))""",
            [record["version"]],
        ).fetchall()
        (released_in_history,) = con.execute(
            "select count(*) from history.releases where release_name = ?", [RELEASE]
        ).fetchone()
    assert {(t, f, m): (v, bool(h)) for t, f, m, v, h in as_of_release} == released
    assert released_in_history == 1
    listing = _qnwu(settings, "release", "list")
    print(listing)
    assert RELEASE in listing and "(unchanged)" in listing


def test_an_as_of_query_between_two_versions_returns_the_older_figures(story):
    settings = story["settings"]
    older, live = _figures(story["first_version"]), _figures(settings.published_warehouse)
    assert older != live
    with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
        between = con.execute(
            "select figure_table, figure_id, measure, value, value_is_suppressed "
            "from history.figures_as_published_on(?::timestamptz)",
            [story["between"].isoformat()],
        ).fetchall()
        now = con.execute(
            "select figure_table, figure_id, measure, value, value_is_suppressed from history.figures_as_published_on(now())"
        ).fetchall()
    assert {(t, f, m): (v, bool(h)) for t, f, m, v, h in between} == older
    assert {(t, f, m): (v, bool(h)) for t, f, m, v, h in now} == live
    print(
        _qnwu(
            settings,
            "history",
            "figures",
            "--as-of",
            story["between"].isoformat(),
            "--indicator",
            "news_items",
            "--period",
            "2023",
        )
    )


def test_restatements_list_each_changed_figure_with_old_and_new_values_and_the_reports_behind_it(story):
    settings = story["settings"]
    older, live = _figures(Path(story["release"]["file"])), _figures(settings.published_warehouse)
    expected = {
        key: (older.get(key, (None, False)), live.get(key, (None, False)))
        for key in older.keys() | live.keys()
        if older.get(key) != live.get(key)
    }
    assert expected, "the late report and the correction changed nothing?"
    with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
        query, parameters = history.restatements_sql(1, history.resolve_version(con), None)
        rows = con.execute(
            "select figure_table, figure_id, measure, old_value, new_value, difference, "
            "old_is_suppressed, new_is_suppressed, reports_cause, rules_cause "
            "from history.restatements_between(?, ?)",
            parameters[:2],
        ).fetchall()
        assert len(con.execute(query, parameters).fetchall()) == len(rows)
    found = {(t, f, m): ((old, oh), (new, nh)) for t, f, m, old, new, _d, oh, nh, _c, _r in rows}
    assert found == expected
    for _t, figure, _m, old, new, difference, _oh, _nh, cause, rules in rows:
        assert rules is None
        assert cause, f"{figure}: no report named as the cause"
        assert story["late"] in cause or story["corrected"] in cause, (figure, cause)
        if old is not None and new is not None:
            assert difference == new - old
    # the correction's 40 news items, at the province's year
    year = next(row for row in rows if row[1].startswith("year:2023:province:") and ":news_items:" in row[1])
    assert year[5] >= 40 and story["corrected"] in year[8]
    printed = _qnwu(settings, "history", "restatements", "--indicator", "news_items")
    print(printed)
    assert f"{story['corrected']} 2023-05 corrected v2" in printed


def test_the_audit_across_versions_counts_every_hidden_cell_an_earlier_version_published(story):
    """Recomputed from the two version files and the working warehouse's true values: the cells
    hidden now that version 1 published with the value they still have are exactly what the
    publish's audit across versions counted as already published (and it passed with them known)."""
    settings = story["settings"]
    with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
        con.execute(f"attach '{story['first_version']}' as older (read_only)")
        con.execute(f"attach '{settings.working_warehouse}' as working (read_only)")
        given_back = con.execute("""
            with now_hidden as (
                select indicator_total_id as cell_id from marts.agg_indicators_by_period where value_is_suppressed
                union select indicator_value_id from marts.fct_indicator_values where value is null
                union select indicator_value_id from marts.fct_beneficiaries where value is null
            ),
            older_published as (
                select indicator_total_id as cell_id, value from older.marts.agg_indicators_by_period
                where not value_is_suppressed
                union select indicator_value_id, value from older.marts.fct_indicator_values where value is not null
                union select indicator_value_id, value from older.marts.fct_beneficiaries where value is not null
            )
            select count(distinct cell_id) from now_hidden join older_published using (cell_id)
            join working.disclosure.disclosure_sensitive_cells as truth using (cell_id)
            where truth.value = older_published.value""").fetchone()[0]
        (summary,) = con.execute("select (disclosure::json->'across_versions')::varchar from meta.publication").fetchone()
    print("across versions:", summary, "recomputed:", given_back)
    assert f'"already_published_earlier":{given_back}' in summary.replace(" ", "")


def test_hidden_cells_published_earlier_that_give_another_back_are_caught_by_the_audit(story, tmp_path):
    """The differencing attack, forged on real data: earlier versions are made to have published
    every hidden cell of one indicator and year but one small (primary) count, with their true
    values: the roll-ups in the history of a copy of the live version (as a "version 0"), the
    units' cells in a copy of version 1. Alone the live version protects that count; with the
    earlier versions known it is pinned, and the audit across versions must say so, as an attacker
    holding every version would find."""
    settings = story["settings"]
    forged = tmp_path / "live-with-forged-history.duckdb"
    shutil.copyfile(settings.published_warehouse, forged)
    con = duckdb.connect(str(forged))
    con.execute(f"attach '{settings.working_warehouse}' as working (read_only)")
    hidden = """
        select cells.*
        from working.disclosure.disclosure_sensitive_cells as cells
        join working.disclosure.disclosure_hidden_cells as chosen using (cell_id)
        where chosen.suppression in ('primary', 'secondary')"""
    primary_cell, primary_value, component = con.execute(
        f"select cell_id, value, component_id from ({hidden}) where scope_level = 'unit' order by cell_id limit 1"
    ).fetchone()
    others = con.execute(
        f"select cell_id, scope_level, value from ({hidden}) where component_id = ? and cell_id <> ?",
        [component, primary_cell],
    ).fetchall()
    assert primary_value < 5 and others
    con.execute("insert into history.versions values (0, 'forged-earlier', 'forged', '2020-01-01', false, 'forged', 0, 0)")
    con.execute(
        f"""insert into history.figure_changes
        select 0, 'agg_indicators_by_period', cell_id, 'value', period_grain, period_label, scope_level, scope_code,
            indicator_code, category, value, false, false
        from ({hidden}) where component_id = ? and cell_id <> ? and scope_level <> 'unit'""",
        [component, primary_cell],
    )
    earlier = tmp_path / "earlier.duckdb"
    shutil.copyfile(story["first_version"], earlier)
    with duckdb.connect(str(earlier)) as writable:
        for cell, level, value in others:
            if level == "unit":  # fct_beneficiaries, a view of fct_indicator_values in the file, shows it too
                writable.execute(
                    "update marts.fct_indicator_values set value = ? where indicator_value_id = ?", [value, cell]
                )
    catalog = con.execute("select current_database()").fetchone()[0]
    con.execute(f"attach '{earlier}' as earlier (read_only)")
    from qnwu_warehouse.disclosure import audit

    truth = "working.disclosure.disclosure_sensitive_cells"
    pinned = audit.pinned_by_history(con, catalog, truth, {"earlier": story["first_version"].stem})
    assert {cell for cell, _level, _value in others} <= pinned.keys()
    # several earlier version files are read in one pass: a cell is credited to the first of them,
    # in the order given, that gave it away
    shutil.copyfile(earlier, tmp_path / "earlier-copy.duckdb")
    con.execute(f"attach '{tmp_path / 'earlier-copy.duckdb'}' as earlier_copy (read_only)")
    unit_cells = {cell for cell, level, _value in others if level == "unit"}
    for order in (["earlier", "earlier_copy"], ["earlier_copy", "earlier"]):
        credited = audit.pinned_by_history(con, catalog, truth, {alias: f"version of {alias}" for alias in order})
        assert unit_cells and {credited[cell][1] for cell in unit_cells} == {f"version of {order[0]}"}
    year = {component.split(":")[1]}
    without = audit.run_audit(con, catalog, "marts", 5, year)
    with_them = audit.run_audit(con, catalog, "marts", 5, year, pinned={c: v for c, (v, _n) in pinned.items()})
    exposed = {cell.cell_id: (cell.lower_bound, cell.upper_bound) for cell in with_them.failures}
    print(
        f"{len(others)} other hidden cell(s) of {component} published earlier; {primary_cell} = {primary_value}: "
        f"alone {'protected' if without.passed else 'EXPOSED'}, with the earlier versions {exposed.get(primary_cell)}"
    )
    assert without.passed
    assert exposed.get(primary_cell) == (primary_value, primary_value)
    con.close()


def test_the_history_and_its_as_of_queries_are_served_from_postgresql_to_the_analyst(story):
    """Served like the marts: the analyst role runs the same as-of and restatement queries in
    PostgreSQL and gets DuckDB's answers."""
    import secrets

    import psycopg2

    from qnwu_warehouse.serve import postgres_copy, postgres_serving

    settings = story["settings"]
    database, role = f"qnwu_test_{secrets.token_hex(4)}", f"qnwu_test_analyst_{secrets.token_hex(4)}"
    try:
        with using_data_dir(
            settings.data_dir, QNWU_PG_DATABASE=database, QNWU_PG_ANALYST_ROLE=role, QNWU_PG_ANALYST_PASSWORD="history-test"
        ):
            served = postgres_serving.publish_to_postgres(settings)
        assert "history.figure_changes" in served["tables"]
        params = postgres_copy.connection_parameters(database)
        analyst = psycopg2.connect(
            host=params["host"], port=params["port"], dbname=database, user=role, password="history-test"
        )
        queries = {
            "as of version 1": "select figure_table, figure_id, measure, value, value_is_suppressed "
            "from history.figures_as_of_version(1)",
            "restatements 1 -> 2": "select figure_id, measure, old_value, new_value, difference, reports_cause "
            "from history.restatements_between(1, 2)",
        }
        with duckdb.connect(str(settings.published_warehouse), read_only=True) as duck:
            for name, query in queries.items():
                with analyst.cursor() as cur:
                    cur.execute(query)
                    on_postgres = sorted(cur.fetchall(), key=repr)
                in_duckdb = sorted(duck.execute(query).fetchall(), key=repr)
                print(f"{name}: {len(on_postgres)} rows on PostgreSQL as {role}, {len(in_duckdb)} in DuckDB")
                assert on_postgres == in_duckdb and on_postgres
        analyst.close()
    finally:
        postgres_copy.drop_database(database)
        with postgres_copy.connect("postgres") as pg, pg.cursor() as cur:
            cur.execute(f'drop role if exists "{role}"')


def test_the_report_says_beside_each_headline_figure_whether_it_changed_since_the_release_and_why(story, tmp_path):
    import re

    from qnwu_warehouse.serve import report

    settings, record = story["settings"], story["release"]
    live = versioning.current_version(settings)
    assert report.last_release(settings, live) == (RELEASE, Path(record["file"]), record["version"])
    html = report.write_report(live, tmp_path / "live.html", live.name, release=report.last_release(settings, live))
    released = report.write_report(Path(record["file"]), tmp_path / "release.html", record["version"])

    def cards(path: Path) -> dict[str, str]:
        return dict(re.findall(r'data-figure="(glance:[^"]+)" data-value="([^"]*)"', path.read_text(encoding="utf-8")))

    notes = dict(re.findall(r'data-since-release="([^"]+)">([^<]+)<', html.read_text(encoding="utf-8")))
    before, after = cards(released), cards(html)
    assert notes.keys() == after.keys()
    changed = {key for key in after if before.get(key) != after[key]}
    assert changed, "the late report and the correction changed no headline figure?"
    for key, note in notes.items():
        print(f"{key}: {before.get(key)} -> {after[key]}: {note}")
        if key in changed:
            assert note.startswith("Đã thay đổi") and story["corrected"] in note + story["late"], note
            assert "gửi muộn" in note and "đính chính" in note
        else:
            assert note.startswith("Không đổi"), note


def test_a_rollback_keeps_the_withdrawn_version_in_the_history_and_is_recorded_as_a_version(story):
    """Runs last: it rolls the story back to version 1 and publishes again."""
    settings = story["settings"]
    withdrawn = versioning.current_version(settings)
    withdrawn_figures = _figures(withdrawn)
    with using_data_dir(settings.data_dir):
        versioning.rollback(settings, story["first_version"].stem)
        _publish("history-after-rollback")
    with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
        rows = con.execute(
            "select version_seq, version_name, rebuilt_whole, reason from history.versions order by 1"
        ).fetchall()

        def as_of(seq: int) -> dict:
            found = con.execute(
                "select figure_table, figure_id, measure, value, value_is_suppressed from history.figures_as_of_version(?)",
                [seq],
            ).fetchall()
            return {(t, f, m): (v, bool(h)) for t, f, m, v, h in found}

        print(*rows, sep="\n")
        assert [seq for seq, *_ in rows] == [1, 2, 3, 4]
        assert rows[1][1] == withdrawn.stem and rows[2][3] == f"rolled back to {story['first_version'].stem}"
        assert as_of(2) == withdrawn_figures  # the withdrawn version is still what was published then
        assert as_of(3) == _figures(story["first_version"])  # the rollback restored version 1's figures
        assert as_of(4) == _figures(settings.published_warehouse)
    assert releases.verify(story["release"])


class _CountingConnection:
    """A DuckDB connection that counts the statements run through it."""

    def __init__(self, con):
        self.con, self.statements = con, []

    def execute(self, sql, *args):
        self.statements.append(sql)
        return self.con.execute(sql, *args)


def test_the_history_schema_is_written_once_and_again_only_when_its_text_changed():
    """ensure_schema() writes the tables and macros into a file that lacks them or has another
    text of them (a file published by an older version of this code), and only reads one comment
    from a file that has them: a new version starts as a copy of the live one."""
    con = _CountingConnection(duckdb.connect())
    history.ensure_schema(con)
    written = len(con.statements)
    assert written > 3
    con.statements.clear()
    history.ensure_schema(con)
    assert len(con.statements) == 1  # the comment, read
    con.con.execute("create or replace macro history.figures_as_of_version(as_of_version) as table select 1 as x")
    con.con.execute("comment on table history.versions is 'history schema 0000000000000000'")  # an older text's
    con.statements.clear()
    history.ensure_schema(con)
    assert len(con.statements) == written
    assert "changed_in_version" in [
        row[0] for row in con.con.execute("describe select * from history.figures_as_of_version(1)").fetchall()
    ]
