"""The dbt project keeps its conventions (dbt_project/dbt-bouncer.yml, the rules of dbt-project-evaluator):
layer names and folders, sources read only in staging, a primary-key test on every model, every model
and column documented, every exposure described and owned.

`dbt parse` writes the manifest into a temporary data directory and dbt-bouncer checks it. The checks
are shown to bite: the same manifest, broken in one place, makes dbt-bouncer fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import using_data_dir

from qnwu_warehouse.settings import DBT_PROJECT_DIR, REPO_ROOT
from qnwu_warehouse.transform import dbt_runner

BOUNCER_CONFIG = DBT_PROJECT_DIR / "dbt-bouncer.yml"


@pytest.fixture(scope="module")
def manifest_dir(tmp_path_factory) -> Path:
    """A folder holding target/manifest.json of the project, as `dbt parse` writes it."""
    with using_data_dir(tmp_path_factory.mktemp("conventions")) as settings:
        dbt_runner.run_dbt(settings, "parse")
    assert (settings.dbt_target_dir / "manifest.json").is_file()
    return settings.dbt_target_dir.parent


def run_bouncer(artifacts_parent: Path, home: Path, *options: str) -> subprocess.CompletedProcess:
    """dbt-bouncer with the project's config on <artifacts_parent>/target (it reads $DBT_PROJECT_DIR/target)."""
    env = {
        **os.environ,
        "DBT_PROJECT_DIR": str(artifacts_parent),
        "DBT_BOUNCER_DISABLE_CONF_CACHE": "1",
        "HOME": str(home),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }  # its caches go to a throw-away home
    command = [
        str(Path(sys.executable).with_name("dbt-bouncer")),
        "run",
        "--config-file",
        str(BOUNCER_CONFIG),
        "--show-all-failures",
        *options,
    ]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "target" / "manifest.json").read_text(encoding="utf-8"))


def _models(manifest: dict) -> dict[str, dict]:
    return {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}


def test_the_project_follows_its_conventions(manifest_dir, tmp_path):
    completed = run_bouncer(manifest_dir, tmp_path, "--only", "manifest_checks")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-5000:]
    assert "All checks passed" in output


def test_every_model_has_unique_and_not_null_on_the_same_column(manifest_dir):
    """What dbt-bouncer cannot say in one check: the unique and not_null tests share a column (a key)."""
    manifest = _manifest(manifest_dir)
    tested: dict[str, dict[str, set[str]]] = {}
    for node in manifest["nodes"].values():
        name = (node.get("test_metadata") or {}).get("name")
        if node["resource_type"] == "test" and name in ("unique", "not_null") and node.get("column_name"):
            columns = tested.setdefault(node["attached_node"], {"unique": set(), "not_null": set()})
            columns[name].add(node["column_name"])
    # the published relations are their marts with cells blanked: the keys are tested on the marts
    # (dbt-bouncer.yml excludes models/published/pub_ from the key checks for the same reason)
    without_key = [
        model["name"]
        for model in _models(manifest).values()
        if not model["name"].startswith("pub_")
        and not (
            tested.get(model["unique_id"], {}).get("unique", set())
            & tested.get(model["unique_id"], {}).get("not_null", set())
        )
    ]
    assert without_key == [], f"models without unique + not_null on one column: {without_key}"


# A GX expectation that says what a dbt column test says (expectations/README.md: which rule lives where)
DBT_TEST_OF_EXPECTATION = {
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_be_in_set": "accepted_values",
}


