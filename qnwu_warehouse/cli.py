"""The `qnwu` command: run the pipeline, generate demo data, operate published versions.

Every command turns a configuration problem into one line on stderr and exit status 2, not a
traceback: an operator should read what to do, not where Python was.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import warnings
from pathlib import Path

from qnwu_warehouse.settings import (
    ConfigError,
    PostgresSettings,
    Settings,
    check_pipeline_settings,
    executable_beside_python,
    serve_postgres,
)


def _cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.ensure_data_dir()
    check_pipeline_settings()
    if args.demo and settings.is_local_landing:
        landing = settings.local_landing_path
        if not landing.is_dir() or not any(landing.iterdir()):
            generator = _devtools("generator")
            report = generator.generate(landing, faults=True)
            print(f"demo: generated {report.files_total} sample submission files into {landing}")
    settings.ensure_landing()
    if not args.verbose:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        # Task logs still go to the log folder under the data directory; the terminal gets the summary.
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    from qnwu_warehouse.orchestration.airflow_runner import run_pipeline
    from qnwu_warehouse.orchestration.pipeline import run_summary

    started = time.monotonic()
    runs = run_pipeline(settings)
    elapsed = time.monotonic() - started
    states = {dag_id: str(getattr(run.state, "value", run.state)) for dag_id, run in runs.items()}
    summary = run_summary(settings, ingest_run_id=runs["qnwu_ingest"].run_id, publish_run_id=runs["qnwu_publish"].run_id)
    _print_summary(summary, states, elapsed)
    return 0 if set(states.values()) == {"success"} else 1


def _print_summary(summary: dict, states: dict[str, str], elapsed: float) -> None:
    print()
    overall = "success" if set(states.values()) == {"success"} else "failed"
    print(f"Pipeline {overall} in {elapsed:.1f} s  ({', '.join(f'{d}: {s}' for d, s in states.items())})")
    if "this_run" in summary:
        run, total = summary["this_run"], summary["all_runs"]
        print(
            f"  files this run : received {run['received']}, accepted {run['accepted']}, "
            f"rejected {run['rejected']}, duplicate {run['duplicate']}"
            + (
                f"; skipped {run['skipped']} (hidden, temporary or still arriving: raw.skipped_entries)"
                if run.get("skipped")
                else ""
            )
        )
        print(
            f"  files all runs : received {total['received']}, accepted {total['accepted']}, "
            f"rejected {total['rejected']}, duplicate {total['duplicate']}"
        )
    if "dbt" in summary:
        print("  dbt build      : " + ", ".join(f"{count} {status}" for status, count in sorted(summary["dbt"].items())))
    if "gate" in summary:
        gate = summary["gate"]
        verdict = "passed" if gate["critical_failures"] == 0 else "FAILED"
        print(
            f"  quality gate   : {verdict} ({gate['expectations']} expectations, "
            f"{gate['critical_failures']} critical failures, {gate['warnings']} warnings)"
        )
    published = summary.get("published")
    if published:
        stale = (
            "" if published["run_id"] == summary["publish_run_id"] else " (from an earlier run: this run did not publish)"
        )
        print(f"  published      : {published['path']}{stale}")
        for table, rows in json.loads(published["tables"]).items():
            print(f"      marts.{table:<28} {rows:>9,} rows")
        print('  query it       : .venv/bin/qnwu sql "select * from marts.agg_indicators_by_period limit 20"')
        print(f"  or, read-only  : .venv/bin/duckdb -readonly {published['path']}")
        if published.get("report"):
            print(f"  HTML report    : {published['report']}")


def _devtools(module: str):
    """A module of the development tooling (sample data, benchmark), which the Airflow image does
    not ship: outside a checkout of the repository, say so instead of a traceback."""
    import importlib

    try:
        return importlib.import_module(f"qnwu_devtools.{module}")
    except ModuleNotFoundError as missing:
        if missing.name not in ("qnwu_devtools", f"qnwu_devtools.{module}"):
            raise
        raise SystemExit(
            f"qnwu: this command needs the development tools (qnwu_devtools.{module}), which this "
            "installation does not include (the Airflow image ships the runtime only); run it from a "
            "checkout of the repository after `make setup`."
        ) from None


def _cmd_generate(args: argparse.Namespace) -> int:
    return _devtools("generator").main(args.generator_args)


def _cmd_bench(args: argparse.Namespace) -> int:
    return _devtools("benchmark").main(args.bench_args)


def _cmd_stage(args: argparse.Namespace) -> int:
    from qnwu_warehouse.orchestration import pipeline

    run_id = args.run_id or time.strftime("manual__%Y%m%dT%H%M%S")
    if args.stage == "ingest":
        result = pipeline.ingest_stage(run_id)
    elif args.stage == "build":
        from qnwu_warehouse.transform import dbt_runner

        output = dbt_runner.build(Settings.from_env())
        result = {"dbt": next((line.split("Done. ", 1)[1] for line in output.splitlines() if "Done. PASS=" in line), "")}
    elif args.stage == "gate":
        result = pipeline.gate_stage(run_id)
    else:
        result = pipeline.publish_stage(run_id, {"note": "published by hand with `qnwu publish`"})
    print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return 0


def _cmd_rebuild(args: argparse.Namespace) -> int:
    """The repair when the gate keeps failing a reconciliation: marts rebuilt from raw, gated, published."""
    from qnwu_warehouse.orchestration import pipeline

    run_id = args.run_id or time.strftime("rebuild__%Y%m%dT%H%M%S")
    print("rebuilding the marts from raw: dbt build --full-refresh, then the whole gate and publish ...")
    result = pipeline.rebuild_stage(run_id)
    gate = result["gate"]
    print(f"  dbt build --full-refresh : {result['dbt']}")
    print(
        f"  quality gate (every row) : passed ({gate['expectations']} expectations, "
        f"{gate['critical_failures']} critical failures, {gate['warnings']} warnings)"
    )
    print(f"  published                : {result['published']} (version {result['version']}, every mart copied)")
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    """Query the published warehouse read-only, as an analyst or BI tool would."""
    import duckdb

    settings = Settings.from_env()
    if not settings.published_warehouse.exists():
        raise ConfigError(f"nothing published yet at {settings.published_warehouse}: run `make run` first.")
    with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
        try:
            con.sql(args.query).show(max_rows=args.max_rows, max_width=200)
        except duckdb.Error as refused:  # the analyst's SQL: DuckDB's own message says what is wrong
            print(f"qnwu sql: {refused}", file=sys.stderr)
            return 1
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    """A ready analyst query (qnwu_warehouse/serve/queries/*.sql) on the published warehouse, read-only."""
    from qnwu_warehouse.serve import analyst_queries

    if args.name is None:
        for name in analyst_queries.names():
            print(f"{name:<34} {analyst_queries.description(name)}")
        return 0
    if args.name not in analyst_queries.names():
        print(f"qnwu: no query {args.name!r}; ready queries: {', '.join(analyst_queries.names())}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    if not settings.published_warehouse.exists():
        raise ConfigError(f"nothing published yet at {settings.published_warehouse}: run `make run` first.")
    analyst_queries.print_query(settings.published_warehouse, args.name, args.format)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    """The static HTML report of the live published version."""
    from qnwu_warehouse.serve import report

    path = report.write_live_report(Settings.from_env(), Path(args.out) if args.out else None)
    print(f"report written to {path}")
    return 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    """What happened to a unit's files, as a letter the unit secretary can act on. Read from the
    working warehouse: the published file carries reason codes, not the messages, which quote what
    a file held (docs/privacy.md)."""
    from qnwu_warehouse.warehouse import working_connection

    settings = Settings.from_env()
    if not settings.working_warehouse.exists():
        raise ConfigError(f"no working warehouse at {settings.working_warehouse}: run `make run` first.")
    query = """select period, file_name, status, submission_version, duplicate_of_file_name, messages_vi, messages_en
               from marts.fct_submission_feedback where unit_code = ? and (? is null or period = ?)
               order by period nulls first, received_at, file_name"""
    with working_connection(settings, read_only=True) as con:
        rows = con.execute(query, [args.unit, args.period, args.period]).fetchall()
    print(f"Đơn vị / unit {args.unit}" + (f", kỳ / period {args.period}" if args.period else ""))
    if not rows:
        print("  Chưa nhận được báo cáo nào. / No report received.")
    labels = {
        "accepted": "ĐÃ NHẬN / accepted",
        "superseded": "ĐÃ THAY THẾ bằng bản sau / superseded",
        "rejected": "BỊ TỪ CHỐI, cần gửi lại / rejected, please resend",
        "duplicate": "TRÙNG LẶP, không tính / duplicate, not counted",
    }
    for period, name, status, version, duplicate_of, messages_vi, messages_en in rows:
        version_text = f" (bản {version})" if version else ""
        print(f"- {period or '?'}  {name}: {labels[status]}{version_text}")
        if duplicate_of:
            print(f"    trùng nội dung với tệp / same content as {duplicate_of}")
        for message in (messages_vi or "").splitlines():
            print(f"    {message}")
        for message in (messages_en or "").splitlines():
            print(f"    {message}")
    return 0


def _cmd_versions(args: argparse.Namespace) -> int:
    from qnwu_warehouse.publish import versioning

    settings = Settings.from_env()
    live = versioning.current_version(settings)
    for version in versioning.versions(settings):
        print(("* " if version == live else "  ") + version.name)
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    """Named releases: mark a published version as what was sent out, and list them."""
    from qnwu_warehouse.publish import releases

    settings = Settings.from_env()
    try:
        if args.release_command == "create":
            record = releases.create_release(settings, args.name, args.version, args.note or "")
            print(f"release {record['name']!r}: version {record['version']}, file {record['file']}")
            print(f"  sha256 {record['sha256']}")
            return 0
        records = releases.list_releases(settings)
    except releases.ReleaseError as problem:
        print(f"qnwu: {problem}", file=sys.stderr)
        return 2
    if not records:
        print("no releases yet: `qnwu release create NAME` marks the live version")
    for record in records:
        state = "unchanged" if releases.verify(record) else "CHANGED OR MISSING: restore it from a backup"
        print(f"{record['created_at'][:19]}  {record['name']}  version {record['version']}  ({state})")
        if record.get("note"):
            print(f"    {record['note']}")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    """As-of figures and restatements, from the history the live version carries."""
    import duckdb

    from qnwu_warehouse.publish import history, releases
    from qnwu_warehouse.warehouse import current_database

    settings = Settings.from_env()
    if not settings.published_warehouse.exists():
        raise ConfigError(f"nothing published yet at {settings.published_warehouse}: run `make run` first.")

    with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
        if not history.has_history(con, current_database(con)):
            print(
                "qnwu: the live version was published before the history existed (or carries none): "
                "the next publish (`qnwu publish`) starts it",
                file=sys.stderr,
            )
            return 2
        try:
            if args.history_command == "versions":
                _print_frame(
                    con.execute(
                        "select version_seq, version_name, published_at, rebuilt_whole, reason, reports_changed, "
                        "figures_changed from history.versions order by version_seq"
                    ).df(),
                    args.max_rows,
                )
                return 0
            if args.history_command == "figures":
                seq = history.resolve_version(
                    con,
                    version=args.version,
                    as_of=args.as_of,
                    release=releases.find_release(settings, args.release)["version"] if args.release else None,
                )
                query, parameters = history.figures_sql(seq, args.indicator, args.period, args.scope)
                print(f"figures as published in version {seq}")
            else:
                start = (
                    history.resolve_version(con, release=releases.find_release(settings, args.since_release)["version"])
                    if args.since_release
                    else args.from_version
                )
                if start is None:
                    known = releases.list_releases(settings)
                    if not known:
                        raise ConfigError("no release to compare with: give --from-version N or --since-release NAME")
                    start = history.resolve_version(con, release=known[-1]["version"])
                end = args.to_version or history.resolve_version(con)
                query, parameters = history.restatements_sql(start, end, args.indicator)
                print(f"restatements from version {start} to version {end}")
        except (history.HistoryError, releases.ReleaseError) as problem:
            print(f"qnwu: {problem}", file=sys.stderr)
            return 2
        if args.format == "csv":
            import csv

            result = con.execute(query, parameters)
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(column[0] for column in result.description)
            writer.writerows(result.fetchall())
        else:
            _print_frame(con.execute(query, parameters).df(), args.max_rows)
    return 0


def _print_frame(frame, max_rows: int) -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", max_rows, "display.width", 250, "display.max_columns", 30):
        print(frame.to_string(max_rows=max_rows, index=False) if len(frame) else "(no rows)")
    print(f"{len(frame)} rows")


def _cmd_rollback(args: argparse.Namespace) -> int:
    from qnwu_warehouse.publish import versioning

    settings = Settings.from_env()
    serve = serve_postgres()
    if serve:
        PostgresSettings.from_env()  # a bad setting stops before the file is rolled back, not after
    version = versioning.rollback(settings, args.version)
    print(f"published warehouse now serves {version.name}")
    from qnwu_warehouse.serve import postgres_serving

    if serve:  # BI users on PostgreSQL go back to the same version
        served = postgres_serving.publish_to_postgres(settings, version)
        print(f"PostgreSQL {served['host']}/{served['database']} schema marts now serves {version.name}")
    return 0


def _cmd_serve_postgres(args: argparse.Namespace) -> int:
    from qnwu_warehouse.serve import postgres_serving

    served = postgres_serving.publish_to_postgres(Settings.from_env())
    print(
        f"PostgreSQL {served['host']}/{served['database']}: marts, meta and history now serve the live published "
        f"version ({len(served['tables'])} tables); analysts log in as {served['analyst_role']}"
    )
    return 0


def _cmd_superset(args: argparse.Namespace) -> int:
    from qnwu_warehouse.serve import superset

    settings = Settings.from_env()
    settings.ensure_data_dir()
    try:
        return superset.run(settings)
    except superset.SupersetFailed as failed:
        print(f"qnwu: {failed}", file=sys.stderr)
        return 1


def _cmd_superset_export(args: argparse.Namespace) -> int:
    from qnwu_warehouse.serve import superset

    settings = Settings.from_env()
    try:
        written = superset.export_dashboards(settings)
    except superset.SupersetFailed as failed:
        print(f"qnwu: {failed}", file=sys.stderr)
        return 1
    print(f"{len(written)} files written into {superset.DASHBOARDS_DIR}: review them with git diff, then commit")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from qnwu_warehouse.contract.files import write_blank_template

    write_blank_template(Path(args.path))
    print(f"blank XLSX template written to {args.path}")
    return 0


def _cmd_webui(args: argparse.Namespace) -> int:
    from qnwu_warehouse.orchestration.airflow_runner import configure, migrate_metadata

    settings = Settings.from_env()
    settings.ensure_data_dir()
    configure(settings)
    migrate_metadata(settings)
    airflow = executable_beside_python("airflow")
    print(
        "Airflow UI on http://localhost:8080 (user admin; password in "
        f"{settings.airflow_home / 'simple_auth_manager_passwords.json.generated'})"
    )
    # `airflow standalone` starts its components as `airflow ...` found on PATH: put this
    # interpreter's bin folder (.venv/bin) first, which a fresh shell does not have on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), *os.get_exec_path()])
    os.execve(airflow, [airflow, "standalone"], {**os.environ, "PATH": path})
    return 0


def _cmd_deploy_local(args: argparse.Namespace) -> int:
    """docker-compose.yml's deployment as local processes, until Ctrl-C."""
    import time

    from qnwu_warehouse.orchestration.deployment import CeleryDeployment

    settings = Settings.from_env()
    deployment = CeleryDeployment(
        settings, metadata_database=args.metadata_database, broker_url=args.broker_url, api_port=args.port
    )
    deployment.prepare()
    with deployment.running(worker_concurrency=args.workers):
        print(
            f"Airflow (CeleryExecutor, metadata in PostgreSQL {args.metadata_database}, broker {args.broker_url}) "
            f"on http://localhost:{args.port}: user {deployment.admin_user}, password in "
            f"{deployment.passwords_file}; logs in {deployment.home / 'logs'}. Ctrl-C stops it."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping the services")
    return 0


def _operator_errors() -> tuple[type[Exception], ...]:
    """Failures an operator acts on from the message alone; anything else keeps its traceback."""
    from qnwu_warehouse.checks.quality import QualityGateFailed
    from qnwu_warehouse.ingest.isolation import WorkersUnavailable
    from qnwu_warehouse.ingest.loader import LedgerImbalance
    from qnwu_warehouse.orchestration.deployment import DeploymentFailed
    from qnwu_warehouse.publish.versioning import DisclosureRefused, NothingToPublish
    from qnwu_warehouse.serve.postgres_serving import MirrorError, ServingCheckFailed
    from qnwu_warehouse.transform.dbt_runner import DbtFailed
    from qnwu_warehouse.warehouse import WarehouseBusy

    return (
        LedgerImbalance,
        WorkersUnavailable,
        NothingToPublish,
        DisclosureRefused,
        QualityGateFailed,
        DbtFailed,
        WarehouseBusy,
        FileNotFoundError,
        MirrorError,
        ServingCheckFailed,
        DeploymentFailed,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qnwu", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the whole pipeline once through Airflow and print a summary")
    run.add_argument(
        "--demo", action="store_true", help="if the landing folder is empty, fill it with generated sample submissions first"
    )
    run.add_argument("--verbose", action="store_true", help="show Airflow's task logs on the terminal")
    run.set_defaults(handler=_cmd_run)

    generate = commands.add_parser("generate", help="generate realistic submission files (see --help)", add_help=False)
    generate.add_argument("generator_args", nargs=argparse.REMAINDER)
    generate.set_defaults(handler=_cmd_generate)

    bench = commands.add_parser("bench", help="benchmarks that print figures (see --help)", add_help=False)
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(handler=_cmd_bench)

    for stage, text in (
        ("ingest", "pull new files from the landing zone into raw"),
        ("build", "dbt build of the marts"),
        ("gate", "run the quality gate"),
        ("publish", "publish the working marts (normally only after the gate passed)"),
    ):
        sub = commands.add_parser(stage, help=text)
        sub.add_argument("--run-id")
        sub.set_defaults(handler=_cmd_stage, stage=stage)

    rebuild = commands.add_parser(
        "rebuild", help="repair: rebuild the marts from raw (dbt full refresh), then the whole gate and publish"
    )
    rebuild.add_argument("--run-id")
    rebuild.set_defaults(handler=_cmd_rebuild)

    sql = commands.add_parser("sql", help="query the published warehouse (read-only)")
    sql.add_argument("query")
    sql.add_argument("--max-rows", type=int, default=60)
    sql.set_defaults(handler=_cmd_sql)
    query = commands.add_parser("query", help="run a ready analyst query on the published warehouse (no NAME: list)")
    query.add_argument("name", nargs="?")
    query.add_argument("--format", choices=("table", "csv"), default="table")
    query.set_defaults(handler=_cmd_query)
    report = commands.add_parser("report", help="write the HTML report of the live published version")
    report.add_argument("--out", help="default: published/reports/<version>.html under the data directory")
    report.set_defaults(handler=_cmd_report)
    feedback = commands.add_parser("feedback", help="what happened to a unit's files, with reasons (vi/en)")
    feedback.add_argument("--unit", required=True)
    feedback.add_argument("--period", help="YYYY-MM")
    feedback.set_defaults(handler=_cmd_feedback)
    commands.add_parser("versions", help="list published versions (* = live)").set_defaults(handler=_cmd_versions)
    release = commands.add_parser("release", help="named releases: what was sent out, kept for good")
    release_commands = release.add_subparsers(dest="release_command", required=True)
    create = release_commands.add_parser("create", help="mark a published version (default: the live one) as a release")
    create.add_argument("name", help="for example '2023 annual report, sent 2024-01-10'")
    create.add_argument("--version", help="a kept version's file name (`qnwu versions`)")
    create.add_argument("--note")
    release_commands.add_parser("list", help="every release, with a check that its file is unchanged")
    release.set_defaults(handler=_cmd_release)
    history_parser = commands.add_parser("history", help="published figures as of a version, date or release; restatements")
    history_commands = history_parser.add_subparsers(dest="history_command", required=True)
    history_commands.add_parser("versions", help="every version ever published, with why it was made")
    figures = history_commands.add_parser("figures", help="the figures as a version published them (default: live)")
    figures_when = figures.add_mutually_exclusive_group()
    figures_when.add_argument("--version", type=int, help="version number (`qnwu history versions`)")
    figures_when.add_argument("--as-of", help="a date or time (ISO 8601, UTC when no zone): the version live then")
    figures_when.add_argument("--release", help="a release's name (`qnwu release list`)")
    figures.add_argument("--period", help="a period label: 2023, 2023-Q2 or 2023-05")
    figures.add_argument("--scope", help="a scope code: the province, a district or a unit")
    restated = history_commands.add_parser(
        "restatements", help="figures that changed between two versions, with the reports or rules behind each"
    )
    restated_from = restated.add_mutually_exclusive_group()
    restated_from.add_argument("--since-release", help="a release's name (default: the last release)")
    restated_from.add_argument("--from-version", type=int)
    restated.add_argument("--to-version", type=int, help="default: the live version")
    for sub in (figures, restated):
        sub.add_argument("--indicator", help="an indicator, target or club category code")
        sub.add_argument("--format", choices=("table", "csv"), default="table")
        sub.add_argument("--max-rows", type=int, default=60)
    history_parser.set_defaults(handler=_cmd_history, max_rows=60, format="table")
    rollback = commands.add_parser("rollback", help="serve an earlier published version again")
    rollback.add_argument("version")
    rollback.set_defaults(handler=_cmd_rollback)
    commands.add_parser("serve-postgres", help="serve the live published version from PostgreSQL (QNWU_PG_*)").set_defaults(
        handler=_cmd_serve_postgres
    )
    deploy = commands.add_parser(
        "deploy-local",
        help="run docker-compose.yml's Celery deployment as local processes (PostgreSQL metadata, Redis broker, a worker)",
    )
    deploy.add_argument("--metadata-database", default="airflow")
    deploy.add_argument("--broker-url", default="redis://127.0.0.1:6379/0")
    deploy.add_argument("--port", type=int, default=8080)
    deploy.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    deploy.set_defaults(handler=_cmd_deploy_local)
    commands.add_parser(
        "superset",
        help="start Apache Superset on the published marts with the dashboards in superset/dashboards (QNWU_SUPERSET_*)",
    ).set_defaults(handler=_cmd_superset)
    commands.add_parser(
        "superset-export",
        help="export Superset's dashboards, charts and datasets back into superset/dashboards (to commit)",
    ).set_defaults(handler=_cmd_superset_export)
    template = commands.add_parser("template", help="write the blank XLSX template units fill in")
    template.add_argument("path")
    template.set_defaults(handler=_cmd_template)
    commands.add_parser("webui", help="start Airflow locally (UI on :8080) with the DAGs loaded").set_defaults(
        handler=_cmd_webui
    )
    return parser


# Commands that hand every argument to a parser of their own. argparse's REMAINDER refuses a first
# argument that starts with "-" (so `qnwu generate --help` would fail); these bypass it.
PASS_THROUGH = {"generate": _cmd_generate, "bench": _cmd_bench}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASS_THROUGH:
        passed = argparse.Namespace(generator_args=argv[1:], bench_args=argv[1:])
        return PASS_THROUGH[argv[0]](passed)
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as problem:
        print(f"qnwu: configuration error: {problem}", file=sys.stderr)
        return 2
    except Exception as problem:
        # the operator errors' classes are imported only now: importing their modules up front
        # (ingest's pandas among them) took 0.25 s of every command's start, and the gate starts
        # Great Expectations' import only after it
        if not isinstance(problem, _operator_errors()):
            raise
        print(f"qnwu: {problem}", file=sys.stderr)
        return 1


# The garbage collector's thresholds for a `qnwu` process (Python's are 700, 10, 10).
COMMAND_GC_THRESHOLDS = (10_000, 20, 20)


def run() -> None:
    """The `qnwu` command: main() in a process of its own, which ends when main() returns.

    A command imports large libraries (Great Expectations and its pydantic models, pandas, dbt):
    hundreds of thousands of objects, all alive until the process ends. Python's cyclic garbage
    collector walked them some 550 times while a national year's `qnwu gate` ran (0.36 s), and
    once more as the interpreter shut down (0.5 s, after the gate's work was done). So a command
    collects less often, and what is alive when main() returns is frozen (gc.freeze) so that the
    collections at shutdown skip it. Finalizers and atexit handlers still run; the memory is
    returned by the end of the process, as it would be a moment later. main() itself, which the
    tests call in their own process, leaves the collector alone."""
    gc.set_threshold(*COMMAND_GC_THRESHOLDS)
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
