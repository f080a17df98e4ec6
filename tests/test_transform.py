"""dbt is given the seeds by a path it cannot turn against them."""

from __future__ import annotations

import shutil

import pytest
from support import using_data_dir

from qnwu_warehouse.settings import SEEDS_DIR
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow


def test_seeds_outside_the_repository_are_loaded_and_left_byte_for_byte(tmp_path):
    # dbt writes each seed's compiled SQL to target/run/<project>/<seed path>; an absolute seed path
    # would make that the seed file itself. The benchmark's seeds (real units plus synthetic ones)
    # live outside the repository like this.
    seeds = tmp_path / "reference"
    shutil.copytree(SEEDS_DIR, seeds)
    before = {path.name: path.read_bytes() for path in seeds.glob("*.csv")}
    (tmp_path / "data").mkdir()
    with using_data_dir(tmp_path / "data", QNWU_SEEDS_DIR=str(seeds)) as settings:
        output = dbt_runner.run_dbt(settings, "seed")
    assert f"PASS={len(before)}" in output
    assert {path.name: path.read_bytes() for path in seeds.glob("*.csv")} == before


# The end of dbt's log when a model's table is out of sync with the model (abridged from a real
# run), and the end of the traceback dbt printed when its --fail-fast then crashed cancelling the
# other threads' queries (seen in CI on 2026-12-06).
FAILED_BUILD_LOG = """\
04:30:03  57 of 194 START sql incremental model marts.fct_submission_feedback .......... [RUN]
04:30:04  57 of 194 ERROR creating sql incremental model marts.fct_submission_feedback . [ERROR in 0.21s]
04:30:05  Failure in model fct_submission_feedback (models/marts/operations/fct_submission_feedback.sql)
04:30:05    Compilation Error in model fct_submission_feedback (models/marts/operations/fct_submission_feedback.sql)
                The source and target schemas on this incremental model are out of sync!
                They can be reconciled in several ways:
                  - Re-run the incremental model with `full_refresh: True` to update the target schema.
04:30:05  CANCEL query model.qnwu_warehouse.fct_indicator_values ........................ [CANCEL]
"""
CANCEL_CRASH = (
    """\
Traceback (most recent call last):
  File ".venv/lib/python3.11/site-packages/dbt/task/runnable.py", line 425, in _cancel_connections
    for conn_name in adapter.cancel_open_connections():
  File ".venv/lib/python3.11/site-packages/dbt/adapters/duckdb/environments/local.py", line 73, in cancel
    connection.handle.cursor().interrupt()
"""
    + "    ^^^^^^^^^^^^\n" * 60
    + "_duckdb.ConnectionException: Connection Error: Connection already closed!\n"
)


def test_a_dbt_crash_after_a_failure_still_reports_the_failure():
    """dbt logs to stdout; when it crashes after logging a failure (its traceback on stderr, longer
    than the lines kept), the report keeps the failure and the crash's last line, and the
    out-of-sync failure still gets its advice (run `qnwu rebuild`)."""
    report = dbt_runner.failure_report(FAILED_BUILD_LOG, CANCEL_CRASH)
    assert "schemas on this incremental model are out of sync" in report
    assert report.endswith(
        "(then dbt itself crashed: _duckdb.ConnectionException: Connection Error: Connection already closed!)"
    )
    assert "run `qnwu rebuild` once" in dbt_runner.with_rebuild_hint(report)
    # without a crash, the end of stdout and stderr together, as before
    assert dbt_runner.failure_report("a\nb\n", "c\n", lines=2) == "b\nc"
