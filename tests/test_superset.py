"""Apache Superset as the warehouse's BI tool, for real: a warehouse built and published, served to
PostgreSQL (a database and an analyst role of this module's own), Superset started from
.superset-venv the way `qnwu superset` starts it (db upgrade, init, admin, connections, the
dashboards of superset/dashboards/ imported), then:

- each dashboard opened in headless chromium after logging in through the login page, with a
  screenshot (the paths are printed: pytest -s);
- the figures Superset's chart-data API returns for several charts equal the marts' own, queried
  directly (printed too); a hidden cell shows as "ẩn", never as 0;
- a new version published (the last month's reports arrive) shows on the next query and on a
  reload of the open dashboards, from PostgreSQL and from the DuckDB file swapped under Superset.

PostgreSQL must be reachable (127.0.0.1:5432); the test fails, never skips, if it is not.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2
import pytest
import yaml
from browser import DevToolsChromium
from psycopg2 import sql
from support import assert_one_line_error, build_warehouse, in_second_load, run_qnwu_cli, using_data_dir

from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.orchestration import pipeline
from qnwu_warehouse.orchestration.deployment import free_port
from qnwu_warehouse.serve import postgres_copy, postgres_serving
from qnwu_warehouse.serve import superset as superset_service
from qnwu_warehouse.settings import SupersetSettings
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow

LAST_MONTH = "2023-12"
SCREENSHOTS_FOR_REVIEW = Path("/tmp/qnwu-superset-screenshots")
BUNDLE = superset_service.DASHBOARDS_DIR


def _bundle_titles(kind: str, field: str) -> dict[str, str]:
    """{file stem: title} of the bundle's charts or dashboards (the test follows the YAML, not copies of it)."""
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))[field] for path in sorted((BUNDLE / kind).glob("*.yaml"))
    }


CHARTS = _bundle_titles("charts", "slice_name")
DASHBOARDS = {
    path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted((BUNDLE / "dashboards").glob("*.yaml"))
}

# the direct queries of the marts each compared chart must agree with
FUNDS_BY_PROGRAMME = """
    select t.period_label, i.programme_name_vi, sum(t.value)
    from marts.agg_indicators_by_period as t join marts.dim_indicators as i on i.indicator_code = t.indicator_code
    where i.fact = 'funds' and t.period_grain = 'year' and t.scope_level = 'province'
    group by 1, 2"""
REPORTS_RECEIVED_LATEST_YEAR = """
    select reports_received from marts.agg_reporting_completeness
    where period_grain = 'year' and scope_level = 'province' order by period_label desc limit 1"""
COMPLETENESS_BY_DISTRICT_MONTH = """
    select u.unit_name, c.period_label, round(cast(c.completeness_pct as numeric), 1)
    from marts.agg_reporting_completeness as c
    join marts.dim_units as u on u.unit_code = c.scope_code and u.unit_level = 'district'
        and u.valid_from <= make_date(cast(left(c.period_label, 4) as integer), 12, 1)
        and (u.valid_to is null or u.valid_to > make_date(cast(left(c.period_label, 4) as integer), 12, 1))
    where c.period_grain = 'month' and c.scope_level = 'district'"""
# a stock: the clubs open at the end of the latest year, added over club types (which partition
# them) and never over months (the month rows of the same year would give about twelve times as many)
CLUBS_AT_YEAR_END = """
    select sum(clubs_open_at_period_end) from marts.agg_clubs_by_period
    where period_grain = 'year' and scope_level = 'province' and club_category_level = 'type'
    group by period_label order by period_label desc limit 1"""
TARGET_PROGRESS = """
    select label_vi, value_is_suppressed, round(cast(achieved_value as numeric), 1), is_met, unit_of_measure
    from marts.agg_target_progress"""
HIDDEN_PROVINCE_TOTALS = """
    select i.label_vi from marts.agg_indicators_by_period as t join marts.dim_indicators as i using (indicator_code)
    where t.period_grain = 'year' and t.scope_level = 'province' group by 1 having bool_or(t.value_is_suppressed)"""


