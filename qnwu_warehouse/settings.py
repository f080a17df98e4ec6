"""Every setting the warehouse reads, in one place.

All state lives under one data directory (``QNWU_DATA_DIR``), so a run can be moved, backed
up or wiped as one folder and nothing is written anywhere else. Settings come from the
environment (the same variables docker-compose.yml and .env.example set), and a bad one
raises :class:`ConfigError` with a one-line message that says what to do.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from qnwu_warehouse.contract.limits import CONTRACT_LIMITS, Limits

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DAGS_DIR = REPO_ROOT / "dags"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SEEDS_DIR = REPO_ROOT / "seeds"


def path_safe(name: str) -> str:
    """A run or load id as one folder name: anything but letters, digits, '_', '.' and '-' is '_'
    (an Airflow run id holds ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def executable_beside_python(name: str) -> str:
    """A console script installed beside this interpreter (airflow, dbt): a shell without
    .venv/bin on PATH still finds the project's own."""
    return str(Path(sys.executable).with_name(name))


# Every environment variable the code reads, with its meaning. docker-compose.yml and
# .env.example are checked against this list by tests/test_deployment_config.py.
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "QNWU_DATA_DIR": "folder holding all state (warehouse, published files, Airflow home, logs)",
    "QNWU_LANDING_URL": "where unit submissions arrive: a local folder or an fsspec URL",
    "QNWU_PUBLISHED_VERSIONS_KEPT": "how many published warehouse versions to keep for rollback",
    "QNWU_SEEDS_DIR": "reference data (units, indicators...) read by the contract checks and dbt seeds; default ./seeds",
    "QNWU_SMALL_CELL_THRESHOLD": "sensitive counts below this are suppressed in the published marts (default 5)",
    "QNWU_COMPLEMENTARY_SUPPRESSION": "false: hide only the small cells, not the complementary cells that keep them from "
    "being derived; the gate's disclosure audit then refuses to publish (default true; "
    "for demonstrating the audit, never for production)",
    "QNWU_REVALIDATE_ALL": "true: dbt tests, the gate and publish work on every row, not only on what changed since "
    "the live version (after repairing the working warehouse by hand; default false)",
    "QNWU_DBT_UNIT_TESTS_IN_BUILDS": "false: a pipeline build never runs dbt's unit tests, for a deployment whose CI "
    "runs them (`dbt test --select test_type:unit`) on every change of the rules (default true: a build runs them "
    "when nothing is published yet or the rules changed since the live version)",
    "QNWU_ALERT_WEBHOOK_URL": "a failed quality gate is posted here as JSON (e.g. a Slack incoming webhook); off if unset",
    "QNWU_ALERT_EMAIL_TO": "who is emailed when the quality gate fails (with QNWU_SMTP_HOST); off if unset",
    "QNWU_SMTP_HOST": "SMTP server (host or host:port) for alert emails",
    "QNWU_INGEST_WORKERS": "processes that read and check submission files in parallel (default: CPU count)",
    "QNWU_INGEST_BATCH_SIZE": "files committed to raw per transaction (bounds memory and crash loss)",
    "QNWU_INGEST_FILE_MEMORY_MB": "memory a worker may use to read and check one file (default 512, 64 to 1048576): "
    "beyond it the file is rejected FILE_TOO_COMPLEX and the rest of the batch goes on",
    "QNWU_INGEST_FILE_SECONDS": "time a worker may take to read and check one file (default 60): FILE_TOO_COMPLEX beyond",
    "QNWU_LANDING_SETTLE_SECONDS": "a landing file is read once its size and modification time held still this long "
    "(default 2; 0: no wait); one still changing is skipped until a later run",
    "QNWU_FULL_SWEEP_HOURS": "the gate's whole-history reconciliations, and publish's disclosure audit across versions "
    "of every year, run when the last one is older than this (default 24; 0: every run); other runs check the "
    "changed reports and years only",
    "QNWU_MAX_FILE_BYTES": "largest submission file read, in bytes (default 10000000): larger ones are rejected "
    "FILE_TOO_LARGE unread, and archived as a stream",
    "QNWU_MAX_SECTION_ROWS": "most rows of one section (values, clubs) of a submission (default 2000): SECTION_TOO_LONG",
    "QNWU_MAX_PROBLEMS_PER_FILE": "problems recorded per file (default 50); the rest are counted in one line",
    "QNWU_MAX_FIELD_CHARS": "longest text of one field (reporter, club name, codes) in characters (default 200): "
    "FIELD_TOO_LONG",
    "QNWU_SERVE_POSTGRES": "true: also serve each published version from PostgreSQL's marts schema (default false)",
    "QNWU_PG_HOST": "PostgreSQL server of the served marts and of dbt's postgres target (default 127.0.0.1)",
    "QNWU_PG_PORT": "its port (default 5432)",
    "QNWU_PG_USER": "the role that loads the marts (default postgres)",
    "QNWU_PG_PASSWORD": "its password (empty: none, e.g. trust or peer authentication)",
    "QNWU_PG_DATABASE": "the database (default qnwu; created if missing)",
    "QNWU_PG_SCHEMA": "schema prefix of dbt's postgres target (default public)",
    "QNWU_PG_ANALYST_ROLE": "the read-only role analysts and BI tools log in as (default qnwu_analyst)",
    "QNWU_PG_ANALYST_PASSWORD": "its password (set it in .env for a deployment)",
    "QNWU_PG_ANALYST_STATEMENT_TIMEOUT_S": "an analyst query running longer is cancelled (default 120; 0: no limit)",
    "QNWU_PG_ANALYST_IDLE_TIMEOUT_S": "an analyst session idle in a transaction this long is closed (default 300; 0: none)",
    "QNWU_PG_ANALYST_CONNECTION_LIMIT": "the analyst role's concurrent connections (default 20; -1: no limit)",
    "QNWU_MAILBOX_IMAP_CONN_ID": "Airflow connection (type imap) of the reporting mailbox (default qnwu_mailbox_imap)",
    "QNWU_MAILBOX_SMTP_CONN_ID": "Airflow connection (type smtp) the replies are sent through (default qnwu_mailbox_smtp)",
    "QNWU_MAILBOX_FOLDER": "the IMAP folder reports arrive in (default INBOX)",
    "QNWU_MAILBOX_FROM": "the From address of the replies and reminders (required by the qnwu_mailbox DAG)",
    "QNWU_MAILBOX_SENDERS_FILE": "CSV of each unit's registered sender addresses (unit_code,email); operational "
    "configuration, never in git (required by the qnwu_mailbox DAG)",
    "QNWU_MAILBOX_MAX_MESSAGES": "messages taken from the mailbox per run (default 200; the rest on the next run)",
    "QNWU_MAILBOX_MAX_ATTACHMENTS": "report files taken from one message, ZIP members included (default 30)",
    "QNWU_MAILBOX_AUTHSERV_ID": "the authserv-id of the mail server's Authentication-Results headers: when set, only "
    "messages it marks dmarc=pass are taken (others are recorded, not answered); unset: not checked",
    "QNWU_MAILBOX_MAX_MESSAGE_BYTES": "a larger message is not fetched, only answered from its headers (default 50000000)",
    "QNWU_MAILBOX_REMINDER_DAYS": "units with no accepted report are reminded this many days before the deadline "
    "(default 3; 0: on the day only)",
    "QNWU_SUPERSET_HOST": "address `qnwu superset` listens on (default 127.0.0.1; 0.0.0.0 for every interface)",
    "QNWU_SUPERSET_PORT": "port of `qnwu superset` (default 8088)",
    "QNWU_SUPERSET_ADMIN_USER": "Superset's admin login (default admin)",
    "QNWU_SUPERSET_ADMIN_PASSWORD": "its password, 8 characters or more (default qnwu-superset-local: for local use only)",
    "QNWU_SUPERSET_SECRET_KEY": "Superset's SECRET_KEY, 32 characters or more (default: generated once into "
    "<data dir>/superset/secret_key)",
    "QNWU_SUPERSET_VENV": "the virtualenv Superset is installed in (default ./.superset-venv, made by bin/setup)",
}

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")


