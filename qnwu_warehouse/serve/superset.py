"""Apache Superset over the published marts (`qnwu superset`).

Superset lives in a virtualenv of its own (.superset-venv, from superset/requirements.lock, made by
bin/setup): its pins (SQLAlchemy 1.4, Flask-Caching 2.3) cannot sit beside Airflow's. This module
runs it from there with the project's settings, in the order docker-compose.yml's `superset`
service does:

1. ``superset db upgrade`` and ``superset init`` on its SQLite metadata database under
   ``<data dir>/superset/`` (superset/superset_config.py);
2. superset/bootstrap.py: the admin user (QNWU_SUPERSET_ADMIN_*), the two database connections
   from the settings (the served PostgreSQL marts as the read-only analyst role; the published
   DuckDB file, read-only) and the dashboards as code in superset/dashboards/, imported over
   what an earlier start imported;
3. gunicorn serving Superset on QNWU_SUPERSET_HOST:QNWU_SUPERSET_PORT.

Every chart query opens its connection anew (Superset's NullPool for analytics databases), so a
publish, which renames a new DuckDB file over the old one or swaps PostgreSQL's marts schema in
one transaction, shows on the next reload of an open dashboard.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from qnwu_warehouse.settings import SUPERSET_DIR, ConfigError, PostgresSettings, Settings, SupersetSettings

CONFIG_FILE = SUPERSET_DIR / "superset_config.py"
BOOTSTRAP = SUPERSET_DIR / "bootstrap.py"
DASHBOARDS_DIR = SUPERSET_DIR / "dashboards"


# The start-up steps, in order: the same in `qnwu superset` and in docker-compose.yml's superset
# service (tests/test_deployment_config.py compares them). Programs are Superset's virtualenv's.
STARTUP_STEPS = {
    "db upgrade": ["superset", "db", "upgrade"],
    "init": ["superset", "init"],
    "bootstrap": ["python", "bootstrap.py"],  # superset/bootstrap.py
}
# gunicorn as Superset's own image runs it: one worker process (SQLite metadata) with threads.
GUNICORN_OPTIONS = [
    "--workers",
    "1",
    "--worker-class",
    "gthread",
    "--threads",
    "8",
    "--timeout",
    "120",
    "--limit-request-line",
    "0",
    "--limit-request-field_size",
    "0",
]
SUPERSET_APP = "superset.app:create_app()"


class SupersetFailed(Exception):
    """A start-up step of Superset failed; the message ends with the tail of its output."""


def home(settings: Settings) -> Path:
    """Superset's state: its metadata database, secret key and logs."""
    return settings.data_dir / "superset"


def postgres_uri(postgres: PostgresSettings) -> str:
    """The served marts, as the read-only analyst role (never the loading role)."""
    login = quote(postgres.analyst_role, safe="")
    if postgres.analyst_password:
        login += ":" + quote(postgres.analyst_password, safe="")
    return f"postgresql+psycopg2://{login}@{postgres.host}:{postgres.port}/{quote(postgres.database, safe='')}"


def duckdb_uri(settings: Settings) -> str:
    """The published file, opened read-only by duckdb-engine (never the working warehouse)."""
    return f"duckdb:///{settings.published_warehouse}?access_mode=read_only"


def executable(superset: SupersetSettings, name: str) -> str:
    path = superset.venv / "bin" / name
    if not path.exists():
        raise ConfigError(f"{path} does not exist: run bin/setup (it installs Superset into {superset.venv}).")
    return str(path)


