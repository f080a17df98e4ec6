"""docker-compose.yml cannot run here (no Docker engine), so check it against the code:
the Airflow 3 services are there, every mounted path exists, every setting the code reads is
set or documented, and the containers see the same layout the local run uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from qnwu_warehouse.orchestration.deployment import AIRFLOW_SERVICES, DEPLOYMENT_VARIABLES
from qnwu_warehouse.serve import superset
from qnwu_warehouse.settings import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _variables_read_by_code() -> set[str]:
    names: set[str] = set()
    patterns = [
        r"os\.environ(?:\.get|\.setdefault)?\(\s*\"([A-Z][A-Z0-9_]+)\"",
        r"os\.environ\[\"([A-Z][A-Z0-9_]+)\"\]",
        r"(?:_positive_int|_whole_number|_non_negative_number|_port|env_flag)\(\"([A-Z][A-Z0-9_]+)\"",
    ]
    for path in (ROOT / "qnwu_warehouse").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            names.update(re.findall(pattern, text))
    for path in (ROOT / "dbt_project").rglob("*.yml"):
        names.update(re.findall(r"env_var\(\s*'([A-Z][A-Z0-9_]+)'", path.read_text(encoding="utf-8")))
    return names


def test_the_celery_deployment_runs_the_services_and_settings_of_the_local_one():
    services = COMPOSE["services"]
    for name, arguments in AIRFLOW_SERVICES.items():  # the commands qnwu_warehouse.orchestration.deployment runs
        assert services[name]["command"] == " ".join(arguments), name
    assert {"postgres", "redis", "airflow-init"} <= set(services)
    environment = COMPOSE["x-airflow-common"]["environment"]
    missing = sorted(set(DEPLOYMENT_VARIABLES) - set(environment))
    assert missing == [], f"docker-compose.yml does not set {missing}, which the local deployment does"
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert services["superset"]["profiles"] == ["bi"]


def test_the_superset_service_starts_as_qnwu_superset_does():
    """docker-compose.yml's BI service: the locked Superset version, the same configuration and
    dashboards mounted, the same start-up steps and server options as `qnwu superset`."""
    service = COMPOSE["services"]["superset"]
    lock = (ROOT / "superset" / "requirements.lock").read_text(encoding="utf-8")
    version = re.search(r"^apache-superset==(\S+)$", lock, re.M).group(1)
    assert f"FROM apache/superset:{version}\n" in (ROOT / service["build"] / "Dockerfile").read_text(encoding="utf-8")
    environment = service["environment"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
    assert mounts["/opt/qnwu/superset"] == "./superset"
    assert environment["SUPERSET_CONFIG_PATH"] == "/opt/qnwu/superset/superset_config.py"
    assert environment["QNWU_SUPERSET_DASHBOARDS"] == "/opt/qnwu/superset/dashboards"
    assert mounts["/opt/qnwu/data"] == "qnwu-data" and environment["QNWU_DATA_DIR"] == "/opt/qnwu/data"
    # the same connections bootstrap.py sets locally: the analyst role (never the loader), the published file read-only
    assert "${QNWU_PG_ANALYST_ROLE}:${QNWU_PG_ANALYST_PASSWORD}@" in environment["SUPERSET_QNWU_POSTGRES_URI"]
    assert (
        environment["SUPERSET_QNWU_DUCKDB_URI"]
        == "duckdb:////opt/qnwu/data/published/warehouse.duckdb?access_mode=read_only"
    )
    command = " ".join(service["command"][2].split())
    position = 0
    for name, (program, *arguments) in superset.STARTUP_STEPS.items():
        if program == "python":
            arguments = [f"/opt/qnwu/superset/{argument}" for argument in arguments]
        step = " ".join([program, *arguments])
        assert command.find(step, position) >= position, f"step {name!r} ({step}) missing or out of order"
        position = command.find(step, position)
    assert " ".join(superset.GUNICORN_OPTIONS) in command and superset.SUPERSET_APP in command


def test_no_secret_is_written_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    environment = COMPOSE["x-airflow-common"]["environment"]
    for name in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
        assert re.fullmatch(r"\$\{[A-Z_]+\}", environment[name]), name
    assert re.search(r"PASSWORD:\s*(?!\$\{)\S", text) is None, "a password is written in docker-compose.yml"
    example = _env_example()
    assert example["AIRFLOW_ADMIN_PASSWORD"] != "admin"  # the UI is never left on admin/admin


def test_mounted_paths_exist_and_match_the_package_layout():
    common = COMPOSE["x-airflow-common"]
    for volume in common["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"docker-compose mounts {source}, which does not exist"
            # the package finds dags/, dbt_project/, seeds/ beside itself: same layout in the container
            assert target == f"/opt/qnwu/{source[2:]}", volume
    assert (ROOT / common["build"] / "Dockerfile").exists()


def test_every_variable_the_code_reads_is_set_or_documented():
    documented = set(_env_example())
    compose_env = set(COMPOSE["x-airflow-common"].get("environment", {})) | {
        name for service in COMPOSE["services"].values() for name in (service.get("environment") or {})
    }
    read = _variables_read_by_code()
    assert "QNWU_DATA_DIR" in read  # the scan itself works
    missing = sorted(name for name in read if name not in documented | compose_env)
    assert missing == [], f"read by the code but neither in .env.example nor docker-compose.yml: {missing}"
    assert set(ENVIRONMENT_VARIABLES) <= documented


def test_lock_pins_the_versions_the_image_builds_with():
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    airflow = re.search(r"^apache-airflow==(\S+)$", lock, re.M).group(1)
    assert f"apache/airflow:{airflow}-python3.11" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^dbt-core==1\.11\.", lock, re.M), "dbt-core must stay on 1.11.x (stack-notes)"
