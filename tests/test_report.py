"""The ready analyst queries and the HTML report of a published version.

One small warehouse is built and published once for the whole run (conftest.shared_warehouse:
generated submissions for 40 units, with three units' July taken out so completeness has gaps;
real ingestion, dbt build, quality gate and publish), and this module reads its own copy. Each
query then runs read-only against the published file and is compared with the same figure
computed another way: from the fact tables of the working warehouse, which hold the exact,
unsuppressed values. The report is rendered in Debian's chromium: at desktop width its DOM
(`--dump-dom`) must show exactly what the queries return; at phone width (390 px, emulated over
the DevTools pipe because chromium's headless window cannot be narrower than 500 px) the page
must not overflow sideways. Screenshots of both go to the test's tmp dir and to
/tmp/qnwu-report-screenshots/.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from article_figures import FIGURE_SQL, meets
from browser import DevToolsChromium, chromium_binary, chromium_flags
from support import using_data_dir

from qnwu_devtools.data_dirs import copy_data_dir
from qnwu_warehouse import cli
from qnwu_warehouse.publish import versioning
from qnwu_warehouse.serve import analyst_queries, report
from qnwu_warehouse.settings import Settings

pytestmark = pytest.mark.slow

YEAR = 2023
REFERENCE_FIGURES = Path(__file__).parent / "data" / "reference_figures_2023.csv"
TARGETS = Path(__file__).resolve().parents[1] / "seeds" / "targets.csv"
SCREENSHOTS_FOR_REVIEW = Path("/tmp/qnwu-report-screenshots")
PHONE_WIDTH, DESKTOP_WIDTH = 390, 1280
REPORT_HEADINGS = (
    "Số liệu nổi bật",
    "Tình hình gửi báo cáo theo huyện và tháng",
    "Người hưởng lợi theo chương trình và huyện",
    "Quỹ vận động, giải ngân theo chương trình và huyện",
    "Câu lạc bộ, mô hình theo loại",
    "Tiến độ thực hiện chỉ tiêu",
    "Đối chiếu số liệu bài viết năm 2023",
    "Ghi chú",
)


@pytest.fixture(scope="module")
def built(shared_warehouse, tmp_path_factory) -> Settings:
    """This module's copy of the shared warehouse (conftest.py): the report writes into it."""
    data_dir = tmp_path_factory.mktemp("report") / "data"
    copy_data_dir(shared_warehouse, data_dir)
    with using_data_dir(data_dir) as settings:
        return settings


@pytest.fixture(scope="module")
def version_file(built) -> Path:
    return versioning.current_version(built)


@pytest.fixture(scope="module")
def results(version_file) -> dict[str, list[dict]]:
    """Every ready query's rows, read from the published version."""
    with analyst_queries.connect_published(version_file) as con:
        return {name: analyst_queries.run(con, name) for name in analyst_queries.names()}


@pytest.fixture(scope="module")
def exact(built):
    """The working warehouse, read-only: the exact figures, before small cells are blanked."""
    con = duckdb.connect(str(built.working_warehouse), read_only=True)
    yield con
    con.close()


def year_rows(results: dict, name: str) -> list[dict]:
    return [row for row in results[name] if row["report_year"] == YEAR]


def province_year_total(exact, indicator: str) -> int | None:
    """An indicator's exact province total for the year from unit-level facts: flows summed over the
    months, stocks taken from each unit's last month of the year."""
    time_aggregation = exact.execute(
        "select time_aggregation from marts.dim_indicators where indicator_code = ?", [indicator]
    ).fetchone()[0]
    if time_aggregation == "sum":
        return exact.execute(
            "select sum(value) from marts.fct_indicator_values where indicator_code = ? and period like ?",
            [indicator, f"{YEAR}-%"],
        ).fetchone()[0]
    return exact.execute(
        """select sum(value) from (
            select value, row_number() over (partition by unit_code, category order by period desc) as recency
            from marts.fct_indicator_values where indicator_code = ? and period like ?) where recency = 1""",
        [indicator, f"{YEAR}-%"],
    ).fetchone()[0]