class ConfigError(Exception):
    """A setting is missing, malformed or points somewhere unusable; the message says what to do."""


def env_flag(name: str, default: bool = False) -> bool:
    """A yes/no setting; anything but a clear yes or no is an error, not a silent no."""
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is neither true nor false: set it to true or false, or unset it.")


def _number(name: str, default, parse, low, high, what: str):
    """A numeric setting, read by `parse` (int or float), within [low, high] (high None: no bound);
    anything else is an error that says what to do."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw.strip())
    except ValueError:
        value = None
    if value is None or not value >= low or (high is not None and value > high):
        shown = f"{default:g}" if isinstance(default, float) else default
        raise ConfigError(f"{name}={raw!r} is not {what}: fix it or unset it (default {shown}).")
    return value


def _whole_number(name: str, default: int, low: int, high: int | None, what: str) -> int:
    return _number(name, default, int, low, high, what)


def _positive_int(name: str, default: int) -> int:
    return _whole_number(name, default, 1, None, "a whole number of 1 or more")


def _non_negative_number(name: str, default: float) -> float:
    return _number(name, default, float, 0.0, sys.float_info.max, "a number of 0 or more")


def _limits_from_env() -> Limits:
    """The contract's size limits, each overridable by a setting."""
    return Limits(
        max_file_bytes=_positive_int("QNWU_MAX_FILE_BYTES", CONTRACT_LIMITS.max_file_bytes),
        max_section_rows=_positive_int("QNWU_MAX_SECTION_ROWS", CONTRACT_LIMITS.max_section_rows),
        max_problems_per_file=_positive_int("QNWU_MAX_PROBLEMS_PER_FILE", CONTRACT_LIMITS.max_problems_per_file),
        max_field_chars=_positive_int("QNWU_MAX_FIELD_CHARS", CONTRACT_LIMITS.max_field_chars),
    )


