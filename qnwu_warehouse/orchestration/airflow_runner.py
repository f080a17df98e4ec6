"""Running the DAGs through Airflow itself on the embedded defaults (SQLite metadata).

`qnwu run` and the tests use this: configure Airflow to keep everything under the data
directory, create or migrate its metadata database once, then run the DAG in-process with
`dag.test()`, the same code path the scheduler's tasks take.
"""

from __future__ import annotations

import os
import subprocess

from qnwu_warehouse.settings import DAGS_DIR, Settings, executable_beside_python


class AirflowRunFailed(Exception):
    pass


def configure(settings: Settings) -> None:
    """Must run before airflow is imported: Airflow reads its configuration at import time."""
    os.environ.update(settings.airflow_environment())


def migrate_metadata(settings: Settings) -> None:
    """Create or upgrade Airflow's SQLite metadata DB, once per Airflow version."""
    import importlib.metadata

    stamp = settings.airflow_home / ".migrated-for"
    version = importlib.metadata.version("apache-airflow")
    if stamp.exists() and stamp.read_text() == version and (settings.airflow_home / "airflow.db").exists():
        return
    airflow = executable_beside_python("airflow")
    done = subprocess.run(
        [airflow, "db", "migrate"], env={**os.environ, **settings.airflow_environment()}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise AirflowRunFailed("airflow db migrate failed:\n" + "\n".join(done.stderr.splitlines()[-20:]))
    stamp.write_text(version)


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise AirflowRunFailed(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(dag_id)


def run_dag(settings: Settings, dag_id: str):
    """Run one DAG run in-process; returns the finished DagRun."""
    configure(settings)
    migrate_metadata(settings)
    return load_dag(dag_id).test()


# The whole pipeline in the order the asset schedule chains it in production: qnwu_ingest
# announces new raw data, which triggers qnwu_publish. dag.test() does not follow asset
# triggers, so a one-off run starts both, in that order (publish also runs when nothing new
# landed, as an on-demand rebuild would).
PIPELINE_DAGS = ("qnwu_ingest", "qnwu_publish")


def run_pipeline(settings: Settings) -> dict[str, object]:
    """Run every DAG of the pipeline once; returns {dag_id: finished DagRun}."""
    return {dag_id: run_dag(settings, dag_id) for dag_id in PIPELINE_DAGS}
