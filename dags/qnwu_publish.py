"""Build the marts with dbt, check them with Great Expectations, and publish them.

Runs whenever qnwu_ingest announces new raw data (asset qnwu://warehouse/raw/submissions), and on
demand. dbt builds the marts in the working warehouse; the quality gate validates them with the
suites in expectations/; only if no critical expectation failed is a new published warehouse
file swapped in for analysts and BI tools (asset qnwu://warehouse/published). A failed gate fails
the run and leaves the previously published file untouched. All logic lives in
qnwu_warehouse.pipeline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from qnwu_warehouse.assets import PUBLISHED_WAREHOUSE, RAW_SUBMISSIONS


@dag(
    dag_id="qnwu_publish",
    schedule=[RAW_SUBMISSIONS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one writer of the working warehouse at a time
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["qnwu", "warehouse"],
    doc_md=__doc__,
)
def qnwu_publish():
    @task
    def build_marts() -> dict:
        from qnwu_warehouse.pipeline import build_stage

        return build_stage()

    @task(retries=0)  # a failed gate is a verdict on the data; retrying cannot change it
    def quality_gate(built: dict) -> dict:
        from qnwu_warehouse.pipeline import gate_stage

        return gate_stage(run_id=get_current_context()["run_id"])

    @task(outlets=[PUBLISHED_WAREHOUSE])
    def publish_marts(gate: dict) -> dict:
        from qnwu_warehouse.pipeline import publish_stage

        return publish_stage(run_id=get_current_context()["run_id"], gate_summary=gate)

    publish_marts(quality_gate(build_marts()))


qnwu_publish()