def _default_limits() -> Limits:
    return CONTRACT_LIMITS


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_url: str
    published_versions_kept: int
    ingest_workers: int
    ingest_batch_size: int
    seeds_dir: Path
    small_cell_threshold: int
    alert_webhook_url: str | None
    alert_email_to: str | None
    smtp_host: str | None
    limits: Limits = field(default_factory=_default_limits)
    landing_settle_seconds: float = 2.0
    ingest_file_memory_mb: int = 512
    ingest_file_seconds: int = 60
    full_sweep_hours: float = 24.0
    complementary_suppression: bool = True
    dbt_unit_tests_in_builds: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        explicit = os.environ.get("QNWU_DATA_DIR")
        data_dir = Path(explicit).expanduser().resolve() if explicit else REPO_ROOT / "data"
        landing_url = os.environ.get("QNWU_LANDING_URL") or str(data_dir / "landing")
        return cls(
            data_dir=data_dir,
            landing_url=landing_url,
            published_versions_kept=_positive_int("QNWU_PUBLISHED_VERSIONS_KEPT", 5),
            ingest_workers=_positive_int("QNWU_INGEST_WORKERS", os.cpu_count() or 1),
            ingest_batch_size=_positive_int("QNWU_INGEST_BATCH_SIZE", 5000),
            seeds_dir=Path(os.environ.get("QNWU_SEEDS_DIR") or SEEDS_DIR).resolve(),
            small_cell_threshold=_positive_int("QNWU_SMALL_CELL_THRESHOLD", 5),
            alert_webhook_url=os.environ.get("QNWU_ALERT_WEBHOOK_URL") or None,
            alert_email_to=os.environ.get("QNWU_ALERT_EMAIL_TO") or None,
            smtp_host=os.environ.get("QNWU_SMTP_HOST") or None,
            limits=_limits_from_env(),
            landing_settle_seconds=_non_negative_number("QNWU_LANDING_SETTLE_SECONDS", 2.0),
            # at least what reading a 10 MB report takes, at most a terabyte (setrlimit's range)
            ingest_file_memory_mb=_whole_number(
                "QNWU_INGEST_FILE_MEMORY_MB", 512, 64, 2**20, "a whole number of megabytes from 64 to 1048576"
            ),
            ingest_file_seconds=_positive_int("QNWU_INGEST_FILE_SECONDS", 60),
            full_sweep_hours=_non_negative_number("QNWU_FULL_SWEEP_HOURS", 24.0),
            complementary_suppression=env_flag("QNWU_COMPLEMENTARY_SUPPRESSION", default=True),
            dbt_unit_tests_in_builds=env_flag("QNWU_DBT_UNIT_TESTS_IN_BUILDS", default=True),
        )

    # --- paths under the data directory -------------------------------------------------
    @property
    def working_warehouse(self) -> Path:
        """The DuckDB file dbt builds into; only the pipeline opens it (one writer)."""
        return self.data_dir / "warehouse" / "working.duckdb"

    @property
    def writer_lock(self) -> Path:
        return self.data_dir / "warehouse" / "working.lock"

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def published_warehouse(self) -> Path:
        """The file analysts and BI tools open read-only; replaced atomically on publish."""
        return self.published_dir / "warehouse.duckdb"

    @property
    def published_versions_dir(self) -> Path:
        return self.published_dir / "versions"

    @property
    def archive_dir(self) -> Path:
        """Byte-for-byte copies of every file received, by content hash."""
        return self.data_dir / "archive"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def airflow_home(self) -> Path:
        return self.data_dir / "airflow"

    @property
    def dbt_target_dir(self) -> Path:
        return self.data_dir / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.data_dir / "dbt" / "logs"

    @property
    def gx_dir(self) -> Path:
        """Great Expectations' project: suites, validation results and the Data Docs site."""
        return self.data_dir / "gx"

    @property
    def is_local_landing(self) -> bool:
        return "://" not in self.landing_url or self.landing_url.startswith("file://")

    # --- checks ---------------------------------------------------------------------------
    def ensure_data_dir(self) -> None:
        """Create the state folders, or explain in one line why that is impossible."""
        if os.environ.get("QNWU_DATA_DIR") and not self.data_dir.is_dir():
            raise ConfigError(
                f"QNWU_DATA_DIR={self.data_dir} does not exist: create it (mkdir -p {self.data_dir}) "
                "or unset QNWU_DATA_DIR to use the default ./data."
            )
        try:
            for folder in (
                self.working_warehouse.parent,
                self.published_versions_dir,
                self.archive_dir,
                self.quarantine_dir,
                self.airflow_home,
                self.dbt_target_dir,
                self.dbt_log_dir,
                self.gx_dir,
            ):
                folder.mkdir(parents=True, exist_ok=True)
            # a probe of its own (unique name, removed on close): processes starting at once
            # must not delete each other's probe and take the folder for unwritable
            with tempfile.NamedTemporaryFile(dir=self.data_dir, prefix=".write-test-") as probe:
                probe.write(b"ok")
                probe.flush()
        except OSError as exc:
            raise ConfigError(
                f"data directory {self.data_dir} is not writable ({exc.strerror}): "
                "point QNWU_DATA_DIR at a folder this user can write."
            ) from None

    def ensure_landing(self) -> None:
        if self.is_local_landing and not self.local_landing_path.is_dir():
            raise ConfigError(
                f"landing folder {self.local_landing_path} does not exist: create it, put submissions "
                "in it, or set QNWU_LANDING_URL to where they arrive."
            )

    @property
    def local_landing_path(self) -> Path:
        return Path(self.landing_url.removeprefix("file://"))

    def airflow_environment(self) -> dict[str, str]:
        """The Airflow configuration for the embedded run: SQLite metadata under the data dir."""
        home = self.airflow_home
        return {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "QNWU_DATA_DIR": str(self.data_dir),
            "QNWU_LANDING_URL": self.landing_url,
        }


