"""The pipeline's stages as the DAG tasks call them, and the run summary.

Each stage reads its settings from the environment (so the same code runs under `dag.test()`,
the scheduler, or a Celery worker) and returns a small JSON-able dict for XCom.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from datetime import date

import duckdb

from qnwu_warehouse.checks import alerts, quality
from qnwu_warehouse.publish import versioning
from qnwu_warehouse.settings import Settings, path_safe
from qnwu_warehouse.transform import dbt_runner


def _settings() -> Settings:
    settings = Settings.from_env()
    settings.ensure_data_dir()
    return settings


def ingest_stage(run_id: str, today: date | None = None) -> dict[str, object]:
    # imported here: the other stages need none of ingest's modules (pandas, its readers), and
    # each stage is a process of its own (a `qnwu` command, an Airflow task)
    from qnwu_warehouse.ingest import loader

    return loader.ingest(_settings(), load_id=run_id, today=today).as_dict()


def build_stage(run_id: str) -> dict[str, object]:
    summary, results_dir = dbt_runner.build_for_run(_settings(), run_id)
    return {"dbt": summary, "results_dir": str(results_dir)}


def gate_stage(run_id: str) -> dict[str, object]:
    settings = _settings()
    gate = quality.run_gate(settings, run_id)
    if not gate.passed:
        message = quality.failure_message(gate)
        alerts.notify_gate_failure(settings, run_id, message)
        raise quality.QualityGateFailed(message)  # fails the task before anything is published
    return gate.summary()


def publish_stage(run_id: str, gate_summary: dict[str, object]) -> dict[str, object]:
    settings = _settings()
    try:
        publication = versioning.publish(settings, run_id, gate_summary)
    except versioning.DisclosureRefused as refused:
        alerts.notify_gate_failure(settings, run_id, str(refused))
        raise
    return {"published": str(publication.path), "version": publication.version_file.name, "tables": publication.tables}


@contextlib.contextmanager
def _revalidating_all():
    """QNWU_REVALIDATE_ALL=true for the block: the gate validates and publish copies every row."""
    previous = os.environ.get("QNWU_REVALIDATE_ALL")
    os.environ["QNWU_REVALIDATE_ALL"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("QNWU_REVALIDATE_ALL", None)
        else:
            os.environ["QNWU_REVALIDATE_ALL"] = previous


def rebuild_stage(run_id: str) -> dict[str, object]:
    """The documented repair (`qnwu rebuild`): when the marts no longer match raw (a reconciliation
    fails on every run), rebuild them from raw with `dbt build --full-refresh` (every model and
    test, on every row), then run the whole gate (every row, as QNWU_REVALIDATE_ALL=true does) and
    publish every mart afresh. Raises DbtFailed or QualityGateFailed (alerting) like the stages."""
    settings = _settings()
    output = dbt_runner.run_dbt(settings, "build", "--full-refresh")  # no --fail-fast: see dbt_runner.build
    dbt_summary = next((line.split("Done. ", 1)[1].strip() for line in output.splitlines() if "Done. PASS=" in line), "")
    with _revalidating_all():
        gate = quality.run_gate(settings, run_id)
        if not gate.passed:
            message = quality.failure_message(gate, rebuilt=True)
            alerts.notify_gate_failure(settings, run_id, message)
            raise quality.QualityGateFailed(message)
        gate_summary = {**gate.summary(), "note": "published by `qnwu rebuild` after a dbt full refresh"}
        published = publish_stage(run_id, gate_summary)
    return {"dbt": dbt_summary, "gate": gate.summary(), **published}


def report_stage(run_id: str, version_file: str) -> dict[str, object]:
    """The static HTML report of the version just published (published/reports/<version>.html)."""
    from qnwu_warehouse.serve import report

    settings = _settings()
    version = settings.published_versions_dir / version_file
    written = report.write_report(
        version,
        report.default_report_path(settings, version),
        version.name,
        run_id,
        release=report.last_release(settings, version),
    )
    return {"report": str(written)}


def serve_postgres_stage(version_file: str) -> dict[str, object]:
    """Serve the version just published from PostgreSQL too, if QNWU_SERVE_POSTGRES is on."""
    from pathlib import Path

    from qnwu_warehouse.serve import postgres_serving

    settings = _settings()
    if not postgres_serving.enabled():
        return {"postgres": "off (set QNWU_SERVE_POSTGRES=true to serve the marts from PostgreSQL)"}
    return {
        "postgres": postgres_serving.publish_to_postgres(settings, settings.published_versions_dir / Path(version_file).name)
    }


def run_summary(settings: Settings, ingest_run_id: str, publish_run_id: str) -> dict[str, object]:
    """What one run did, read back from the warehouse itself rather than from Airflow's memory."""
    summary: dict[str, object] = {"ingest_run_id": ingest_run_id, "publish_run_id": publish_run_id}
    if settings.working_warehouse.exists():
        with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
            run = con.execute(
                "select files_new, files_accepted, files_rejected, files_duplicate, "
                "coalesce(files_skipped, 0) from raw.load_runs where load_id = ?",
                [ingest_run_id],
            ).fetchone()
            total = con.execute(
                "select count(*), count(*) filter (outcome = 'accepted'), "
                "count(*) filter (outcome = 'rejected'), count(*) filter (outcome = 'duplicate') "
                "from raw.received_files"
            ).fetchone()
            summary["this_run"] = dict(
                zip(("received", "accepted", "rejected", "duplicate", "skipped"), run or (0,) * 5, strict=True)
            )
            summary["all_runs"] = dict(zip(("received", "accepted", "rejected", "duplicate"), total, strict=True))
            has_audit = con.execute("select count(*) from duckdb_tables() where schema_name = 'audit'").fetchone()[0]
            if has_audit:
                gate = con.execute(
                    "select count(*), count(*) filter (not success and severity = 'critical'), "
                    "count(*) filter (not success and severity = 'warning') "
                    "from audit.validation_results where run_id = ?",
                    [publish_run_id],
                ).fetchone()
                summary["gate"] = {"expectations": gate[0], "critical_failures": gate[1], "warnings": gate[2]}
    results = settings.data_dir / "dbt" / "runs" / path_safe(publish_run_id) / "run_results.json"
    if results.exists():
        statuses = Counter(r["status"] for r in json.loads(results.read_text(encoding="utf-8"))["results"])
        summary["dbt"] = dict(statuses)
    if settings.published_warehouse.exists():
        with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
            row = con.execute("select run_id, published_at, table_row_counts from meta.publication").fetchone()
            summary["published"] = {
                "path": str(settings.published_warehouse),
                "run_id": row[0],
                "published_at": str(row[1]),
                "tables": row[2],
            }
        live = versioning.current_version(settings)
        report = settings.published_dir / "reports" / f"{live.stem}.html" if live else None
        if report is not None and report.exists():
            summary["published"]["report"] = str(report)
    return summary