def environment(settings: Settings, superset: SupersetSettings, postgres: PostgresSettings) -> dict[str, str]:
    """The environment of every Superset process started here."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        {
            "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
            "FLASK_APP": "superset.app:create_app()",
            "QNWU_DATA_DIR": str(settings.data_dir),
            "QNWU_SUPERSET_ADMIN_USER": superset.admin_user,
            "QNWU_SUPERSET_ADMIN_PASSWORD": superset.admin_password,
            "QNWU_SUPERSET_DASHBOARDS": str(DASHBOARDS_DIR),
            "SUPERSET_QNWU_POSTGRES_URI": postgres_uri(postgres),
            "SUPERSET_QNWU_DUCKDB_URI": duckdb_uri(settings),
            "SCARF_ANALYTICS": "false",
            "PATH": f"{superset.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    if superset.secret_key:
        env["SUPERSET_SECRET_KEY"] = superset.secret_key
    return env


def _step(name: str, command: list[str], env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(f"\n=== {name}: {' '.join(command)}\n".encode())
        out.flush()
        result = subprocess.run(command, env=env, cwd=log.parent.parent, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise SupersetFailed(f"superset start-up step '{name}' failed (exit {result.returncode}); {log}:\n{tail}")
    return time.monotonic() - started


def prepare(settings: Settings, superset: SupersetSettings | None = None) -> dict[str, float]:
    """Upgrade Superset's metadata, create its roles and admin, point the connections at this
    deployment and import the dashboards. Returns the seconds each step took."""
    superset = superset or SupersetSettings.from_env()
    postgres = PostgresSettings.from_env()
    state = home(settings)
    (state / "logs").mkdir(parents=True, exist_ok=True)
    log = state / "logs" / "startup.log"
    env = environment(settings, superset, postgres)
    steps = {}
    for name, (program, *arguments) in STARTUP_STEPS.items():
        if program == "python":
            arguments = [str(SUPERSET_DIR / argument) for argument in arguments]
        steps[name] = _step(name, [executable(superset, program), *arguments], env, log)
    return steps


def server_command(superset: SupersetSettings) -> list[str]:
    return [executable(superset, "gunicorn"), "--bind", f"{superset.host}:{superset.port}", *GUNICORN_OPTIONS, SUPERSET_APP]


def start_server(settings: Settings, superset: SupersetSettings | None = None, **popen) -> subprocess.Popen:
    """Superset's web server as a child process (prepare() first)."""
    superset = superset or SupersetSettings.from_env()
    env = environment(settings, superset, PostgresSettings.from_env())
    return subprocess.Popen(server_command(superset), env=env, cwd=home(settings), **popen)


def run(settings: Settings) -> int:
    """`qnwu superset`: the start-up steps, then the server in this process's place until Ctrl-C."""
    superset = SupersetSettings.from_env()
    if not settings.published_warehouse.exists():
        print(f"note: {settings.published_warehouse} does not exist yet: the DuckDB dashboard stays empty until a publish")
    seconds = prepare(settings, superset)
    print("superset ready: " + ", ".join(f"{step} {value:.1f} s" for step, value in seconds.items()))
    print(f"open http://{superset.host}:{superset.port}/ and log in as {superset.admin_user} (Ctrl-C stops)", flush=True)
    # gunicorn takes this process's place, so Ctrl-C and a SIGTERM reach the server itself
    command = server_command(superset)
    os.chdir(home(settings))
    os.execve(command[0], command, environment(settings, superset, PostgresSettings.from_env()))
    return 0


def export_dashboards(settings: Settings, target: Path = DASHBOARDS_DIR) -> list[Path]:
    """`superset export-dashboards`, written back into the dashboards folder (`qnwu superset-export`).

    Each exported file replaces the file of the same uuid in `target`, under that file's name (the
    export names files after their titles with the accents stripped and the ids of this machine
    appended); new ones keep the export's name. The YAML is written with its Vietnamese as is
    (the export escapes it) and each database keeps the URI already in git: the URI is this
    deployment's setting, put in by bootstrap.py at every start. Charts and dashboards deleted in
    Superset are not deleted from the folder: delete their files by hand."""
    import json
    import tempfile
    import zipfile

    import yaml

    superset = SupersetSettings.from_env()
    env = environment(settings, superset, PostgresSettings.from_env())
    state = home(settings)
    if not (state / "superset.db").exists():  # superset/superset_config.py's metadata database
        raise SupersetFailed(
            f"no Superset metadata in {state}: start Superset once with `qnwu superset` (it imports the "
            "dashboards), change them there, then export"
        )
    (state / "logs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qnwu-superset-export-") as scratch:
        bundle_path = Path(scratch) / "export.zip"
        command = [executable(superset, "superset"), "export-dashboards", "-f", str(bundle_path)]
        _step("export-dashboards", command, env, state / "logs" / "export.log")
        with zipfile.ZipFile(bundle_path) as bundle:
            exported = {
                name.split("/", 1)[1]: bundle.read(name).decode("utf-8")
                for name in bundle.namelist()
                if not name.endswith("/") and "/" in name
            }
    by_uuid = {}
    for path in target.rglob("*.yaml"):
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if "uuid" in config:
            by_uuid[str(config["uuid"])] = (path, config)
    written = []
    for name, text in sorted(exported.items()):
        config = yaml.safe_load(text)
        path, previous = by_uuid.get(str(config.get("uuid")), (target / name, None))
        if previous is not None and "sqlalchemy_uri" in config:
            config["sqlalchemy_uri"] = previous["sqlalchemy_uri"]
        if isinstance(config.get("query_context"), str):  # JSON in a string: its Vietnamese unescaped too
            config["query_context"] = json.dumps(json.loads(config["query_context"]), ensure_ascii=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
        written.append(path)
    return written
