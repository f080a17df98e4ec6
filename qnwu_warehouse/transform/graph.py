"""The dbt models as Airflow sees them: one task per model, without one dbt process per model.

dbt runs once per pipeline run (`dbt build`, every model and its tests, in dependency order:
dbt's start-up costs seconds and DuckDB allows one writer, so one process is both fastest and
safest). The DAG then mirrors dbt's graph with one light task per model that reports that
model's own outcome from dbt's run_results.json and manifest.json: the Airflow graph shows every
model, and a failing model or data test fails its own task, not an anonymous "dbt" box.

The graph is read at DAG-parse time from the model files' ref() calls, which costs milliseconds
and needs no dbt run or compiled manifest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from qnwu_warehouse.settings import DBT_PROJECT_DIR

_REF = re.compile(r"""ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")
PROJECT_NAME = "qnwu_warehouse"


def model_dependencies(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, list[str]]:
    """model name -> the models it refs (seeds and sources left out), for every model file."""
    files = {path.stem: path for path in sorted((project_dir / "models").rglob("*.sql"))}
    return {
        name: sorted({ref for ref in _REF.findall(path.read_text(encoding="utf-8")) if ref in files and ref != name})
        for name, path in files.items()
    }


def model_outcome(results_dir: Path, model: str) -> tuple[bool, str]:
    """Did this model build and pass its own data and unit tests? (ok, explanation)."""
    run_results = json.loads((results_dir / "run_results.json").read_text(encoding="utf-8"))
    manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    node_id = f"model.{PROJECT_NAME}.{model}"
    statuses = {result["unique_id"]: result for result in run_results["results"]}
    if node_id not in statuses:
        return False, f"dbt did not run {model} (an upstream model failed or it was not selected)"
    built = statuses[node_id]
    if built["status"] != "success":
        return False, f"{model}: {built['status']}: {built.get('message')}"
    failures = []
    for unique_id, node in {**manifest["nodes"], **manifest.get("unit_tests", {})}.items():
        if node.get("resource_type") not in ("test", "unit_test"):
            continue
        tested = node.get("attached_node") or node.get("model") or ""
        if tested != node_id and not (node.get("resource_type") == "unit_test" and tested == model):
            continue
        result = statuses.get(unique_id)
        if result is None or result["status"] not in ("pass", "success", "warn"):
            status = result["status"] if result else "not run"
            failures.append(f"{node['name']}: {status} ({(result or {}).get('failures')} failing rows)")
    tests = "all its tests passed" if not failures else "; ".join(failures)
    return not failures, f"{model}: built in {built['execution_time']:.2f} s; {tests}"
