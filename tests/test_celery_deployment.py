"""The scale-out deployment, for real: Airflow on PostgreSQL metadata, the CeleryExecutor with the
Redis broker and a worker process, and the marts served from PostgreSQL to a read-only analyst role.

This is docker-compose.yml's deployment run as processes on the PostgreSQL and Redis servers of
the machine (qnwu_warehouse/orchestration/deployment.py). Everything it creates is throw-away: its own metadata
and serving databases, its own Celery queue, its own analyst role. If PostgreSQL or Redis cannot
be reached the tests fail; they do not skip.
"""

from __future__ import annotations

import contextlib
import gc
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2
import pytest
from psycopg2 import errors, sql

from qnwu_devtools import postgres_mirror
from qnwu_devtools.generator import generate
from qnwu_warehouse.orchestration.deployment import CeleryDeployment, DeploymentFailed, free_port
from qnwu_warehouse.serve import postgres_copy, postgres_serving
from qnwu_warehouse.settings import Settings

pytestmark = pytest.mark.slow

PROVINCE_SUMMARY = """
    select indicator_code, sum(value) as value
    from marts.agg_indicators_by_period
    where scope_level = 'province' and period_grain = 'year' and period_label = '2023'
    group by indicator_code order by indicator_code"""


# Test-only latency knobs, not in docker-compose.yml (they only change how soon things happen):
# - the task supervisor notices that a task process has exited only at its next heartbeat tick
#   when the process's sockets close before it is reaped, so with the default 5 s about half of
#   qnwu_publish's ~50 short tasks held their worker slot 5 s longer than they ran;
# - an idle scheduler loop sleeps 0.5 s instead of 1 s before it queues the next tasks.
LATENCY_SETTINGS = {
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
}
# Worker slots: the dbt model tasks are short and partly wait (API calls, the supervisor's tick),
# so a third slot keeps both CPUs of a small machine busy.
WORKER_CONCURRENCY = 3


def _require_services() -> None:
    try:
        postgres_copy.connect("postgres").close()
        with socket.create_connection(("127.0.0.1", 6379), timeout=5):
            pass
    except (postgres_copy.MirrorError, OSError) as problem:
        pytest.fail(
            f"PostgreSQL (5432) and Redis (6379) are required here and one is not reachable: {problem}", pytrace=False
        )


def _logs(deployment: CeleryDeployment) -> str:
    tails = []
    for log in sorted((deployment.home / "logs").glob("*.log")):
        tails.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
    return "\n".join(tails)


@dataclass(frozen=True)
class Deployed:
    deployment: CeleryDeployment
    publish_run: str
    serve_database: str
    analyst_role: str

    def analyst(self):
        """A connection as the analyst role, the way a BI tool logs in."""
        params = postgres_copy.connection_parameters()
        return psycopg2.connect(host=params["host"], port=params["port"], user=self.analyst_role, dbname=self.serve_database)

    def as_loader(self) -> pytest.MonkeyPatch:
        """The environment of the pipeline's own PostgreSQL connections (the loading role)."""
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.setenv("QNWU_DATA_DIR", str(self.deployment.settings.data_dir))
        monkeypatch.setenv("QNWU_PG_DATABASE", self.serve_database)
        return monkeypatch


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """One pipeline run through the Celery deployment."""
    _require_services()
    suffix = secrets.token_hex(4)
    monkeypatch = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("celery") / "data"
    data_dir.mkdir()
    serve_database = f"qnwu_test_serve_{suffix}"
    monkeypatch.setenv("QNWU_DATA_DIR", str(data_dir))
    monkeypatch.delenv("QNWU_LANDING_URL", raising=False)
    monkeypatch.setenv("QNWU_PG_DATABASE", serve_database)
    analyst_role = f"qnwu_test_analyst_{suffix}"
    monkeypatch.setenv("QNWU_PG_ANALYST_ROLE", analyst_role)
    settings = Settings.from_env()
    settings.ensure_data_dir()
    generate(settings.local_landing_path, units=30, months=3)
    deployment = CeleryDeployment(
        settings,
        metadata_database=f"qnwu_test_airflow_{suffix}",
        api_port=free_port(),
        worker_log_port=free_port(),
        queue=f"qnwu-test-{suffix}",
        extra_environment=LATENCY_SETTINGS,
    )
    try:
        deployment.prepare()
        with deployment.running(worker_concurrency=WORKER_CONCURRENCY):
            deployment.wait_for_dags(("qnwu_ingest", "qnwu_publish"))
            # qnwu_publish so that the asset event can start it, and qnwu_ingest with it (one CLI call)
            deployment._run_airflow("dags", "unpause", "--treat-dag-id-as-regex", "--yes", "^qnwu_(publish|ingest)$")
            ingest_run = deployment.trigger("qnwu_ingest")
            assert deployment.wait_for_run("qnwu_ingest", ingest_run)[1] == "success", _logs(deployment)
            publish_run, state = deployment.wait_for_run("qnwu_publish")
            assert state == "success", _logs(deployment)
            yield Deployed(deployment, publish_run, serve_database, analyst_role)
    except DeploymentFailed as failure:
        pytest.fail(f"{failure}\n{_logs(deployment)}", pytrace=False)
    finally:
        monkeypatch.undo()
        for database in (serve_database, deployment.metadata_database):
            postgres_copy.drop_database(database)
        with postgres_copy.connect("postgres") as pg, pg.cursor() as cur:
            cur.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(analyst_role)))
        shutil.rmtree(data_dir, ignore_errors=True)