def shown_share(exact_pct: float) -> float:
    """A share as the queries must show it: one decimal, never 100 unless complete, never 0 unless none."""
    rounded = math.floor(exact_pct * 10 + 0.5) / 10  # half away from zero, as SQL's round() (6.25 -> 6.3)
    if 0 < exact_pct < 100:
        rounded = min(max(rounded, 0.1), 99.9)
    return rounded


def assert_share(shown: float, numerator: int, denominator: int) -> None:
    exact_pct = 100.0 * numerator / denominator
    assert shown == pytest.approx(shown_share(exact_pct)), (shown, numerator, denominator)
    assert (shown == 100) == (numerator == denominator)


# ---------------------------------------------------------------------------------------------
# The queries


def test_the_queries_are_the_ones_analysts_were_promised():
    assert set(analyst_queries.names()) == {
        "province_summary",
        "completeness_by_district_month",
        "target_progress",
        "article_figures_2023",
        "indicators_by_programme_district",
        "clubs_by_type",
        "missing_reports",
    }
    for name in analyst_queries.names():
        assert " / " in analyst_queries.description(name), f"{name}: first line must be a vi / en title"


def test_every_query_runs_read_only_on_the_published_file(version_file, results):
    before = hashlib.sha256(version_file.read_bytes()).hexdigest()
    for name, rows in results.items():
        assert rows, f"{name} returned nothing"
    with analyst_queries.connect_published(version_file) as con, pytest.raises(duckdb.Error):
        con.execute("create table marts.scratch as select 1")
    assert hashlib.sha256(version_file.read_bytes()).hexdigest() == before


