"""The change set (qnwu_warehouse/checks/changes.py) on small hand-made catalogs: which reports the
gate validates and publish replaces, in both directions of the comparison between the working
marts' current reports and the live version's.

A report whose current version changed, a report new since the live version, and a report the live
version holds that the working marts no longer do (a working warehouse restored from a backup, a
report erased from raw and rebuilt) are changed; an unchanged report is not. No path of the
pipeline removes a report without a whole revalidation, so only this test reaches the last case.
"""

from __future__ import annotations

import json

import duckdb

from qnwu_warehouse.checks import changes
from qnwu_warehouse.settings import Settings

PUBLISHED = [  # (submission_id, file_hash, period) in the live version
    ("A:2025-11", "a-nov", "2025-11"),
    ("B:2025-11", "b-nov-first", "2025-11"),
    ("C:2025-10", "c-oct", "2025-10"),  # gone from the working marts
]
CURRENT = [  # the working marts' current placed versions
    ("A:2025-11", "a-nov", "2025-11"),  # unchanged
    ("B:2025-11", "b-nov-corrected", "2025-11"),  # a new current version
    ("D:2025-12", "d-dec", "2025-12"),  # new
]


def _working_catalog(con) -> None:
    con.execute("create schema working.marts")
    con.execute("create schema working.raw")
    con.execute(
        "create table working.marts.fct_submission_versions "
        "(submission_id varchar, file_hash varchar, period varchar, is_current_placed boolean)"
    )
    rows = [(*row, True) for row in CURRENT] + [("B:2025-11", "b-nov-first", "2025-11", False)]
    con.executemany("insert into working.marts.fct_submission_versions values (?, ?, ?, ?)", rows)
    con.execute(
        "create table working.marts.dim_periods as select * from (values "
        "('2025-10', '2025-Q4', 2025), ('2025-11', '2025-Q4', 2025), ('2025-12', '2025-Q4', 2025)) "
        "as periods(period, quarter_label, report_year)"
    )
    con.execute("create table working.raw.received_files (file_hash varchar, received_at timestamptz)")
    con.execute("create table working.raw.submissions (file_hash varchar, loaded_at timestamptz)")


def _published_catalog(con, settings: Settings) -> None:
    con.execute("create schema published.meta")
    con.execute("create table published.meta.publication (rules_fingerprint varchar)")
    con.execute("insert into published.meta.publication values (?)", [changes.rules_fingerprint(settings)])
    con.execute(
        "create table published.meta.published_submissions "
        "(submission_id varchar, file_hash varchar, period varchar, loaded_at timestamptz)"
    )
    con.executemany(
        "insert into published.meta.published_submissions values (?, ?, ?, timestamptz '2025-12-01 00:00:00+00')",
        PUBLISHED,
    )


def test_reports_changed_new_and_gone_are_in_the_change_set_and_unchanged_ones_are_not(data_dir, tmp_path):
    settings = Settings.from_env()
    settings.dbt_target_dir.mkdir(parents=True)
    manifest = {
        "nodes": {
            "model.p.fct_indicator_values": {
                "resource_type": "model",
                "name": "fct_indicator_values",
                "config": {"meta": {"changed_by": "report"}},
            }
        }
    }
    (settings.dbt_target_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    con = duckdb.connect()
    con.execute(f"attach '{tmp_path / 'working.duckdb'}' as working")
    con.execute(f"attach '{tmp_path / 'published.duckdb'}' as published")
    _working_catalog(con)
    _published_catalog(con, settings)

    change_set = changes.changes_since(con, settings, "working", "published")

    assert not change_set.whole, change_set.reason
    changed = {row[0] for row in con.execute("select submission_id from changed_reports").fetchall()}
    assert changed == {"B:2025-11", "C:2025-10", "D:2025-12"}
    assert change_set.reports == 3
    assert set(change_set.buckets) == {
        ("month", "2025-10"),
        ("month", "2025-11"),
        ("month", "2025-12"),
        ("quarter", "2025-Q4"),
        ("year", "2025"),
    }
    # the files to check: every version the working marts hold of a changed report
    files = {row[0] for row in con.execute("select file_hash from changed_files").fetchall()}
    assert {"b-nov-first", "b-nov-corrected", "d-dec"} <= files
    assert "a-nov" not in files
    assert change_set.row_filter("fct_indicator_values").startswith("period in ('2025-10', '2025-11', '2025-12') and ")