@dataclass
class Deployed:
    data_dir: Path
    environment: dict[str, str]
    serve_database: str
    analyst_role: str
    base_url: str
    admin_password: str

    def analyst(self):
        """The served marts as the analyst role, the way Superset reads them."""
        params = postgres_copy.connection_parameters()
        return psycopg2.connect(host=params["host"], port=params["port"], user=self.analyst_role, dbname=self.serve_database)

    def postgres_rows(self, query: str) -> list[tuple]:
        with self.analyst() as connection, connection.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()

    def duckdb_rows(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.data_dir / "published" / "warehouse.duckdb"), read_only=True) as connection:
            return connection.execute(query).fetchall()


class Api:
    """Superset's REST API as the admin (a JWT from /api/v1/security/login)."""

    def __init__(self, base_url: str, user: str, password: str):
        self.base_url = base_url
        answer = self.call("POST", "/api/v1/security/login", {"username": user, "password": password, "provider": "db"})
        self.token = answer["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if getattr(self, "token", None) else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base_url + path, method=method, headers=headers, data=None if body is None else json.dumps(body).encode()
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:1500]
            raise AssertionError(f"{method} {path}: HTTP {error.code}: {detail}") from None

    def chart_ids(self) -> dict[str, int]:
        listing = self.call("GET", "/api/v1/chart/?q=(page_size:100)")["result"]
        return {chart["slice_name"]: chart["id"] for chart in listing}

    def chart_rows(self, chart_key: str) -> list[dict]:
        """The rows Superset's chart-data API returns for a chart of the bundle (its saved query)."""
        chart_id = self.chart_ids()[CHARTS[chart_key]]
        # no force=true: nothing cached may hide a new version
        result = self.call("GET", f"/api/v1/chart/{chart_id}/data/")["result"]
        assert len(result) == 1 and not result[0].get("error"), result
        return result[0]["data"]


def _require_postgres() -> None:
    try:
        postgres_copy.connect("postgres").close()
    except postgres_copy.MirrorError as problem:
        pytest.fail(f"PostgreSQL (5432) is required here and is not reachable: {problem}", pytrace=False)


def _hold_back(held: Path):
    def prepare_landing(landing: Path) -> None:
        held.mkdir(parents=True, exist_ok=True)
        for path in sorted(landing.iterdir()):
            if path.is_file() and in_second_load(path, LAST_MONTH):
                shutil.move(path, held / path.name)

    return prepare_landing