def test_every_task_ran_on_a_celery_worker(deployed):
    deployment = deployed.deployment
    tasks = deployment.task_instances("qnwu_publish", deployed.publish_run)
    assert {"build_marts", "quality_gate", "publish_marts", "serve_postgres"} <= {task for task, *_ in tasks}
    for task_id, state, queue, hostname, celery_task_id in tasks:
        assert state == "success", task_id
        assert queue == deployment.queue, task_id  # routed through this deployment's Celery queue
        assert celery_task_id, f"{task_id} has no Celery task id: it did not go through the broker"
        assert hostname, task_id


def test_analyst_reads_the_province_summary_served_from_postgres(deployed):
    with duckdb.connect(str(deployed.deployment.settings.published_warehouse), read_only=True) as duck:
        published = duck.execute(PROVINCE_SUMMARY).fetchall()
    assert published, "the published warehouse has no 2023 province figures"
    with deployed.analyst() as analyst, analyst.cursor() as cur:
        cur.execute(PROVINCE_SUMMARY)
        served = [(code, int(value)) for code, value in cur.fetchall()]
        cur.execute("select run_id from meta.publication")
        served_run = cur.fetchone()[0]
    assert served == [(code, int(value)) for code, value in published]
    assert served_run == deployed.publish_run


@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.dim_programmes select * from marts.dim_programmes limit 1",
        "update marts.fct_indicator_values set value = 0",
        "delete from marts.fct_indicator_values",
        "create table marts.mine (x int)",
        "create table public.mine (x int)",
        "drop table marts.dim_units",
    ],
)
def test_analyst_writes_are_refused(deployed, statement):
    with deployed.analyst() as analyst, analyst.cursor() as cur:
        # The role's sessions default to read-only; lift that, so what refuses is the privilege itself.
        cur.execute("set transaction read write")
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute(statement)
    with deployed.analyst() as analyst, analyst.cursor() as cur:  # and the read-only default alone refuses too
        with pytest.raises(errors.ReadOnlySqlTransaction):
            cur.execute(statement)


def test_analyst_cannot_read_raw_or_staging_data(deployed):
    monkeypatch = deployed.as_loader()
    try:
        postgres_mirror.mirror_raw(deployed.deployment.settings)  # raw data in the same database
        with contextlib.closing(postgres_copy.connect()) as pg:
            postgres_serving._stage(deployed.deployment.settings.published_warehouse, pg)  # a publish under way
    finally:
        monkeypatch.undo()
    for table in (
        "raw.received_files",
        "raw.submission_values",
        "marts__staging.fct_indicator_values",
        "meta__staging.publication",
    ):
        with deployed.analyst() as analyst, analyst.cursor() as cur:
            with pytest.raises(errors.InsufficientPrivilege):
                cur.execute(f"select count(*) from {table}")


