"""Bad configuration gives one line that says what to do, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import assert_one_line_error, run_qnwu_cli


def test_missing_data_directory(tmp_path: Path):
    missing = tmp_path / "nowhere"
    assert_one_line_error(run_qnwu_cli(["run"], QNWU_DATA_DIR=str(missing)), str(missing), "mkdir -p")


def test_unwritable_data_directory_as_file(tmp_path: Path):
    # Tests run as root, where permission bits do not stop writes; a file standing where a
    # folder must be created fails the same way an unwritable folder does.
    data = tmp_path / "data"
    data.mkdir()
    (data / "warehouse").write_text("not a folder")
    assert_one_line_error(run_qnwu_cli(["run"], QNWU_DATA_DIR=str(data)), "not writable", "QNWU_DATA_DIR")


def test_absent_landing_folder(tmp_path: Path):
    assert_one_line_error(
        run_qnwu_cli(["run"], QNWU_DATA_DIR=str(tmp_path), QNWU_LANDING_URL=str(tmp_path / "inbox")),
        "landing folder",
        "QNWU_LANDING_URL",
    )


def test_malformed_setting(tmp_path: Path):
    assert_one_line_error(
        run_qnwu_cli(["run"], QNWU_DATA_DIR=str(tmp_path), QNWU_PUBLISHED_VERSIONS_KEPT="many"),
        "QNWU_PUBLISHED_VERSIONS_KEPT",
        "many",
    )


def test_state_stays_under_the_data_directory(data_dir: Path):
    from qnwu_warehouse.settings import Settings

    settings = Settings.from_env()
    paths = [
        settings.working_warehouse,
        settings.published_warehouse,
        settings.archive_dir,
        settings.quarantine_dir,
        settings.airflow_home,
        settings.dbt_target_dir,
        settings.dbt_log_dir,
        settings.gx_dir,
        Path(settings.landing_url),
    ]
    outside = [p for p in paths if data_dir.resolve() not in p.parents]
    assert outside == []
    airflow = settings.airflow_environment()
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{data_dir.resolve()}/airflow/airflow.db"


def test_concurrent_starts_all_find_the_data_directory_writable(tmp_path: Path, monkeypatch):
    """ensure_data_dir's write probe is its own: starts at once (threads here, processes in real
    life) never see a false "not writable"."""
    import threading

    from qnwu_warehouse.settings import ConfigError, Settings

    data = tmp_path / "fresh"
    data.mkdir()
    monkeypatch.setenv("QNWU_DATA_DIR", str(data))
    settings = Settings.from_env()
    starting_line = threading.Barrier(16)
    failures: list[str] = []

    def start() -> None:
        starting_line.wait()
        for _ in range(40):
            try:
                settings.ensure_data_dir()
            except ConfigError as problem:
                failures.append(str(problem))

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [p.name for p in data.iterdir() if p.name.startswith(".write-test")] == []  # no probe left behind


def test_malformed_postgres_port(tmp_path: Path):
    assert_one_line_error(
        run_qnwu_cli(["serve-postgres"], QNWU_DATA_DIR=str(tmp_path), QNWU_PG_PORT="abc"), "QNWU_PG_PORT", "abc", "5432"
    )


def test_malformed_serving_flag_stops_a_run_before_airflow_starts(tmp_path: Path):
    (tmp_path / "landing").mkdir()
    assert_one_line_error(
        run_qnwu_cli(["run"], QNWU_DATA_DIR=str(tmp_path), QNWU_SERVE_POSTGRES="maybe"), "QNWU_SERVE_POSTGRES", "maybe"
    )


@pytest.mark.parametrize("port", ["0", "65536", "-1", "5432x", "54.32"])
def test_postgres_port_must_be_a_port_number(port: str, monkeypatch):
    from qnwu_warehouse.settings import ConfigError, PostgresSettings

    monkeypatch.setenv("QNWU_PG_PORT", port)
    with pytest.raises(ConfigError, match="QNWU_PG_PORT"):
        PostgresSettings.from_env()


def test_postgres_settings_defaults_and_overrides(monkeypatch):
    from qnwu_warehouse.settings import PostgresSettings, revalidate_all, serve_postgres

    for name in (
        *("HOST", "PORT", "USER", "PASSWORD", "DATABASE", "SCHEMA", "ANALYST_ROLE", "ANALYST_PASSWORD"),
        *("ANALYST_STATEMENT_TIMEOUT_S", "ANALYST_IDLE_TIMEOUT_S", "ANALYST_CONNECTION_LIMIT"),
    ):
        monkeypatch.delenv(f"QNWU_PG_{name}", raising=False)
    monkeypatch.delenv("QNWU_SERVE_POSTGRES", raising=False)
    monkeypatch.delenv("QNWU_REVALIDATE_ALL", raising=False)
    assert PostgresSettings.from_env() == PostgresSettings(
        host="127.0.0.1",
        port=5432,
        user="postgres",
        password="",
        database="qnwu",
        schema="public",
        analyst_role="qnwu_analyst",
        analyst_password=None,
        analyst_statement_timeout_s=120,
        analyst_idle_in_transaction_timeout_s=300,
        analyst_connection_limit=20,
    )
    assert (serve_postgres(), revalidate_all()) == (False, False)
    monkeypatch.setenv("QNWU_PG_PORT", " 6543 ")
    monkeypatch.setenv("QNWU_PG_DATABASE", "other")
    monkeypatch.setenv("QNWU_SERVE_POSTGRES", "yes")
    monkeypatch.setenv("QNWU_REVALIDATE_ALL", "true")
    assert (PostgresSettings.from_env().port, PostgresSettings.from_env().database) == (6543, "other")
    assert (serve_postgres(), revalidate_all()) == (True, True)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QNWU_PG_ANALYST_STATEMENT_TIMEOUT_S", "-1"),
        ("QNWU_PG_ANALYST_STATEMENT_TIMEOUT_S", "2m"),
        ("QNWU_PG_ANALYST_IDLE_TIMEOUT_S", "86401"),
        ("QNWU_PG_ANALYST_CONNECTION_LIMIT", "0"),  # would lock every analyst out
        ("QNWU_PG_ANALYST_CONNECTION_LIMIT", "-2"),
    ],
)
def test_analyst_limits_must_be_sane(name: str, value: str, monkeypatch):
    from qnwu_warehouse.settings import ConfigError, PostgresSettings

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name}={value!r}|^{name}={value} ") as refused:
        PostgresSettings.from_env()
    assert "\n" not in str(refused.value) and "fix it or unset it" in str(refused.value)


def test_history_of_a_live_version_published_before_the_history_says_so_in_one_line(tmp_path: Path):
    import duckdb

    (tmp_path / "published").mkdir()
    duckdb.connect(str(tmp_path / "published" / "warehouse.duckdb")).execute("create schema marts").close()
    for command in (["history", "versions"], ["history", "restatements", "--from-version", "1"]):
        assert_one_line_error(
            run_qnwu_cli(command, QNWU_DATA_DIR=str(tmp_path)), "before the history existed", "qnwu publish"
        )


def test_the_gate_and_publish_on_a_new_data_directory_say_in_one_line_what_to_run_first(tmp_path: Path):
    """An operator error (the command's own, told apart from a bug only when it happens): exit 1 and
    one line, with no traceback."""
    for stage in ("gate", "publish"):
        done = run_qnwu_cli([stage, "--run-id", "first"], QNWU_DATA_DIR=str(tmp_path))
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("qnwu: ") and "`qnwu build`" in lines[0], done.stderr
