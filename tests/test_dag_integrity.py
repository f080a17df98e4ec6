"""Every DAG file imports without errors, has no cycles, and keeps logic out of module level."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
# Project modules a DAG file may import at parse time: small, no I/O beyond reading model files.
PARSE_TIME_MODULES = {"qnwu_warehouse.orchestration.assets", "qnwu_warehouse.transform.graph"}


def test_there_are_dag_files():
    assert DAG_FILES, "no DAG files found in dags/"


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_dags_import_without_errors(dag_bag):
    assert dag_bag.import_errors == {}
    assert len(dag_bag.dags) >= 1


def test_dags_have_no_cycles_and_are_documented(dag_bag):
    for dag_id, dag in dag_bag.dags.items():
        dag.check_cycle()
        assert dag.doc_md, f"{dag_id} needs doc_md (the DAG file docstring)"
        assert len(dag.tasks) >= 1


@pytest.mark.parametrize(
    "dag_id, order",
    [
        ("qnwu_ingest", ["ingest_submissions", "new_data_landed", "announce_new_data"]),
        ("qnwu_mailbox", ["fetch_mail", "ingest_submissions", "send_replies", "send_reminders"]),
        ("qnwu_mailbox", ["ingest_submissions", "new_data_landed", "announce_new_data"]),
        (
            "qnwu_publish",
            [
                "build_marts",
                "dbt.stg_raw__submissions",
                "dbt.int_submissions_versioned",
                "dbt.int_submissions_current_placed",
                "dbt.fct_indicator_values",
                "dbt.agg_indicators_by_period",
                "dbt.agg_target_progress",
                "dbt.pub_agg_target_progress",
                "quality_gate",
                "publish_marts",
            ],
        ),
    ],
)
def test_stages_run_in_order(dag_bag, dag_id, order):
    dag = dag_bag.dags[dag_id]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids


def test_new_raw_data_triggers_publishing(dag_bag):
    """Ingestion's announcement is the publishing DAG's schedule: the asset links the two."""
    from qnwu_warehouse.orchestration.assets import RAW_SUBMISSIONS

    announce = dag_bag.dags["qnwu_ingest"].get_task("announce_new_data")
    assert RAW_SUBMISSIONS in announce.outlets
    assert dag_bag.dags["qnwu_publish"].timetable.asset_condition.objects == (RAW_SUBMISSIONS,)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_stay_thin(path: Path):
    """DAG files hold wiring only: project imports happen inside tasks, not at parse time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{path.name} needs a docstring saying what the DAG does and when"
    module_level_imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    for node in module_level_imports:
        module = getattr(node, "module", None) or node.names[0].name
        # Only the asset constants may be imported at parse time; they are cheap and shared.
        assert module in PARSE_TIME_MODULES or not module.startswith("qnwu_warehouse"), (
            f"{path.name} imports {module} at parse time"
        )


def test_every_dbt_model_is_a_task_of_the_publishing_dag(dag_bag):
    from qnwu_warehouse.transform.graph import model_dependencies

    models = set(model_dependencies())
    tasks = {task_id.removeprefix("dbt.") for task_id in dag_bag.dags["qnwu_publish"].task_ids if task_id.startswith("dbt.")}
    assert models and tasks == models