def test_a_staged_copy_that_does_not_match_is_not_served(deployed):
    monkeypatch = deployed.as_loader()
    try:
        with contextlib.closing(postgres_copy.connect()) as pg:
            postgres_serving._stage(deployed.deployment.settings.published_warehouse, pg)
            with pg, pg.cursor() as cur:  # a copy that went wrong: one value differs
                cur.execute(
                    "update marts__staging.fct_indicator_values set value = value + 1 "
                    "where indicator_value_id = (select min(indicator_value_id) "
                    "from marts__staging.fct_indicator_values)"
                )
            with pytest.raises(postgres_serving.ServingCheckFailed, match="fct_indicator_values"):
                postgres_serving._audit(deployed.deployment.settings.published_warehouse, pg)
    finally:
        monkeypatch.undo()
    with deployed.analyst() as analyst, analyst.cursor() as cur:
        cur.execute("select run_id from meta.publication")
        assert cur.fetchone()[0] == deployed.publish_run


def test_the_ui_is_not_on_default_credentials(deployed):
    deployment = deployed.deployment
    assert deployment.admin_password not in ("admin", "airflow", "")
    assert Path(deployment.passwords_file).stat().st_mode & 0o077 == 0


@contextlib.contextmanager
def analyst_limits(deployed: Deployed, **limits: str):
    """The analyst role re-served with these QNWU_PG_ANALYST_* limits (as the next publish would
    set them), and the deployment's own limits back afterwards."""
    monkeypatch = deployed.as_loader()
    try:
        for name, value in limits.items():
            monkeypatch.setenv(f"QNWU_PG_ANALYST_{name}", value)
        postgres_serving.publish_to_postgres(deployed.deployment.settings)
        yield
    finally:
        monkeypatch.undo()
        restore = deployed.as_loader()
        try:
            with contextlib.closing(postgres_copy.connect()) as pg, pg, pg.cursor() as cur:
                postgres_serving.ensure_analyst_role(cur, deployed.serve_database)
        finally:
            restore.undo()


RUNAWAY_QUERY = """select count(*) from marts.fct_indicator_values a
                   cross join marts.fct_indicator_values b cross join marts.fct_indicator_values c"""


def test_a_runaway_analyst_query_is_cancelled_and_the_pipeline_is_not_limited(deployed):
    with analyst_limits(deployed, STATEMENT_TIMEOUT_S="1"):
        with contextlib.closing(deployed.analyst()) as analyst, analyst.cursor() as cur:
            cur.execute("show statement_timeout")
            assert cur.fetchone()[0] == "1s"
            started = time.monotonic()
            with pytest.raises(errors.QueryCanceled, match="canceling statement due to statement timeout") as cancelled:
                cur.execute(RUNAWAY_QUERY)
            assert time.monotonic() - started < 30
        print(f"\nanalyst's cross join: {type(cancelled.value).__name__}: {str(cancelled.value).strip()}")
        monkeypatch = deployed.as_loader()  # the loading role's own sessions keep no limit
        try:
            with contextlib.closing(postgres_copy.connect()) as pg, pg.cursor() as cur:
                cur.execute("show statement_timeout")
                assert cur.fetchone()[0] == "0"
                cur.execute("select pg_sleep(1.5)")
        finally:
            monkeypatch.undo()


def test_an_analyst_idle_in_a_transaction_is_disconnected(deployed):
    with analyst_limits(deployed, IDLE_TIMEOUT_S="1"):
        analyst = deployed.analyst()
        try:
            with analyst.cursor() as cur:
                cur.execute("select count(*) from marts.dim_units")  # opens a transaction, left open
                time.sleep(3)
                with pytest.raises(psycopg2.OperationalError) as closed:
                    cur.execute("select 1")
        finally:
            analyst.close()
        print(f"\nidle analyst: {str(closed.value).strip().splitlines()[0]}")


def _close_other_analyst_sessions(deployed: Deployed) -> None:
    """Earlier tests' analyst connections may linger until garbage-collected; end them, so that
    the count starts from zero."""
    gc.collect()
    monkeypatch = deployed.as_loader()
    try:
        with contextlib.closing(postgres_copy.connect()) as pg, pg, pg.cursor() as cur:
            cur.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", (deployed.analyst_role,)
            )
    finally:
        monkeypatch.undo()


def test_the_analyst_role_has_a_connection_limit(deployed):
    _close_other_analyst_sessions(deployed)
    with analyst_limits(deployed, CONNECTION_LIMIT="2"):
        with contextlib.ExitStack() as open_connections:
            for _ in range(2):
                open_connections.callback(deployed.analyst().close)
            with pytest.raises(psycopg2.OperationalError, match="too many connections for role") as refused:
                deployed.analyst().close()
        print(f"\nthird analyst connection: {str(refused.value).strip()}")
