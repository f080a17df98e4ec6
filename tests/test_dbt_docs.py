"""`dbt docs generate` works on a built working warehouse, and the documentation it produces is complete:
every mart is in the catalog with its columns, every model has a description, and every column that
exists in the warehouse is documented (dbt-bouncer's catalog check, dbt_project/dbt-bouncer.yml)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import using_data_dir

from qnwu_devtools.data_dirs import copy_data_dir
from qnwu_warehouse.settings import DBT_PROJECT_DIR, REPO_ROOT, Settings
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def docs(shared_warehouse, tmp_path_factory) -> tuple[Settings, dict, dict]:
    """(settings, manifest, catalog) after `dbt docs generate` on this module's copy of the shared
    built warehouse (conftest.py): docs generate writes into the copy's dbt target."""
    data_dir = tmp_path_factory.mktemp("docs") / "data"
    copy_data_dir(shared_warehouse, data_dir)
    with using_data_dir(data_dir) as settings:
        dbt_runner.run_dbt(settings, "docs", "generate")
    target = settings.dbt_target_dir
    assert (target / "index.html").is_file()
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    return settings, manifest, catalog


def _models(manifest: dict) -> list[dict]:
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def test_catalog_lists_every_mart_with_its_documented_columns(docs):
    _settings, manifest, catalog = docs
    marts = [model for model in _models(manifest) if model["original_file_path"].startswith("models/marts/")]
    assert len(marts) >= 17
    for model in marts:
        entry = catalog["nodes"].get(model["unique_id"])
        assert entry is not None, f"{model['name']} is not in catalog.json"
        in_warehouse = list(entry["columns"])
        assert in_warehouse, f"{model['name']} has no columns in catalog.json"
        assert sorted(in_warehouse) == sorted(model["columns"]), (
            f"{model['name']}: warehouse columns {sorted(in_warehouse)} vs documented {sorted(model['columns'])}"
        )
        assert entry["metadata"]["schema"] == "marts"


def test_every_model_and_column_has_a_description(docs):
    _settings, manifest, _catalog = docs
    models = _models(manifest)
    assert len(models) >= 25
    undocumented = [m["name"] for m in models if not (m.get("description") or "").strip()]
    assert undocumented == []
    columns = [
        f"{m['name']}.{name}"
        for m in models
        for name, column in m["columns"].items()
        if not (column.get("description") or "").strip()
    ]
    assert columns == []


def _bouncer(artifacts_parent: Path, home: Path, *options: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DBT_PROJECT_DIR": str(artifacts_parent),
        "DBT_BOUNCER_DISABLE_CONF_CACHE": "1",
        "HOME": str(home),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt-bouncer")),
            "run",
            "--config-file",
            str(DBT_PROJECT_DIR / "dbt-bouncer.yml"),
            "--show-all-failures",
            *options,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_column_in_the_warehouse_is_documented(docs, tmp_path):
    """All of dbt-bouncer's checks, the catalog one included, pass on the real artifacts."""
    settings, _manifest, _catalog = docs
    completed = _bouncer(settings.dbt_target_dir.parent, tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-5000:]
    assert "All checks passed" in output


def test_an_undocumented_warehouse_column_fails_the_catalog_check(docs, tmp_path):
    _settings, manifest, catalog = docs
    manifest = copy.deepcopy(manifest)
    model = next(m for m in _models(manifest) if m["name"] == "fct_submission_feedback")
    del model["columns"]["messages_en"]  # the column exists in the warehouse but no longer in the docs
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "target" / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    completed = _bouncer(tmp_path, tmp_path, "--only", "catalog_checks")
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output[-3000:]
    assert "check_columns_are_all_documented:" in output and "messages_en" in output, output[-3000:]