# --- PostgreSQL serving and revalidation ------------------------------------------------------
# Read when they are used (a test or a task may change them between calls), parsed here only.


def serve_postgres() -> bool:
    """QNWU_SERVE_POSTGRES: serve each published version from PostgreSQL as well."""
    return env_flag("QNWU_SERVE_POSTGRES")


def revalidate_all() -> bool:
    """QNWU_REVALIDATE_ALL: test, validate and publish every row, not only what changed."""
    return env_flag("QNWU_REVALIDATE_ALL")


def _port(name: str, default: int) -> int:
    return _whole_number(name, default, 1, 65535, "a port number from 1 to 65535")


def _timeout(name: str, default: int) -> int:
    return _whole_number(name, default, 0, 86_400, "a number of seconds from 0 (no limit) to 86400")


def _connection_limit(name: str, default: int) -> int:
    what = "a number of connections from 1 to 10000, or -1 for no limit"
    limit = _whole_number(name, default, -1, 10_000, what)
    if limit == 0:  # PostgreSQL would take it, and lock every analyst and BI tool out
        raise ConfigError(f"{name}=0 is not {what}: fix it or unset it (default {default}).")
    return limit


@dataclass(frozen=True)
class PostgresSettings:
    """The PostgreSQL server of the served marts and of dbt's postgres target (QNWU_PG_*, with the
    defaults dbt_project/profiles.yml also uses)."""

    host: str
    port: int
    user: str
    password: str  # empty: none (trust or peer authentication)
    database: str
    schema: str  # dbt's postgres target
    analyst_role: str
    analyst_password: str | None
    # what one analyst or BI query may take from the server the pipeline also loads into: set on
    # the role, so they bind every session it opens and no session of the loading role
    analyst_statement_timeout_s: int
    analyst_idle_in_transaction_timeout_s: int
    analyst_connection_limit: int

    @classmethod
    def from_env(cls) -> PostgresSettings:
        return cls(
            host=os.environ.get("QNWU_PG_HOST") or "127.0.0.1",
            port=_port("QNWU_PG_PORT", 5432),
            user=os.environ.get("QNWU_PG_USER") or "postgres",
            password=os.environ.get("QNWU_PG_PASSWORD") or "",
            database=os.environ.get("QNWU_PG_DATABASE") or "qnwu",
            schema=os.environ.get("QNWU_PG_SCHEMA") or "public",
            analyst_role=os.environ.get("QNWU_PG_ANALYST_ROLE") or "qnwu_analyst",
            analyst_password=os.environ.get("QNWU_PG_ANALYST_PASSWORD") or None,
            analyst_statement_timeout_s=_timeout("QNWU_PG_ANALYST_STATEMENT_TIMEOUT_S", 120),
            analyst_idle_in_transaction_timeout_s=_timeout("QNWU_PG_ANALYST_IDLE_TIMEOUT_S", 300),
            analyst_connection_limit=_connection_limit("QNWU_PG_ANALYST_CONNECTION_LIMIT", 20),
        )


