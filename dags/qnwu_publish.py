"""Build the marts with dbt, check them with Great Expectations, and publish them.

Runs whenever qnwu_ingest announces new raw data (asset qnwu://warehouse/raw/submissions), and on
demand. `build_marts` runs one `dbt build` (models, seeds, data tests, and unit tests when the
rules changed since the live version); the `dbt` task group mirrors dbt's graph with one task per
model that reports that model's outcome, so every model is visible here without paying dbt's
start-up per model. The quality gate then validates the marts with the suites in expectations/;
only if every model passed and no critical expectation failed is a new published warehouse file
swapped in for analysts and BI tools (asset qnwu://warehouse/published), and, with
QNWU_SERVE_POSTGRES=true, the same version is served from PostgreSQL's marts schema;
`write_report` writes its static HTML report (published/reports/). A failure leaves the previously
published version untouched. All logic lives in qnwu_warehouse.orchestration.pipeline and, for the
per-model tasks, qnwu_warehouse.transform.graph.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import TaskGroup, dag, get_current_context, task

from qnwu_warehouse.orchestration.assets import PUBLISHED_WAREHOUSE, RAW_SUBMISSIONS
from qnwu_warehouse.transform.graph import model_dependencies, model_stage


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
        from qnwu_warehouse.orchestration.pipeline import build_stage

        return build_stage(run_id=get_current_context()["run_id"])

    @task(retries=0)  # reports a result that is already final
    def dbt_model(built: dict, model: str) -> str:
        return model_stage(built["results_dir"], model)

    @task(retries=0)  # a failed gate is a verdict on the data; retrying cannot change it
    def quality_gate() -> dict:
        from qnwu_warehouse.orchestration.pipeline import gate_stage

        return gate_stage(run_id=get_current_context()["run_id"])

    @task(outlets=[PUBLISHED_WAREHOUSE])
    def publish_marts(gate: dict) -> dict:
        from qnwu_warehouse.orchestration.pipeline import publish_stage

        return publish_stage(run_id=get_current_context()["run_id"], gate_summary=gate)

    @task
    def serve_postgres(published: dict) -> dict:
        from qnwu_warehouse.orchestration.pipeline import serve_postgres_stage

        return serve_postgres_stage(version_file=published["version"])

    @task
    def write_report(published: dict) -> dict:
        from qnwu_warehouse.orchestration.pipeline import report_stage

        return report_stage(run_id=get_current_context()["run_id"], version_file=published["version"])

    built = build_marts()
    with TaskGroup("dbt") as dbt_models:
        graph = model_dependencies()
        tasks = {model: dbt_model.override(task_id=model)(built, model) for model in graph}
        for model, upstream in graph.items():
            for dependency in upstream:
                tasks[dependency] >> tasks[model]
    gate = quality_gate()
    dbt_models >> gate
    published = publish_marts(gate)
    serve_postgres(published)
    write_report(published)


qnwu_publish()