def test_no_expectation_repeats_a_dbt_test(manifest_dir):
    """Keys, not-null and accepted values are dbt's; a suite of expectations/ on a mart does not say them again."""
    from qnwu_warehouse.checks.quality import load_suites

    manifest = _manifest(manifest_dir)
    models = {node["unique_id"]: node["name"] for node in _models(manifest).values()}
    dbt_tests = {
        (models[node["attached_node"]], node["column_name"], node["test_metadata"]["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("test_metadata")
        and node.get("column_name")
        and node.get("attached_node") in models
    }
    assert ("fct_indicator_values", "indicator_value_id", "unique") in dbt_tests  # the check can see them
    repeats = [
        (suite["name"], expectation["type"], expectation["kwargs"].get("column"))
        for suite in load_suites()
        if str(suite.get("table", "")).startswith("marts.")
        for expectation in suite["expectations"]
        if (
            suite["table"].removeprefix("marts."),
            expectation.get("kwargs", {}).get("column"),
            DBT_TEST_OF_EXPECTATION.get(expectation["type"]),
        )
        in dbt_tests
    ]
    assert repeats == [], f"expectations that repeat a dbt test: {repeats}"


def test_exposures_name_their_owner_and_what_they_read(manifest_dir):
    exposures = _manifest(manifest_dir)["exposures"].values()
    assert {e["name"] for e in exposures} >= {
        "province_annual_report",
        "bi_dashboard",
        "analyst_ad_hoc_queries",
        "unit_submission_feedback",
    }
    for exposure in exposures:
        assert exposure["owner"]["email"].endswith("@hoilhpn-quangninh.invalid"), exposure["name"]
        assert exposure["depends_on"]["nodes"], exposure["name"]
        assert all(node.startswith("model.qnwu_warehouse.") for node in exposure["depends_on"]["nodes"])
    feedback = next(e for e in exposures if e["name"] == "unit_submission_feedback")
    assert feedback["depends_on"]["nodes"] == ["model.qnwu_warehouse.fct_submission_feedback"]


def _undocument_a_model(manifest: dict) -> tuple[str, str]:
    _models(manifest)["agg_target_progress"]["description"] = ""
    return "agg_target_progress", "check_model_description_populated"


def _undocument_a_column(manifest: dict) -> tuple[str, str]:
    _models(manifest)["dim_programmes"]["columns"]["programme_name_en"]["description"] = ""
    return "dim_programmes", "check_model_column_description_populated"


def _misname_a_mart(manifest: dict) -> tuple[str, str]:
    _models(manifest)["agg_clubs_by_period"]["name"] = "clubs_by_period"
    return "agg_clubs_by_period", "check_model_names"


def _move_a_model_out_of_its_layer(manifest: dict) -> tuple[str, str]:
    model = _models(manifest)["int_submissions_versioned"]
    model["original_file_path"] = "models/marts/reporting/int_submissions_versioned.sql"
    return "int_submissions_versioned", "check_model_names"


def _read_a_source_in_a_mart(manifest: dict) -> tuple[str, str]:
    _models(manifest)["fct_indicator_values"]["depends_on"]["nodes"].append("source.qnwu_warehouse.raw.submissions")
    return "fct_indicator_values", "check_lineage_source_cannot_be_used"


def _drop_a_primary_key_test(manifest: dict) -> tuple[str, str]:
    model_id = _models(manifest)["dim_programmes"]["unique_id"]
    for test_id in [
        test_id
        for test_id, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and node.get("attached_node") == model_id
        and (node.get("test_metadata") or {}).get("name") == "unique"
    ]:
        del manifest["nodes"][test_id]
    return "dim_programmes", "check_model_has_unique_test"


@pytest.mark.parametrize(
    "breakage",
    [
        _undocument_a_model,
        _undocument_a_column,
        _misname_a_mart,
        _move_a_model_out_of_its_layer,
        _read_a_source_in_a_mart,
        _drop_a_primary_key_test,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_broken_convention_fails_the_check(manifest_dir, tmp_path, breakage):
    manifest = _manifest(manifest_dir)
    culprit, check = breakage(manifest)
    broken = tmp_path / "broken"
    (broken / "target").mkdir(parents=True)
    (broken / "target" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    completed = run_bouncer(broken, tmp_path, "--only", "manifest_checks")
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output[-3000:]
    assert f"{check}:" in output and culprit in output, output[-3000:]