@dataclass(frozen=True)
class MailboxSettings:
    """The reporting mailbox (QNWU_MAILBOX_*): which Airflow connections reach it, where replies come
    from, and who may report for which unit (qnwu_warehouse/mailbox, docs/mailbox.md)."""

    imap_conn_id: str
    smtp_conn_id: str
    folder: str
    from_address: str
    senders_file: Path
    max_messages: int
    max_attachments: int
    reminder_days: int = 3
    authserv_id: str | None = None
    max_message_bytes: int = 50_000_000

    @classmethod
    def from_env(cls) -> MailboxSettings:
        from_address = (os.environ.get("QNWU_MAILBOX_FROM") or "").strip()
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", from_address):
            raise ConfigError(
                f"QNWU_MAILBOX_FROM={from_address!r} is not an e-mail address: set it to the address replies "
                "come from (e.g. baocao@hoiphunu.quangninh.gov.vn)."
            )
        senders = (os.environ.get("QNWU_MAILBOX_SENDERS_FILE") or "").strip()
        if not senders:
            raise ConfigError(
                "QNWU_MAILBOX_SENDERS_FILE is not set: point it at the CSV of registered sender addresses "
                "(unit_code,email; docs/mailbox.md)."
            )
        senders_file = Path(senders).expanduser().resolve()
        if not senders_file.is_file():
            raise ConfigError(
                f"QNWU_MAILBOX_SENDERS_FILE={senders_file} does not exist: create it (unit_code,email; docs/mailbox.md)."
            )
        folder = (os.environ.get("QNWU_MAILBOX_FOLDER") or "INBOX").strip()
        if not re.fullmatch(r"[A-Za-z0-9_./ -]{1,100}", folder):
            raise ConfigError(f"QNWU_MAILBOX_FOLDER={folder!r} is not a folder name: use letters, digits, '.', '/', '_'.")
        return cls(
            imap_conn_id=os.environ.get("QNWU_MAILBOX_IMAP_CONN_ID") or "qnwu_mailbox_imap",
            smtp_conn_id=os.environ.get("QNWU_MAILBOX_SMTP_CONN_ID") or "qnwu_mailbox_smtp",
            folder=folder,
            from_address=from_address,
            senders_file=senders_file,
            max_messages=_positive_int("QNWU_MAILBOX_MAX_MESSAGES", 200),
            max_attachments=_positive_int("QNWU_MAILBOX_MAX_ATTACHMENTS", 30),
            reminder_days=_whole_number("QNWU_MAILBOX_REMINDER_DAYS", 3, 0, 28, "a number of days from 0 to 28"),
            authserv_id=(os.environ.get("QNWU_MAILBOX_AUTHSERV_ID") or "").strip() or None,
            max_message_bytes=_positive_int("QNWU_MAILBOX_MAX_MESSAGE_BYTES", 50_000_000),
        )