def test_the_duckdb_command_line_reads_the_published_file_and_cannot_write_it(version_file, results):
    """README: DuckDB 1.4+ clients (the CLI in .venv, BI drivers) open the published file read-only."""
    cli = Path(sys.executable).with_name("duckdb")
    query = (analyst_queries.QUERIES_DIR / "province_summary.sql").read_text(encoding="utf-8")
    done = subprocess.run(
        [str(cli), "-readonly", "-csv", str(version_file)], input=query, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == len(results["province_summary"]) + 1  # + the header
    refused = subprocess.run(
        [str(cli), "-readonly", str(version_file), "-c", "create table marts.scratch (x int)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "read-only" in (refused.stdout + refused.stderr).lower()


def test_province_summary_equals_the_exact_facts(results, exact):
    rows = {row["item_code"]: row for row in year_rows(results, "province_summary")}
    expected, received, on_time = exact.execute(
        "select count(*), count(*) filter (where is_received), count(*) filter (where is_on_time) "
        "from marts.fct_reporting_completeness where period like ?",
        [f"{YEAR}-%"],
    ).fetchone()
    assert (rows["reports_expected"]["value"], rows["reports_received"]["value"], rows["reports_on_time"]["value"]) == (
        expected,
        received,
        on_time,
    )
    assert received < expected, "the fixture took July out for three units"
    assert_share(rows["reports_received"]["pct"], received, expected)
    assert_share(rows["reports_on_time"]["pct"], on_time, expected)
    for code, sensitive in exact.execute("select indicator_code, is_sensitive from marts.dim_indicators").fetchall():
        if rows[code]["value_is_suppressed"]:  # a hidden category of victims: unknown, never a partial sum
            assert sensitive and rows[code]["value"] is None, code
        else:
            assert rows[code]["value"] == province_year_total(exact, code), code


def test_missing_reports_lists_the_units_that_sent_nothing(results, exact):
    listed = {(row["period"], row["unit_code"]) for row in results["missing_reports"]}
    expected = set(
        exact.execute("select period, unit_code from marts.fct_reporting_completeness where not is_received").fetchall()
    )
    assert listed == expected
    # the three units whose July the fixture took out are among them, named
    july = [row for row in results["missing_reports"] if row["period"] == f"{YEAR}-07"]
    assert len(july) >= 3 and all(row["unit_name"] and row["district_name"] for row in july)


def test_completeness_by_district_and_month_equals_the_expected_reports(results, exact):
    rows = year_rows(results, "completeness_by_district_month")
    counted = {
        (district, period): (expected, received, on_time)
        for district, period, expected, received, on_time in exact.execute(
            """select district_code, period, count(*), count(*) filter (where is_received),
                                       count(*) filter (where is_on_time)
                                from marts.fct_reporting_completeness where period like ?
                                group by district_code, period""",
            [f"{YEAR}-%"],
        ).fetchall()
    }
    districts = [row for row in rows if row["scope_level"] == "district" and row["period_grain"] == "month"]
    assert {(row["scope_code"], row["period_label"]) for row in districts} == set(counted)
    for row in districts:
        expected, received, on_time = counted[(row["scope_code"], row["period_label"])]
        assert (row["reports_expected"], row["reports_received"], row["reports_on_time"]) == (expected, received, on_time)
        assert_share(row["completeness_pct"], received, expected)
        assert_share(row["timeliness_pct"], on_time, expected)
        assert row["scope_name_vi"], row
    assert any(row["completeness_pct"] < 100 for row in districts if row["period_label"] == f"{YEAR}-07")
    province_months = [row for row in rows if row["scope_level"] == "province" and row["period_grain"] == "month"]
    assert len(province_months) == 12


def test_target_progress_equals_the_indicator_totals(results, exact):
    with TARGETS.open(encoding="utf-8", newline="") as handle:
        targets = {row["target_code"]: row for row in csv.DictReader(handle)}
    rows = {row["target_code"]: row for row in year_rows(results, "target_progress")}
    assert set(rows) == set(targets)
    for code, target in targets.items():
        if rows[code]["value_is_suppressed"]:  # judged on a hidden total of victims (docs/privacy.md)
            assert (rows[code]["achieved_value"], rows[code]["is_met"]) == (None, None), code
            assert None in (rows[code]["numerator_value"], rows[code]["denominator_value"]), code
            continue
        numerator = province_year_total(exact, target["numerator_indicator_code"])
        assert rows[code]["numerator_value"] == numerator, code
        if target["denominator_indicator_code"]:
            denominator = province_year_total(exact, target["denominator_indicator_code"])
            assert rows[code]["denominator_value"] == denominator, code
            achieved = 100.0 * numerator / denominator
        else:
            achieved = float(numerator)
        assert rows[code]["achieved_value"] == pytest.approx(shown_share(achieved))
        assert rows[code]["is_met"] == (achieved >= float(target["target_value"]))


def test_indicators_by_district_blank_small_cells_and_never_show_them_as_zero(results, exact, built):
    """A district total with a hidden part (a small count, or a cell hidden beside one: see
    docs/privacy.md) is unknown: null, never 0 and never the sum of the parts that show."""
    threshold = built.small_cell_threshold
    exact_parts = {}
    for district, indicator, category, value in exact.execute(
        """select district_code, indicator_code, category, sum(value) from marts.fct_indicator_values
               where period like ? and time_aggregation = 'sum' group by all""",
        [f"{YEAR}-%"],
    ).fetchall():
        exact_parts.setdefault((district, indicator), {})[category] = value
    hidden = {
        (code, indicator, category)
        for code, indicator, category in exact.execute(
            """select cells.scope_code, cells.indicator_code, cells.category
           from disclosure.disclosure_hidden_cells as hidden
           inner join disclosure.disclosure_sensitive_cells as cells using (cell_id)
           where cells.scope_level = 'district' and cells.period_grain = 'year' and cells.period_label = ?""",
            [str(YEAR)],
        ).fetchall()
    }
    rows = [
        row
        for row in year_rows(results, "indicators_by_programme_district")
        if row["scope_level"] == "district" and (row["scope_code"], row["indicator_code"]) in exact_parts
    ]
    assert rows
    suppressed = 0
    for row in rows:
        parts = exact_parts[(row["scope_code"], row["indicator_code"])]
        hidden_parts = {c for c in parts if (row["scope_code"], row["indicator_code"], c) in hidden}
        assert {c for c, part in parts.items() if 0 < part < threshold and row["is_sensitive"]} <= hidden_parts
        if hidden_parts:
            suppressed += 1
            assert row["value"] is None, row  # unknown, never 0 and never a partial sum
            assert row["suppressed_parts"] == len(hidden_parts)
            assert row["published_part_value"] == sum(part for c, part in parts.items() if c not in hidden_parts)
        else:
            assert row["value"] == sum(parts.values()), row
            assert row["suppressed_parts"] == 0
    assert suppressed > 0, "the fixture should have some small sensitive district cells"


def test_clubs_by_type_equal_the_year_end_registers(results, exact):
    open_at_year_end = {
        code: (clubs, members)
        for code, clubs, members in exact.execute(
            """with last_register as (
               select unit_code, max(period) as period from marts.fct_club_snapshots where period like ? group by unit_code)
           select club_type_code, count(*), sum(members) from marts.fct_club_snapshots
           inner join last_register using (unit_code, period)
           where is_open_at_period_end group by club_type_code""",
            [f"{YEAR}-%"],
        ).fetchall()
    }
    new_in_year = dict(
        exact.execute(
            """select club_type_code, count(distinct unit_code || ':' || club_id) from marts.fct_club_snapshots
           where period like ? and is_new group by club_type_code""",
            [f"{YEAR}-%"],
        ).fetchall()
    )
    rows = [row for row in year_rows(results, "clubs_by_type") if row["scope_level"] == "province"]
    assert {row["club_type_code"] for row in rows} == set(open_at_year_end) | set(new_in_year)
    for row in rows:
        code = row["club_type_code"]
        assert (row["clubs_open_at_year_end"], row["members_at_year_end"]) == open_at_year_end.get(code, (0, 0)), code
        assert row["clubs_new_in_year"] == new_in_year.get(code, 0), code


def test_article_figures_agree_with_the_article_test_and_the_article(results, version_file):
    with REFERENCE_FIGURES.open(encoding="utf-8", newline="") as handle:
        article = {row["figure_id"]: row for row in csv.DictReader(handle)}
    rows = {row["figure_id"]: row for row in results["article_figures_2023"]}
    assert set(rows) == set(FIGURE_SQL)  # the figures unit reports can carry, no more, no less
    with analyst_queries.connect_published(version_file) as con:
        for figure_id, row in rows.items():
            assert row["article_value"] == float(article[figure_id]["value"]), figure_id
            assert row["comparator"] == article[figure_id]["comparator"], figure_id
            computed = con.execute(FIGURE_SQL[figure_id]).fetchone()[0]
            assert row["computed_value"] == (None if computed is None else float(computed)), figure_id
            if computed is not None:
                assert row["meets_article"] == meets(float(computed), row["article_value"], row["comparator"]), figure_id


def test_qnwu_sql_answers_bad_sql_with_duckdbs_message_not_a_traceback(built, monkeypatch, capsys):
    monkeypatch.setenv("QNWU_DATA_DIR", str(built.data_dir))
    assert cli.main(["sql", "select count(*) from disclosure.disclosure_sensitive_cells"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("qnwu sql: Catalog Error") and "Traceback" not in said, said
    assert cli.main(["sql", "select count(*) as n from marts.dim_indicators"]) == 0
    assert "17" in capsys.readouterr().out


def test_qnwu_query_lists_and_prints_csv(built, results, monkeypatch, capsys):
    monkeypatch.setenv("QNWU_DATA_DIR", str(built.data_dir))
    assert cli.main(["query"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in analyst_queries.names())
    assert cli.main(["query", "target_progress", "--format", "csv"]) == 0
    printed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["target_code"] for row in printed] == [row["target_code"] for row in results["target_progress"]]
    assert [float(row["achieved_value"]) if row["achieved_value"] else None for row in printed] == [
        row["achieved_value"] for row in results["target_progress"]
    ]
    assert cli.main(["query", "no_such_query"]) == 2
    assert "ready queries" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The report


@pytest.fixture(scope="module")
def report_file(version_file, tmp_path_factory) -> Path:
    before = hashlib.sha256(version_file.read_bytes()).hexdigest()
    path = report.write_report(version_file, tmp_path_factory.mktemp("html") / "report.html", version_file.name)
    assert hashlib.sha256(version_file.read_bytes()).hexdigest() == before  # read-only
    return path


def test_the_report_is_self_contained(report_file):
    html = report_file.read_text(encoding="utf-8")
    assert '<html lang="vi">' in html
    assert not re.search(r"""\b(?:src|href)\s*=\s*["'](?!#)""", html), "only in-page links: nothing to fetch"
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert "<svg" in html and "<style>" in html


def test_qnwu_report_writes_the_live_version(built, version_file, monkeypatch, capsys):
    monkeypatch.setenv("QNWU_DATA_DIR", str(built.data_dir))
    assert cli.main(["report"]) == 0
    written = built.published_dir / "reports" / f"{version_file.stem}.html"
    assert str(written) in capsys.readouterr().out
    assert version_file.name in written.read_text(encoding="utf-8")


class RenderedFigures(HTMLParser):
    """What a browser rendered: each data-figure's data-value and visible text, and the headings."""

    VOID = {"meta", "link", "br", "img", "input", "hr", "col", "wbr", "source", "area", "base", "embed", "track"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.open: list[list] = []
        self.figures: dict[str, tuple[str, str]] = {}
        self.headings: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            attributes = dict(attrs)
            self.open.append([tag, attributes.get("data-figure"), attributes.get("data-value"), []])

    def handle_data(self, data):
        for element in self.open:
            element[3].append(data)

    def handle_endtag(self, tag):
        while self.open:
            name, figure, value, text = self.open.pop()
            text = re.sub(r"\s+", " ", "".join(text)).strip()
            if figure:
                self.figures[figure] = (value, text)
            if name in ("h1", "h2"):
                self.headings.append(text)
            if name == tag:
                break


def vi_int(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def vi_share(value: float) -> str:
    return f"{value:.0f}" if value in (0, 100) else f"{value:.1f}".replace(".", ",")


def test_the_report_shows_what_the_queries_return(report_file, results, tmp_path):
    dom = subprocess.run(
        [
            chromium_binary(),
            *chromium_flags(tmp_path / "profile"),
            f"--window-size={DESKTOP_WIDTH},900",
            "--dump-dom",
            report_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    rendered = RenderedFigures(dom)
    for heading in REPORT_HEADINGS:
        assert heading in rendered.headings, heading
    figures = rendered.figures

    summary = {row["item_code"]: row for row in year_rows(results, "province_summary")}
    assert figures["glance:completeness_pct"] == (
        str(summary["reports_received"]["pct"]),
        vi_share(summary["reports_received"]["pct"]) + "%",
    )
    assert figures["glance:godmother_children_new"] == (
        str(summary["godmother_children_new"]["value"]),
        vi_int(summary["godmother_children_new"]["value"]),
    )
    funds_total = sum(row["value"] for row in year_rows(results, "province_summary") if row["section"] == "funds")
    assert figures["glance:funds_vnd"][0] == str(funds_total)

    for row in year_rows(results, "completeness_by_district_month"):
        for measure in ("completeness_pct", "timeliness_pct"):
            value, text = figures[f"{measure}:{row['scope_code']}:{row['period_label']}"]
            assert (float(value), text) == (row[measure], vi_share(row[measure])), row

    shown_suppressed = 0
    for row in year_rows(results, "indicators_by_programme_district"):
        if row["fact"] not in ("beneficiaries", "funds"):
            continue
        value, text = figures[f"indicator:{row['indicator_code']}:{row['scope_code']}"]
        if row["value"] is None:  # a hidden cell: "—" with its footnote mark, never 0 and never "<5"
            shown_suppressed += 1
            assert value == "" and text == "—*", (row, text)
        elif row["fact"] == "funds":  # millions of đồng, one decimal
            assert value == str(row["value"])
            assert float(text.replace(".", "").replace(",", ".")) == pytest.approx(round(row["value"] / 1e6, 1))
        else:
            assert (value, text) == (str(row["value"]), vi_int(row["value"])), row
    assert shown_suppressed > 0

    for row in year_rows(results, "clubs_by_type"):
        if row["scope_level"] == "province":
            code = row["club_type_code"]
            assert figures[f"clubs:{code}:open"] == (
                str(row["clubs_open_at_year_end"]),
                vi_int(row["clubs_open_at_year_end"]),
            )
            assert figures[f"clubs:{code}:members"][0] == str(row["members_at_year_end"])
    for row in year_rows(results, "target_progress"):
        assert figures[f"target:{row['target_code']}"][0] == (
            "" if row["achieved_value"] is None else str(row["achieved_value"])
        )
    for row in results["article_figures_2023"]:
        value = figures[f"article:{row['figure_id']}"][0]
        assert value == ("" if row["computed_value"] is None else str(row["computed_value"]))


# Elements sticking out past the right edge of the viewport, unless a box that clips or scrolls
# sideways (a wide table in its scroll box, the menu bar) holds them.
MEASURE_LAYOUT = """(() => {
  // the layout viewport: a phone's window.innerWidth grows (zooms out) to show a page that overflows
  const width = document.documentElement.clientWidth;
  const clippedSideways = (element) => {
    for (let box = element.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible') return true;
    }
    return false;
  };
  const sticking_out = [...document.body.querySelectorAll('*')]
    .filter((element) => element.getBoundingClientRect().right > width + 0.5 && !clippedSideways(element))
    .map((element) => element.tagName.toLowerCase() + '.' + element.className + ': '
                      + (element.textContent || '').trim().slice(0, 40));
  const matrix = document.querySelector('table.matrix').parentElement;
  return {width, scrollWidth: document.documentElement.scrollWidth, sticking_out,
          pageClipsSideways: [document.documentElement, document.body]
            .some((element) => getComputedStyle(element).overflowX !== 'visible'),
          tableScrollsInItsBox: matrix.scrollWidth > matrix.clientWidth,
          headings: [...document.querySelectorAll('h2')].map((h) => h.textContent.trim())};
})()"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = DevToolsChromium(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def keep_screenshot(browser: DevToolsChromium, tmp_path: Path, name: str) -> Path:
    shot = browser.screenshot(tmp_path / name)
    assert shot.stat().st_size > 20_000
    SCREENSHOTS_FOR_REVIEW.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOTS_FOR_REVIEW / name)
    print(f"screenshot: {shot} (copy: {SCREENSHOTS_FOR_REVIEW / name})")
    return shot


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH], ids=["phone", "desktop"])
def test_the_report_fits_the_screen(browser, report_file, tmp_path, width):
    browser.open(report_file.as_uri(), width)
    layout = browser.evaluate(MEASURE_LAYOUT)
    assert layout["width"] == width, "the viewport was not emulated"
    assert not layout["pageClipsSideways"], "overflow-x on html/body would hide an overflow, not fix it"
    assert layout["scrollWidth"] <= width and not layout["sticking_out"], layout
    assert all(heading in layout["headings"] for heading in REPORT_HEADINGS), layout["headings"]
    if width == PHONE_WIDTH:  # the district table scrolls inside its box instead of squeezing
        assert layout["tableScrollsInItsBox"]
    keep_screenshot(browser, tmp_path, f"report-{'phone' if width == PHONE_WIDTH else 'desktop'}-{width}px.png")


def test_the_fit_check_catches_a_page_wider_than_a_phone(browser, report_file):
    browser.open(report_file.as_uri(), PHONE_WIDTH)
    browser.evaluate(
        "document.querySelector('#ghi-chu').insertAdjacentHTML('beforeend', '<p style=\"width: 700px\">too wide</p>')"
    )
    layout = browser.evaluate(MEASURE_LAYOUT)
    assert layout["scrollWidth"] > PHONE_WIDTH and any("too wide" in element for element in layout["sticking_out"])
