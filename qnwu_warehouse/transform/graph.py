"""The dbt models as Airflow sees them: one task per model, without one dbt process per model.

dbt runs once per pipeline run (`dbt build`, every model and its tests, in dependency order:
dbt's start-up costs seconds and DuckDB allows one writer, so one process is both fastest and
safest). The DAG then mirrors dbt's graph with one light task per model that reports that
model's own outcome from dbt's run_results.json and manifest.json: the Airflow graph shows every
model, and a failing model or data test fails its own task, not an anonymous "dbt" box.

The graph is dbt's own: each model's depends_on in the manifest of a `dbt parse` (refs in macros,
Python models and the target's enabled models as dbt resolves them, which a regex over ref()
cannot see). DAG parsing reads the last build's manifest (milliseconds); it runs `dbt parse`
(seconds) only when no manifest is newer than the project's files, into its own target folder,
so it never waits for or disturbs a running build.

Cosmos 1.15 (WATCHER mode) was measured as the alternative and not adopted (docs/orchestration.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from qnwu_warehouse.settings import DBT_PROJECT_DIR, Settings

PROJECT_NAME = "qnwu_warehouse"


def _project_files(project_dir: Path) -> list[Path]:
    return [project_dir / "dbt_project.yml", *(p for d in ("models", "macros") for p in (project_dir / d).rglob("*"))]


def _fresh_manifest(path: Path, newest: float) -> dict | None:
    """The manifest at `path` if it is newer than every project file and whole (a build may be
    writing its own while the DAG is parsed: then it does not read as JSON, and is not used)."""
    try:
        if path.stat().st_mtime < newest:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def graph_manifest(settings: Settings | None = None, project_dir: Path = DBT_PROJECT_DIR) -> dict:
    """The manifest the DAG's graph is read from: the last build's, or data/dbt/graph's, whichever
    is newer than every file of the dbt project; else a `dbt parse` into data/dbt/graph."""
    settings = settings or Settings.from_env()
    target = settings.data_dir / "dbt" / "graph"
    manifest = target / "manifest.json"
    newest = max(p.stat().st_mtime for p in _project_files(project_dir) if p.is_file())
    for candidate in (settings.dbt_target_dir / "manifest.json", manifest):
        parsed = _fresh_manifest(candidate, newest)
        if parsed is not None:
            return parsed
    import os
    import shutil
    import tempfile

    from qnwu_warehouse.transform import dbt_process
    from qnwu_warehouse.transform.dbt_runner import dbt_environment, saved_parse

    # Each parse writes into its own folder and then renames its manifest into place: the DAG
    # processor and the workers may parse the DAG file at the same moment, and neither may read
    # the other's half-written file.
    target.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="parse-", dir=target))
    try:
        environment = {**dbt_environment(settings), "DBT_TARGET_PATH": str(scratch), "DBT_LOG_PATH": str(scratch / "logs")}
        with saved_parse(settings, ("parse",), target_dir=scratch):  # a new data directory's first parse
            # a plain subprocess: this runs at the DAG file's import, in Airflow's long-lived processes,
            # where a dbt_process helper would stay behind idle after this one command
            done = dbt_process.run_directly(
                ["--no-use-colors", "parse"],
                cwd=settings.data_dir,  # the profile's paths are relative to it (dbt_runner.dbt_environment)
                env=environment,
                timeout=300,
            )
        if done.returncode != 0:
            raise RuntimeError(
                f"dbt parse failed, so the DAG's model graph is unknown:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
            )
        parsed = json.loads((scratch / "manifest.json").read_text(encoding="utf-8"))
        os.replace(scratch / "manifest.json", manifest)
        return parsed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def model_dependencies(settings: Settings | None = None) -> dict[str, list[str]]:
    """model name -> the models it depends on (seeds and sources left out), from dbt's manifest."""
    manifest = graph_manifest(settings)
    models = {
        unique_id: node["name"]
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT_NAME
    }
    return {
        models[unique_id]: sorted({models[d] for d in manifest["nodes"][unique_id]["depends_on"]["nodes"] if d in models})
        for unique_id in sorted(models, key=models.get)
    }


class ModelFailed(Exception):
    """A dbt model, or one of its own tests, failed in this run's build."""


# dbt's words when an incremental model's columns no longer match the table earlier runs built
# (on_schema_change: fail): a deployed change to the model that history has not been rebuilt for.
SCHEMA_OUT_OF_SYNC = "schemas on this incremental model are out of sync"


def with_rebuild_hint(message: str) -> str:
    """dbt's message, with what to do added when it is the out-of-sync one."""
    if SCHEMA_OUT_OF_SYNC not in message:
        return message
    return (
        f"{message}\nThe model's columns changed since its table was built (a new release of the models): "
        "run `qnwu rebuild` once, which rebuilds every mart from raw, checks and publishes it (README, "
        "'A change to a model')."
    )


def model_stage(results_dir: str, model: str) -> str:
    """One dbt model's outcome in this run, for its own Airflow task; raises ModelFailed if it or
    one of its tests failed. Here, not in orchestration.pipeline: in a deployment each of the ~45
    model tasks is a process of its own, and importing the pipeline's stages (duckdb, pandas, the
    gate) cost 0.45 s in each, to read two JSON files."""
    ok, explanation = model_outcome(Path(results_dir), model)
    if not ok:
        raise ModelFailed(explanation)
    return explanation


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
        return False, with_rebuild_hint(f"{model}: {built['status']}: {built.get('message')}")
    failures = []
    # a build that left out a kind of test on purpose (unit tests, when the rules did not change:
    # dbt_runner.build_arguments) did not fail to run them
    left_out = set(run_results.get("args", {}).get("exclude_resource_types") or ())
    for unique_id, node in {**manifest["nodes"], **manifest.get("unit_tests", {})}.items():
        if node.get("resource_type") not in ("test", "unit_test") or node.get("resource_type") in left_out:
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