def check_pipeline_settings() -> None:
    """Parse the settings a pipeline run reads only later, in its tasks, so that a bad one stops
    `qnwu run` with its one line before Airflow starts."""
    revalidate_all()
    if serve_postgres():
        PostgresSettings.from_env()


# --- Apache Superset (qnwu superset) ----------------------------------------------------------
# Superset runs from its own virtualenv (.superset-venv, superset/requirements.lock); these are
# parsed here and handed to it as environment variables by qnwu_warehouse/serve/superset.py.

SUPERSET_DIR = REPO_ROOT / "superset"
SUPERSET_DEFAULT_ADMIN_PASSWORD = "qnwu-superset-local"  # local use only: set QNWU_SUPERSET_ADMIN_PASSWORD anywhere else


@dataclass(frozen=True)
class SupersetSettings:
    """Where Superset listens, its admin login and its secret key (QNWU_SUPERSET_*)."""

    host: str
    port: int
    admin_user: str
    admin_password: str
    secret_key: str | None  # None: generated once into <data dir>/superset/secret_key
    venv: Path

    @classmethod
    def from_env(cls) -> SupersetSettings:
        admin_user = (os.environ.get("QNWU_SUPERSET_ADMIN_USER") or "admin").strip()
        if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", admin_user):
            raise ConfigError(
                f"QNWU_SUPERSET_ADMIN_USER={admin_user!r} is not a login name: use letters, digits, '_', '.', '@' or '-'."
            )
        password = os.environ.get("QNWU_SUPERSET_ADMIN_PASSWORD") or SUPERSET_DEFAULT_ADMIN_PASSWORD
        if len(password) < 8:
            raise ConfigError("QNWU_SUPERSET_ADMIN_PASSWORD is shorter than 8 characters: choose a longer one.")
        secret_key = os.environ.get("QNWU_SUPERSET_SECRET_KEY") or None
        if secret_key is not None and len(secret_key) < 32:
            raise ConfigError(
                "QNWU_SUPERSET_SECRET_KEY is shorter than 32 characters: use e.g. `openssl rand -base64 42`, "
                "or unset it to have one generated into the data directory."
            )
        venv = Path(os.environ.get("QNWU_SUPERSET_VENV") or REPO_ROOT / ".superset-venv").expanduser().resolve()
        return cls(
            host=os.environ.get("QNWU_SUPERSET_HOST") or "127.0.0.1",
            port=_port("QNWU_SUPERSET_PORT", 8088),
            admin_user=admin_user,
            admin_password=password,
            secret_key=secret_key,
            venv=venv,
        )
