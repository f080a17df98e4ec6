"""The scale-out deployment: Airflow 3 with the CeleryExecutor, PostgreSQL and Redis.

docker-compose.yml runs it in containers. These machines have no Docker engine, so the same
deployment also runs as plain processes on the PostgreSQL and Redis servers the machine already
has (`qnwu deploy-local`, and tests/test_celery_deployment.py in CI). Both read their Airflow
configuration from `airflow_environment()` below, the one place that says how the services are
wired: tests/test_deployment_config.py checks that docker-compose.yml sets the same variables
and starts the same service commands.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qnwu_warehouse.settings import DAGS_DIR, Settings, executable_beside_python

log = logging.getLogger(__name__)

# Each service of the deployment: the `airflow` sub-command it runs. docker-compose.yml has one
# service per entry with the same command (the worker is the one to scale: `--scale airflow-worker=N`).
AIRFLOW_SERVICES: dict[str, list[str]] = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}

# The variables that make an Airflow process part of this deployment (docker-compose.yml's
# x-airflow-common environment must set every one of them).
DEPLOYMENT_VARIABLES = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    "AIRFLOW__OPERATORS__DEFAULT_QUEUE",
    "QNWU_SERVE_POSTGRES",
)


class DeploymentFailed(Exception):
    """A service did not start or a run did not finish; the message points at its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class CeleryDeployment:
    """Where the services find each other. Defaults: the local PostgreSQL and Redis servers."""

    settings: Settings
    metadata_database: str = "airflow"
    postgres: str = "postgres@127.0.0.1:5432"  # user[:password]@host:port
    broker_url: str = "redis://127.0.0.1:6379/0"
    api_port: int = 8080
    worker_log_port: int = 8793
    queue: str = "default"  # a separate queue lets several deployments share one broker
    admin_user: str = "admin"
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    fernet_key: str = field(default_factory=lambda: _fernet_key())
    # Extra Airflow settings on top of airflow_environment()'s (tests set latency knobs here;
    # docker-compose.yml does not have them).
    extra_environment: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.settings.data_dir / "deployment"

    @property
    def passwords_file(self) -> Path:
        return self.home / "airflow-passwords.json"

    def airflow_environment(self) -> dict[str, str]:
        metadata = f"postgresql+psycopg2://{self.postgres}/{self.metadata_database}"
        return {
            **self.settings.airflow_environment(),
            "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "airflow" / "logs"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + metadata,  # SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql://
            # Airflow 3 workers report task state to the API server's execution API, signed with this secret.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__API__SECRET_KEY": self.jwt_secret,
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # The UI's users and their passwords: never Airflow's generated defaults.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.admin_user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_port),
            "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "10",
            "QNWU_SERVE_POSTGRES": "true",
            **self.extra_environment,
        }

    def _run_airflow(self, *arguments: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [_airflow(), *arguments],
            env={**os.environ, **self.airflow_environment()},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise DeploymentFailed(
                f"airflow {' '.join(arguments)} failed:\n" + "\n".join((done.stderr or done.stdout).splitlines()[-25:])
            )
        return done.stdout

    def prepare(self) -> None:
        """Create the metadata database if needed, migrate it, and write the UI's password file."""
        from qnwu_warehouse.serve import postgres_copy

        self.home.mkdir(parents=True, exist_ok=True)
        self.settings.ensure_data_dir()
        postgres_copy.ensure_database(self.metadata_database)
        self.passwords_file.write_text(f'{{"{self.admin_user}": "{self.admin_password}"}}')
        self.passwords_file.chmod(0o600)
        self._run_airflow("db", "migrate")

    @contextlib.contextmanager
    def running(self, worker_concurrency: int = 2) -> Iterator[CeleryDeployment]:
        """Start every service as a process (logs in <data dir>/deployment/logs), stop them on exit."""
        log_dir = self.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        commands = dict(AIRFLOW_SERVICES)
        commands["airflow-apiserver"] = [*commands["airflow-apiserver"], "--port", str(self.api_port)]
        commands["airflow-worker"] = [
            *commands["airflow-worker"],
            "--queues",
            self.queue,
            "--concurrency",
            str(worker_concurrency),
        ]
        processes: dict[str, subprocess.Popen] = {}
        try:
            for service, arguments in commands.items():
                with (log_dir / f"{service}.log").open("ab") as log:
                    processes[service] = subprocess.Popen(
                        [_airflow(), *arguments],
                        env={**os.environ, **self.airflow_environment()},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
            self._wait_for_api(processes)
            yield self
        finally:
            _stop(processes)

    def _wait_for_api(self, processes: dict[str, subprocess.Popen], timeout: float = 300) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(processes)
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health", timeout=5):
                    return
            time.sleep(0.5)
        raise DeploymentFailed(
            f"the API server did not answer on port {self.api_port} within {timeout:.0f} s; "
            f"see {self.home / 'logs' / 'airflow-apiserver.log'}"
        )

    def _check_alive(self, processes: dict[str, subprocess.Popen]) -> None:
        for service, process in processes.items():
            if process.poll() is not None:
                raise DeploymentFailed(
                    f"{service} exited with code {process.returncode}; see {self.home / 'logs' / (service + '.log')}"
                )

    def metadata_connection(self):
        from qnwu_warehouse.serve import postgres_copy

        connection = postgres_copy.connect(self.metadata_database)
        connection.autocommit = True
        return connection

    def wait_for_dags(self, dag_ids: tuple[str, ...], timeout: float = 300) -> None:
        """Until the dag-processor has parsed and stored every one of the DAGs."""
        deadline = time.monotonic() + timeout
        with contextlib.closing(self.metadata_connection()) as connection, connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute("select dag_id from dag where dag_id = any(%s)", (list(dag_ids),))
                if len(cursor.fetchall()) == len(dag_ids):
                    return
                time.sleep(0.5)
        raise DeploymentFailed(
            f"the dag-processor did not register {dag_ids} within {timeout:.0f} s; see "
            f"{self.home / 'logs' / 'airflow-dag-processor.log'}"
        )

    def trigger(self, dag_id: str) -> str:
        """Unpause and trigger a DAG; returns the run id."""
        run_id = f"manual__{time.strftime('%Y%m%dT%H%M%S')}_{secrets.token_hex(3)}"
        self._run_airflow("dags", "unpause", dag_id)
        self._run_airflow("dags", "trigger", dag_id, "--run-id", run_id)
        return run_id

    def wait_for_run(self, dag_id: str, run_id: str | None = None, timeout: float = 900) -> tuple[str, str]:
        """Until the run (or, with no run id, the first run of the DAG) has finished; returns
        (run_id, state)."""
        deadline = time.monotonic() + timeout
        with contextlib.closing(self.metadata_connection()) as connection, connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "select run_id, state from dag_run where dag_id = %s and (%s::text is null or "
                    "run_id = %s) order by id limit 1",
                    (dag_id, run_id, run_id),
                )
                row = cursor.fetchone()
                if row and row[1] in ("success", "failed"):
                    return row
                time.sleep(0.5)
        raise DeploymentFailed(
            f"{dag_id} run {run_id or '(first)'} did not finish within {timeout:.0f} s; see the logs in {self.home / 'logs'}"
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[tuple]:
        """(task_id, state, queue, hostname, celery task id) of each task of a run."""
        with contextlib.closing(self.metadata_connection()) as connection, connection.cursor() as cursor:
            cursor.execute(
                "select task_id, state, queue, hostname, external_executor_id from task_instance "
                "where dag_id = %s and run_id = %s order by task_id",
                (dag_id, run_id),
            )
            return cursor.fetchall()


def _stop(processes: dict[str, subprocess.Popen], timeout: float = 30, resend_every: float = 5) -> None:
    """SIGTERM each service's process group, again every few seconds while its process runs (a
    scheduler that gets the signal inside a garbage-collector callback only prints the SystemExit
    and keeps running), and SIGKILL whatever still runs after `timeout`, saying which: a service
    that ignores SIGTERM also outlasts `docker compose stop`'s grace period."""
    deadline = time.monotonic() + timeout
    while alive := {service: process for service, process in processes.items() if process.poll() is None}:
        if time.monotonic() >= deadline:
            for service, process in alive.items():
                log.warning("%s did not stop within %.0f s of SIGTERM; killed", service, timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            return
        for process in alive.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        until = min(deadline, time.monotonic() + resend_every)
        for process in alive.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, until - time.monotonic()))


def _airflow() -> str:
    return executable_beside_python("airflow")


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
