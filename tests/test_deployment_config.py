"""docker-compose.yml cannot run here (no Docker engine), so check it against the code:
the Airflow 3 services are there, every mounted path exists, every setting the code reads is
set or documented, and the containers see the same layout the local run uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

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
    patterns = [r"os\.environ(?:\.get|\.setdefault)?\(\s*\"([A-Z][A-Z0-9_]+)\"", r"os\.environ\[\"([A-Z][A-Z0-9_]+)\"\]",
                r"_positive_int\(\"([A-Z][A-Z0-9_]+)\""]
    for path in (ROOT / "qnwu_warehouse").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            names.update(re.findall(pattern, text))
    for path in (ROOT / "dbt_project").rglob("*.yml"):
        names.update(re.findall(r"env_var\(\s*'([A-Z][A-Z0-9_]+)'", path.read_text(encoding="utf-8")))
    return names


def test_airflow_3_services_on_postgres():
    services = COMPOSE["services"]
    for name in ("postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer"):
        assert name in services, name
    commands = {services[name].get("command") for name in services if isinstance(services[name].get("command"), str)}
    assert {"api-server", "scheduler", "dag-processor", "triggerer"} <= commands
    assert _env_example()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")


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
    compose_env = set(COMPOSE["x-airflow-common"].get("environment", {}))
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
