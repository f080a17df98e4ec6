"""Pull unit submissions from the landing zone into the raw layer.

Every 15 minutes, and on demand: every file in the landing zone (a local folder or any fsspec
URL, QNWU_LANDING_URL) not seen before is archived, checked against the submission contract and
recorded exactly once in the ledger as accepted, rejected (kept in quarantine with its reasons)
or duplicate; all files of a run go through one task, in bulk. When at least one submission was
accepted, the asset qnwu://warehouse/raw/submissions is updated, which starts qnwu_publish.
All logic lives in qnwu_warehouse.ingest.loader.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from qnwu_warehouse.orchestration.assets import RAW_SUBMISSIONS


@dag(
    dag_id="qnwu_ingest",
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["qnwu", "ingest"],
    doc_md=__doc__,
)
def qnwu_ingest():
    @task
    def ingest_submissions() -> dict:
        from qnwu_warehouse.orchestration.pipeline import ingest_stage

        return ingest_stage(run_id=get_current_context()["run_id"])

    @task.short_circuit
    def new_data_landed(summary: dict) -> bool:
        return summary["accepted"] > 0

    @task(outlets=[RAW_SUBMISSIONS])
    def announce_new_data(summary: dict) -> dict:
        return {"accepted": summary["accepted"], "load_id": summary["load_id"]}

    summary = ingest_submissions()
    new_data_landed(summary) >> announce_new_data(summary)


qnwu_ingest()