def _wait_until_up(base_url: str, server: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"Superset exited ({server.returncode}):\n{log.read_text(errors='replace')[-3000:]}"
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"Superset did not answer /health within {seconds} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    _require_postgres()
    suffix = secrets.token_hex(4)
    root = tmp_path_factory.mktemp("superset")
    data_dir = root / "data"
    environment = {
        "QNWU_PG_DATABASE": f"qnwu_test_superset_{suffix}",
        "QNWU_PG_ANALYST_ROLE": f"qnwu_test_superset_analyst_{suffix}",
        "QNWU_SUPERSET_PORT": str(free_port()),
        "QNWU_SUPERSET_ADMIN_USER": "admin",
        "QNWU_SUPERSET_ADMIN_PASSWORD": secrets.token_urlsafe(12),
    }
    started = time.monotonic()
    held_back = _hold_back(root / "held_back")
    build_warehouse(data_dir, "superset-1", publish=True, prepare_landing=held_back, units=30, months=12)
    server = None
    try:
        with using_data_dir(data_dir, **environment) as settings:
            postgres_serving.publish_to_postgres(settings)
            print(f"\nwarehouse built, published and served to PostgreSQL in {time.monotonic() - started:.1f} s")
            steps = superset_service.prepare(settings)
            print("superset start-up steps: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items()))
            log = superset_service.home(settings) / "logs" / "server.log"
            with log.open("wb") as output:
                server = superset_service.start_server(settings, stdout=output, stderr=subprocess.STDOUT)
            base_url = f"http://127.0.0.1:{SupersetSettings.from_env().port}"
            _wait_until_up(base_url, server, log)
            print(f"superset serving on {base_url} {time.monotonic() - started:.1f} s after the start of the fixture")
        yield Deployed(
            data_dir,
            environment,
            environment["QNWU_PG_DATABASE"],
            environment["QNWU_PG_ANALYST_ROLE"],
            base_url,
            environment["QNWU_SUPERSET_ADMIN_PASSWORD"],
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        postgres_copy.drop_database(environment["QNWU_PG_DATABASE"])
        with postgres_copy.connect("postgres") as pg, pg.cursor() as cur:
            cur.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(environment["QNWU_PG_ANALYST_ROLE"])))
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def api(deployed) -> Api:
    return Api(deployed.base_url, "admin", deployed.admin_password)


@pytest.fixture(scope="module")
def browser(tmp_path_factory, deployed):
    chromium = DevToolsChromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        chromium._send("Network.enable", session=True)  # every request the pages make, for _outside_requests
        chromium.open(deployed.base_url + "/login/", 1400)
        _wait_for(chromium, "!!document.querySelector('#username') && !!document.querySelector('#password')")
        time.sleep(2)  # the page's images
        chromium.evaluate("1")
        chromium.login_page_outside_requests = _outside_requests(chromium, deployed.base_url)
        for selector, text in (("#username", "admin"), ("#password", deployed.admin_password)):
            chromium.evaluate(f"document.querySelector('{selector}').focus()")
            chromium._send("Input.insertText", session=True, text=text)
        chromium.evaluate("document.querySelector('[data-test=login-button]').click()")
        _wait_for(chromium, "!location.pathname.startsWith('/login')")
        yield chromium
    finally:
        chromium.close()


def _wait_for(browser: DevToolsChromium, expression: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if browser.evaluate(expression):
            return
        time.sleep(0.5)
    raise AssertionError(f"not true within {seconds} s: {expression}; page: {browser.evaluate('location.href')}")


def _outside_requests(browser: DevToolsChromium, base_url: str) -> list[tuple[str, str | None]]:
    """Requests of the page opened last to any other host, each with why it failed ('csp': the
    browser refused it by the Content-Security-Policy of superset_config.py; None: it did not fail)."""
    urls, failed = {}, {}
    for event in browser._events:
        params = event.get("params", {})
        if event.get("method") == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if url.startswith(("http:", "https:")) and not url.startswith(base_url):
                urls[params["requestId"]] = url
        elif event.get("method") == "Network.loadingFailed":
            failed[params["requestId"]] = params.get("blockedReason") or params.get("errorText")
    return [(url, failed.get(request)) for request, url in urls.items()]


def _open_dashboard(browser: DevToolsChromium, deployed: Deployed, key: str) -> dict:
    """Open a dashboard, wait until every chart has drawn, and return what is on the page."""
    dashboard = DASHBOARDS[key]
    charts = sum(1 for item in dashboard["position"].values() if isinstance(item, dict) and item.get("type") == "CHART")
    browser.open(f"{deployed.base_url}/superset/dashboard/{dashboard['slug']}/?standalone=1", 1400, 2000)
    _wait_for(browser, f"document.querySelectorAll('[data-test=chart-container]').length >= {charts}")
    _wait_for(browser, "document.querySelectorAll('.loading, [aria-label=loading]').length === 0")
    time.sleep(1.5)  # the charts' own animations
    return browser.evaluate(
        "({title: document.title, charts: document.querySelectorAll('[data-test=chart-container]').length,"
        " errors: [...document.querySelectorAll('[data-test=error-message], .alert-danger')].map(e => e.textContent),"
        " text: document.body.innerText})"
    ) | {"expected_charts": charts, "outside_requests": _outside_requests(browser, deployed.base_url)}


def _screenshot(browser: DevToolsChromium, path: Path) -> Path:
    """The 1400 x 2000 viewport (the dashboard scrolls inside its own box, which a full-page capture misses)."""
    import base64

    path.write_bytes(base64.b64decode(browser._send("Page.captureScreenshot", session=True, format="png")["data"]))
    assert path.stat().st_size > 30_000, "the screenshot is (nearly) blank"
    SCREENSHOTS_FOR_REVIEW.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SCREENSHOTS_FOR_REVIEW / path.name)
    print(f"screenshot: {SCREENSHOTS_FOR_REVIEW / path.name}")
    return path


def vi_int(value) -> str:
    return f"{int(value):,}".replace(",", ".")


# --- the checks ------------------------------------------------------------------------------


def test_superset_runs_the_locked_version_with_the_bundle_imported(deployed, api):
    lock = (superset_service.SUPERSET_DIR / "requirements.lock").read_text(encoding="utf-8")
    main_lock = (superset_service.SUPERSET_DIR.parent / "requirements.lock").read_text(encoding="utf-8")
    assert "apache-superset==6.1.0" in lock
    duckdb_pin = next(line for line in main_lock.splitlines() if line.startswith("duckdb=="))
    assert duckdb_pin in lock.splitlines(), "Superset's duckdb must be the pipeline's: the published file must open"
    dashboards = {item["dashboard_title"] for item in api.call("GET", "/api/v1/dashboard/?q=(page_size:100)")["result"]}
    assert dashboards == {dashboard["dashboard_title"] for dashboard in DASHBOARDS.values()}
    assert set(api.chart_ids()) == set(CHARTS.values())
    databases = api.call("GET", "/api/v1/database/?q=(page_size:100)")["result"]
    backends = sorted(database["backend"] for database in databases)
    assert backends == ["duckdb", "postgresql"], backends
    for database in databases:
        detail = api.call("GET", f"/api/v1/database/{database['id']}/connection")["result"]
        uri = detail["sqlalchemy_uri"]
        if database["backend"] == "postgresql":  # the read-only analyst role, never the loading role
            assert f"//{deployed.analyst_role}" in uri and deployed.serve_database in uri, uri
        else:
            assert uri.endswith("/published/warehouse.duckdb?access_mode=read_only"), uri


def test_every_dashboard_opens_in_chromium_after_logging_in(deployed, browser, tmp_path):
    for key, dashboard in DASHBOARDS.items():
        page = _open_dashboard(browser, deployed, key)
        assert page["title"] == dashboard["dashboard_title"]
        assert page["charts"] == page["expected_charts"], page["charts"]
        assert page["errors"] == [], page["errors"]
        assert [request for request in page["outside_requests"] if request[1] != "csp"] == [], page["outside_requests"]
        _screenshot(browser, tmp_path / f"superset-{key}.png")
    # the overview's table of province totals says "ẩn" where a total is hidden, never 0
    hidden = [label for (label,) in deployed.postgres_rows(HIDDEN_PROVINCE_TOTALS)]
    assert hidden, "the sample has no hidden province total: the check below would prove nothing"
    overview = _open_dashboard(browser, deployed, "tong_quan_tinh")["text"]
    for label in hidden:
        line = next(line for line in overview.splitlines() if label in line)
        assert "\tẩn\t" in line, line


def test_the_browser_fetches_nothing_from_the_internet(browser):
    """Superset 6.1's login page carries a telemetry pixel (apachesuperset.gateway.scarf.sh): the
    browser must refuse it, and anything else from another host, by the Content-Security-Policy."""
    outside = browser.login_page_outside_requests
    print(f"\nrequests of the login page to other hosts: {outside}")
    assert [request for request in outside if request[1] != "csp"] == [], outside


def _funds_chart(api: Api, key: str) -> dict[tuple, int]:
    return {(row["nam"], row["chuong_trinh"]): row["Số tiền (VND)"] for row in api.chart_rows(key)}


def _figures(api: Api, deployed: Deployed) -> dict[str, tuple]:
    """(what Superset's chart-data API returns, what the marts hold) for each compared chart."""
    completeness_rows = api.chart_rows("day_du_huyen_thang")
    completeness_chart = {(row["don_vi"], row["ky"]): row["Tỉ lệ đầy đủ (%)"] for row in completeness_rows}
    targets_chart = {row["muc_tieu"]: (row["dat_duoc"], row["ket_qua"]) for row in api.chart_rows("tien_do_muc_tieu")}
    targets_marts = {}
    for label, hidden, achieved, met, unit in deployed.postgres_rows(TARGET_PROGRESS):
        if hidden:
            targets_marts[label] = ("ẩn", "ẩn")
        else:
            shown = f"{achieved} %" if unit == "percent" else str(round(achieved))
            targets_marts[label] = (shown, "Đạt" if met else "Chưa đạt")
    return {
        "funds by programme (PostgreSQL)": (
            _funds_chart(api, "quy_theo_chuong_trinh"),
            {(year, programme): int(value) for year, programme, value in deployed.postgres_rows(FUNDS_BY_PROGRAMME)},
        ),
        "reports received, latest year (PostgreSQL)": (
            api.chart_rows("so_bao_cao_da_nhan")[0]["Báo cáo đã nhận"],
            deployed.postgres_rows(REPORTS_RECEIVED_LATEST_YEAR)[0][0],
        ),
        "clubs open at the end of the latest year (PostgreSQL)": (
            api.chart_rows("clb_cuoi_nam")[0]["Câu lạc bộ"],
            int(deployed.postgres_rows(CLUBS_AT_YEAR_END)[0][0]),
        ),
        "completeness % by district and month (PostgreSQL)": (
            completeness_chart,
            {(name, month): float(pct) for name, month, pct in deployed.postgres_rows(COMPLETENESS_BY_DISTRICT_MONTH)},
        ),
        "progress against the 2024 targets (PostgreSQL)": (targets_chart, targets_marts),
        "funds by programme (DuckDB file)": (
            _funds_chart(api, "quy_theo_chuong_trinh_duckdb"),
            {(year, programme): int(value) for year, programme, value in deployed.duckdb_rows(FUNDS_BY_PROGRAMME)},
        ),
    }


def _show(title: str, figures: dict[str, tuple]) -> None:
    print(f"\n{title}")
    for name, (chart, marts) in figures.items():
        shown = chart
        if isinstance(chart, dict) and len(chart) > 4:  # a district × month grid: its size, three cells of the last month
            last = sorted(key for key in chart if key[1] == max(month for _, month in chart))[:3]
            shown = f"{len(chart)} cells, e.g. " + str({key: chart[key] for key in last})
        print(f"  {name}: chart {shown} | marts {'same' if chart == marts else marts}")


FIRST: dict[str, tuple] = {}


def test_charts_return_the_figures_of_the_marts(deployed, api):
    figures = _figures(api, deployed)
    _show("figures compared, first version:", figures)
    for name, (chart, marts) in figures.items():
        assert chart == marts, name
    targets = figures["progress against the 2024 targets (PostgreSQL)"][0]
    assert ("ẩn", "ẩn") in targets.values(), "no hidden target in the sample: the 'ẩn, never 0' check proves nothing"
    FIRST.update(figures)


def test_a_new_publish_shows_on_the_next_query_and_reload(deployed, api, browser, tmp_path):
    assert FIRST, "runs after test_charts_return_the_figures_of_the_marts"
    overview_before = _open_dashboard(browser, deployed, "tep_duckdb")  # a dashboard open on the DuckDB file
    held = deployed.data_dir.parent / "held_back"
    landing = deployed.data_dir / "landing"
    for path in held.iterdir():
        shutil.move(path, landing / path.name)
    published_inode = (deployed.data_dir / "published" / "warehouse.duckdb").stat().st_ino
    with using_data_dir(deployed.data_dir, **deployed.environment) as settings:
        ingest(settings, load_id="superset-2")
        dbt_runner.build(settings)
        pipeline.publish_stage("superset-2", pipeline.gate_stage("superset-2"))
        postgres_serving.publish_to_postgres(settings)
    assert (deployed.data_dir / "published" / "warehouse.duckdb").stat().st_ino != published_inode, "no new file swapped in"

    figures = _figures(api, deployed)
    _show(f"figures compared after publishing {LAST_MONTH}:", figures)
    for name, (chart, marts) in figures.items():
        assert chart == marts, name
    for name in (
        "funds by programme (PostgreSQL)",
        "reports received, latest year (PostgreSQL)",
        "completeness % by district and month (PostgreSQL)",
        "funds by programme (DuckDB file)",
    ):
        assert figures[name][1] != FIRST[name][1], f"{name}: the new version did not change it, so this proves nothing"

    # the open dashboards, reloaded, show the new figures
    received = figures["reports received, latest year (PostgreSQL)"][1]
    overview = _open_dashboard(browser, deployed, "tong_quan_tinh")
    assert vi_int(received) in overview["text"].split("\n"), f"{received} reports not shown after the reload"
    duckdb_page = _open_dashboard(browser, deployed, "tep_duckdb")
    assert duckdb_page["errors"] == []
    for (_, programme), amount in figures["funds by programme (DuckDB file)"][1].items():
        assert vi_int(amount) in duckdb_page["text"], (programme, amount)
    assert duckdb_page["text"] != overview_before["text"]
    _screenshot(browser, tmp_path / "superset-tep_duckdb-after-publish.png")


def test_export_writes_the_dashboards_back_under_their_names(deployed, tmp_path):
    """`qnwu superset-export`: what Superset holds, written over a copy of the folder in git."""
    copy = tmp_path / "dashboards"
    shutil.copytree(BUNDLE, copy)
    before = {path.relative_to(copy): yaml.safe_load(path.read_text(encoding="utf-8")) for path in copy.rglob("*.yaml")}
    with using_data_dir(deployed.data_dir, **deployed.environment) as settings:
        written = superset_service.export_dashboards(settings, copy)
    after = {path.relative_to(copy): yaml.safe_load(path.read_text(encoding="utf-8")) for path in copy.rglob("*.yaml")}
    assert set(after) == set(before), "the export added or renamed files"
    assert {path.relative_to(copy) for path in written} == set(before)
    for name, config in before.items():
        for field in ("uuid", "slice_name", "dashboard_title", "sql", "sqlalchemy_uri", "position"):
            if field in config:
                assert after[name][field] == config[field], (name, field)
        if isinstance(config.get("params"), dict):  # a chart's settings, but for the datasource id of this machine
            assert {**after[name]["params"], "datasource": None} == {**config["params"], "datasource": None}, name
    print(f"\nexported {len(written)} files; every uuid went back to its file in git")


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("QNWU_SUPERSET_PORT", "80800", ["QNWU_SUPERSET_PORT", "80800", "8088"]),
        ("QNWU_SUPERSET_ADMIN_PASSWORD", "short", ["QNWU_SUPERSET_ADMIN_PASSWORD", "8 characters"]),
        ("QNWU_SUPERSET_SECRET_KEY", "too-short", ["QNWU_SUPERSET_SECRET_KEY", "32 characters"]),
        ("QNWU_SUPERSET_ADMIN_USER", "ad min", ["QNWU_SUPERSET_ADMIN_USER", "'ad min'"]),
        ("QNWU_SUPERSET_VENV", "/nonexistent/venv", ["/nonexistent/venv/bin/superset", "bin/setup"]),
    ],
)
def test_a_bad_superset_setting_stops_qnwu_superset_with_one_line(tmp_path, variable, value, words):
    assert_one_line_error(run_qnwu_cli(["superset"], QNWU_DATA_DIR=str(tmp_path), **{variable: value}), *words)
