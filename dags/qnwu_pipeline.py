"""Unit submissions -> raw -> dbt marts -> Great Expectations gate -> published warehouse.

Runs hourly and on demand. Each run pulls every new file from the landing zone (a local folder
or any fsspec URL, QNWU_LANDING_URL) into the raw layer, rebuilds the marts with dbt, validates
them with the suites in expectations/, and only if no critical expectation failed swaps a new
published warehouse file in for analysts and BI tools. A failed gate fails the run and leaves
the previously published file untouched. All logic lives in qnwu_warehouse.pipeline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task


@dag(
    dag_id="qnwu_pipeline",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one writer of the working warehouse at a time
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["qnwu", "warehouse"],
    doc_md=__doc__,
)
def qnwu_pipeline():
    @task
    def ingest_submissions() -> dict:
        from qnwu_warehouse.pipeline import ingest_stage

        return ingest_stage(run_id=get_current_context()["run_id"])

    @task
    def build_marts(ingested: dict) -> dict:
        from qnwu_warehouse.pipeline import build_stage

        return build_stage()

    @task(retries=0)  # a failed gate is a verdict on the data; retrying cannot change it
    def quality_gate(built: dict) -> dict:
        from qnwu_warehouse.pipeline import gate_stage

        return gate_stage(run_id=get_current_context()["run_id"])

    @task
    def publish_marts(gate: dict) -> dict:
        from qnwu_warehouse.pipeline import publish_stage

        return publish_stage(run_id=get_current_context()["run_id"], gate_summary=gate)

    publish_marts(quality_gate(build_marts(ingest_submissions())))


qnwu_pipeline()
