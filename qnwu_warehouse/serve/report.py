"""A static HTML report of one published warehouse version, in Vietnamese.

``write_report`` opens a published DuckDB file read-only, takes its figures from the ready analyst
queries (``qnwu_warehouse/serve/queries/*.sql``: one home for each rule, and the marts behind them hold
the rules themselves) and renders ``templates/report.html.j2`` into one self-contained file: CSS
and SVG charts inline, no script, font or stylesheet fetched from anywhere, so it opens from a
file share or an e-mail attachment on a phone as well as on a desktop.

Hidden cells: the published marts blank a sensitive count from 1 to threshold-1 at every level,
and the cells hidden beside them so that none can be derived (the value is null; docs/privacy.md).
The report shows a hidden figure, or a total with a hidden part, as "—" with a footnote: never
as 0, and never as "<5", which would say which hidden cells are the small ones. A figure no unit
reported is left blank, which is not zero either.

Every figure in the HTML carries ``data-figure`` (what it is) and ``data-value`` (the raw value
from the query), so tests can compare what a browser renders with what the queries return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from qnwu_warehouse.contract.rules import VIETNAM_TIME
from qnwu_warehouse.serve import analyst_queries
from qnwu_warehouse.settings import Settings
from qnwu_warehouse.warehouse import attached_tables, current_database

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

CLUB_GROUP_NAMES_VI = {
    "sport_culture": "Thể dục thể thao, văn hóa văn nghệ",
    "children": "Vì trẻ em",
    "environment": "Bảo vệ môi trường",
    "economic": "Phát triển kinh tế",
}
UNIT_OF_MEASURE_VI = {
    "children": "trẻ",
    "women": "phụ nữ",
    "members": "hội viên",
    "persons": "người",
    "items": "sản phẩm",
    "classes": "lớp",
    "person-times": "lượt người",
    "entries": "sản phẩm",
    "VND": "đồng",
    "percent": "%",
}
COMPARATOR_VI = {"=": "", ">": "trên ", ">=": "từ ", "<=": "đến ", "~<": "gần "}
DISTRICT_PREFIXES = (("Thành phố ", "TP "), ("Thị xã ", "TX "), ("Huyện ", "H. "))


# ---------------------------------------------------------------------------------------------
# Vietnamese number formats: dots between thousands, a comma before decimals ("2.997", "84,1").


def vi_number(value: float | int, decimals: int = 0) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def vi_share(value: float) -> str:
    """A share its query rounded to one decimal: "100", "0", otherwise always one decimal ("92,0")."""
    return vi_number(value, 0) if value in (0, 100) else vi_number(value, 1)


def vi_percent(value: float) -> str:
    return vi_share(value) + "%"


def vi_trimmed(value: float, max_decimals: int) -> str:
    """Up to max_decimals decimals, trailing zeros dropped: 1.046,5 and 100 and 1.123,46."""
    text = vi_number(value, max_decimals)
    return text.rstrip("0").rstrip(",") if "," in text else text


def vi_million_vnd(amount: int) -> str:
    """Money in millions of đồng with one decimal, as tables of funds give it: "1.046,5" (the exact
    amount in đồng is the cell's tooltip and data-value)."""
    return vi_number(amount / 1_000_000, 1)


def vi_vnd_parts(amount: int) -> tuple[str, str]:
    """Money as the article writes it, number and unit apart: ("1,05", "tỷ đồng"), ("100", "triệu đồng")."""
    if abs(amount) >= 1_000_000_000:
        return vi_trimmed(amount / 1_000_000_000, 2), "tỷ đồng"
    if abs(amount) >= 1_000_000:
        return vi_trimmed(amount / 1_000_000, 1), "triệu đồng"
    return vi_number(amount), "đồng"


def vi_vnd_words(amount: int) -> str:
    return " ".join(vi_vnd_parts(amount))


def short_area_name(name: str | None) -> str:
    """Column headings: "TP Hạ Long", "TX Quảng Yên", "H. Bình Liêu" (as the article abbreviates)."""
    for long, short in DISTRICT_PREFIXES:
        if name and name.startswith(long):
            return short + name[len(long) :]
    return name or ""


# ---------------------------------------------------------------------------------------------
# What the template shows.


@dataclass(frozen=True)
class Figure:
    """One figure as shown: its text, the raw value behind it, and how to read it.

    kind is "number", "suppressed" (blanked small cell, footnoted) or "not_reported" (blank)."""

    key: str
    text: str
    value: Any = None
    kind: str = "number"
    title: str = ""
    unit: str = ""  # shown smaller after the number, in the cards

    @property
    def data_value(self) -> str:
        return "" if self.value is None else str(self.value)


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart; segments are (share of the chart's maximum in %, css class, label)."""

    label: str
    value_text: str
    segments: list[tuple[float, str, str]]
    sublabel: str = ""


@dataclass
class Area:
    code: str
    name: str
    level: str

    @property
    def short_name(self) -> str:
        return "Toàn tỉnh" if self.level == "province" else short_area_name(self.name)


@dataclass
class IndicatorTable:
    """Indicators (rows, grouped by programme) x areas (columns: the province, then districts)."""

    areas: list[Area]
    programmes: list[tuple[str, list[tuple[dict, list[Figure]]]]] = field(default_factory=list)


def _bar_svg(segments: list[tuple[float, str, str]], marker_pct: float | None = None) -> Markup:
    """A horizontal bar as inline SVG; stretches to its box, so it fits a phone and a desktop."""
    parts, start = [], 0.0
    for width, css_class, label in segments:
        width = max(0.0, min(width, 100.0 - start))
        if width > 0:
            parts.append(
                f'<rect class="{escape(css_class)}" x="{start:.2f}" y="0" width="{width:.2f}" height="10">'
                f"<title>{escape(label)}</title></rect>"
            )
        start += width
    if marker_pct is not None:
        x = max(0.3, min(marker_pct, 99.7))
        parts.append(f'<line class="target-marker" x1="{x:.2f}" x2="{x:.2f}" y1="-2" y2="12"/>')
    return Markup(
        '<svg class="bar" viewBox="0 -2 100 14" preserveAspectRatio="none" aria-hidden="true">'
        '<rect class="track" x="0" y="0" width="100" height="10"/>' + "".join(parts) + "</svg>"
    )


def _heat_class(pct: float | None) -> str:
    """Colour band of a completeness or timeliness cell (legend in the template)."""
    if pct is None:
        return "heat-none"
    for floor, band in ((100, "heat-100"), (95, "heat-95"), (85, "heat-85"), (70, "heat-70"), (50, "heat-50")):
        if pct >= floor:
            return band
    return "heat-0"


@dataclass(frozen=True)
class SinceRelease:
    """What the report compares its headline figures with: the last release before this version,
    its figures (by card key), and the reports loaded since (history.version_reports)."""

    name: str
    figures: dict[str, tuple[Any, str]]  # card key -> (value, as the release's report showed it)
    reports: list[dict]
    rebuilds: list[str]

    def note(self, key: str, value: Any, year: int | None) -> dict | None:
        """Whether the card's figure changed since the release, and why, in Vietnamese."""
        if key not in self.figures:
            return {"changed": True, "text": f"Mới so với bản phát hành «{self.name}»"}
        old, old_text = self.figures[key]
        if old == value:
            return {"changed": False, "text": f"Không đổi so với bản phát hành «{self.name}»"}
        reports = [r for r in self.reports if year is None or r["report_year"] == str(year)]
        kinds = {"new": "gửi muộn", "corrected": "đính chính", "withdrawn": "rút lại"}
        counts = ", ".join(
            f"{sum(1 for r in reports if r['change'] == kind)} báo cáo {label}"
            for kind, label in kinds.items()
            if any(r["change"] == kind for r in reports)
        )
        named = "; ".join(f"{r['unit_code']} {r['period']}" for r in reports[:3]) + ("; …" if len(reports) > 3 else "")
        why = [f"{counts} ({named})"] if reports else []
        why += [f"thay đổi quy tắc hoặc danh mục: {reason}" for reason in self.rebuilds]
        return {
            "changed": True,
            "text": f"Đã thay đổi so với bản phát hành «{self.name}» (trước: {old_text})"
            + (": " + "; ".join(why) if why else ""),
        }


def since_release(published_file: Path, release_file: Path, release_name: str, version_name: str) -> SinceRelease:
    """Read the last release's headline figures from its own file, and the reports loaded after it
    from this version's history."""
    with analyst_queries.connect_published(release_file) as con:
        results = {name: analyst_queries.run(con, name) for name in analyst_queries.names()}
        cursor = con.execute("select * from meta.publication")
        publication = dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))
    figures = {
        card["figure"].key: (card["figure"].value, f"{card['figure'].text} {card['figure'].unit}".strip())
        for card in _Report(results, publication, "", None).glance()
    }
    with analyst_queries.connect_published(published_file) as con:
        has_history = "version_reports" in attached_tables(con, current_database(con), "history")
        reports, rebuilds = [], []
        if has_history:
            after = "version_seq > coalesce((select max(version_seq) from history.versions where version_name = ?), 0)"
            cursor = con.execute(
                f"select unit_code, period, report_year, change from history.version_reports where {after} "
                "order by period, unit_code",
                [version_name],
            )
            reports = [dict(zip([c[0] for c in cursor.description], row, strict=True)) for row in cursor.fetchall()]
            rebuilds = [
                reason
                for (reason,) in con.execute(
                    f"select reason from history.versions where rebuilt_whole and {after} order by version_seq",
                    [version_name],
                ).fetchall()
            ]
    return SinceRelease(release_name, figures, reports, rebuilds)


class _Report:
    """Builds the template's context from the query results of one published file."""

    def __init__(
        self,
        results: dict[str, list[dict]],
        publication: dict,
        version_name: str,
        run_id: str | None,
        release: SinceRelease | None = None,
    ):
        self.release = release
        self.results = results
        self.publication = publication
        self.threshold = int(publication.get("small_cell_threshold") or 5)
        self.version_name = version_name
        self.run_id = run_id or publication.get("run_id")
        reporting_years = [row["report_year"] for row in results["province_summary"] if row["section"] == "reporting"]
        self.year = max(reporting_years) if reporting_years else None

    def rows(self, query: str) -> list[dict]:
        return [row for row in self.results[query] if row.get("report_year") == self.year]

    # -- header --------------------------------------------------------------------------------
    def header(self) -> dict:
        published_at = self.publication.get("published_at")
        gate = json.loads(self.publication.get("quality_gate") or "{}")
        months = [
            row["period_label"] for row in self.rows("completeness_by_district_month") if row["period_grain"] == "month"
        ]
        first, last = (min(months), max(months)) if months else (None, None)
        return {
            "year": self.year,
            "period_text": (
                f"tháng {int(first[5:])}–{int(last[5:])}/{self.year}"
                if first and first != last
                else f"tháng {int(first[5:])}/{self.year}"
                if first
                else ""
            ),
            "version_name": self.version_name,
            "run_id": self.run_id,
            "published_at": (published_at.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M") if published_at else None),
            "gate_passed": gate.get("passed"),
            "gate_checks": gate.get("expectations"),
            "gate_warnings": gate.get("warnings"),
            "cells_suppressed": self.publication.get("cells_suppressed"),
            "current_submissions": self.publication.get("current_submissions"),
        }

    # -- figures at a glance -------------------------------------------------------------------
    def glance(self) -> list[dict]:
        summary = {row["item_code"]: row for row in self.rows("province_summary")}
        cards = []
        if "reports_received" in summary:
            received, expected = summary["reports_received"], summary["reports_expected"]
            cards.append(
                {
                    "label": "Báo cáo đã nhận",
                    "figure": Figure("glance:completeness_pct", vi_percent(received["pct"]), received["pct"]),
                    "detail": f"{vi_number(received['value'])}/{vi_number(expected['value'])} báo cáo phải nộp",
                }
            )
            on_time = summary["reports_on_time"]
            cards.append(
                {
                    "label": "Báo cáo đúng hạn",
                    "figure": Figure("glance:timeliness_pct", vi_percent(on_time["pct"]), on_time["pct"]),
                    "detail": f"{vi_number(on_time['value'])} báo cáo gửi đúng hạn",
                }
            )
        # people, each counted once: the distinct count since January, not the months' person-times
        for code in ("godmother_children_new", "household_economy_women_supported", "poor_members_helped_ytd"):
            if code in summary:
                row = summary[code]
                cards.append(
                    {
                        "label": row["label_vi"],
                        "figure": Figure(f"glance:{code}", vi_number(row["value"]), row["value"]),
                        "detail": f"Chương trình {row['programme_name_vi']}",
                    }
                )
        funds = [row for row in self.rows("province_summary") if row["section"] == "funds"]
        if funds:
            total = sum(row["value"] for row in funds)
            number, unit = vi_vnd_parts(total)
            cards.append(
                {
                    "label": "Quỹ vận động, giải ngân",
                    "figure": Figure("glance:funds_vnd", number, total, title=f"{vi_number(total)} đồng", unit=unit),
                    "detail": f"{len(funds)} nguồn quỹ, toàn tỉnh",
                }
            )
        clubs = [row for row in self.rows("clubs_by_type") if row["scope_level"] == "province"]
        if clubs:
            open_clubs = sum(row["clubs_open_at_year_end"] for row in clubs)
            members = sum(row["members_at_year_end"] for row in clubs)
            cards.append(
                {
                    "label": "CLB, mô hình đang hoạt động cuối năm",
                    "figure": Figure("glance:clubs_open", vi_number(open_clubs), open_clubs),
                    "detail": f"{vi_number(members)} thành viên",
                }
            )
        targets = self.rows("target_progress")
        if targets:
            met = sum(1 for row in targets if row["is_met"])
            cards.append(
                {
                    "label": "Chỉ tiêu đã đạt",
                    "figure": Figure("glance:targets_met", f"{met}/{len(targets)}", met),
                    "detail": f"chỉ tiêu năm {targets[0]['target_year']}",
                }
            )
        for card in cards:
            card["since_release"] = (
                self.release.note(card["figure"].key, card["figure"].value, self.year) if self.release else None
            )
        return cards

    # -- completeness --------------------------------------------------------------------------
    def completeness(self) -> dict:
        rows = self.rows("completeness_by_district_month")
        months = sorted({row["period_label"] for row in rows if row["period_grain"] == "month"})
        areas: dict[str, Area] = {}
        cells: dict[tuple[str, str], dict] = {}
        for row in rows:
            areas.setdefault(row["scope_code"], Area(row["scope_code"], row["scope_name_vi"], row["scope_level"]))
            cells[(row["scope_code"], row["period_label"])] = row
        columns = [(month, f"T{int(month[5:])}") for month in months] + [(str(self.year), "Cả năm")]

        def heat_rows(measure: str, counted: str) -> list[dict]:
            table = []
            for area in areas.values():
                figures = []
                for period, _heading in columns:
                    row = cells.get((area.code, period))
                    pct = row[measure] if row else None
                    figures.append(
                        (
                            Figure(
                                f"{measure}:{area.code}:{period}",
                                vi_share(pct) if pct is not None else "",
                                pct,
                                title=(f"{row[counted]}/{row['reports_expected']} báo cáo" if row else ""),
                            ),
                            _heat_class(pct),
                        )
                    )
                table.append({"area": area, "cells": figures})
            return table

        province = next((a for a in areas.values() if a.level == "province"), None)
        chart = []
        if province:
            for period, heading in columns[:-1]:
                row = cells[(province.code, period)]
                chart.append(
                    Bar(
                        f"Tháng {heading[1:]}",
                        f"{vi_percent(row['completeness_pct'])} · {vi_percent(row['timeliness_pct'])}",
                        [
                            (row["timeliness_pct"], "series-on-time", "đúng hạn"),
                            (row["completeness_pct"] - row["timeliness_pct"], "series-late", "gửi muộn"),
                        ],
                    )
                )
        return {
            "columns": columns,
            "completeness": heat_rows("completeness_pct", "reports_received"),
            "timeliness": heat_rows("timeliness_pct", "reports_on_time"),
            "chart": chart,
        }

    # -- beneficiaries and funds ---------------------------------------------------------------
    def indicator_table(self, fact: str, areas: list[Area]) -> IndicatorTable:
        rows = [row for row in self.rows("indicators_by_programme_district") if row["fact"] == fact]
        by_indicator: dict[str, dict[str, dict]] = {}
        for row in rows:
            by_indicator.setdefault(row["indicator_code"], {})[row["scope_code"]] = row
        table = IndicatorTable(areas)
        programmes: dict[str, list] = {}
        for code, by_area in by_indicator.items():
            indicator = next(iter(by_area.values()))
            figures = [self.indicator_figure(fact, code, by_area.get(area.code), area) for area in areas]
            programmes.setdefault(indicator["programme_name_vi"], []).append((indicator, figures))
        table.programmes = list(programmes.items())
        return table

    def indicator_figure(self, fact: str, indicator_code: str, row: dict | None, area: Area) -> Figure:
        key = f"indicator:{indicator_code}:{area.code}"
        if row is None:
            return Figure(key, "", None, "not_reported", "không đơn vị nào báo cáo")
        if row["value"] is None:
            # A hidden part: the total is unknown. Never "<5": a part may be hidden beside a small
            # one (complementary suppression), and saying which are small would undo it.
            return Figure(key, "—", None, "suppressed", "ẩn để bảo vệ người bị hại")
        if fact == "funds":
            return Figure(key, vi_million_vnd(row["value"]), row["value"], title=f"{vi_number(row['value'])} đồng")
        return Figure(key, vi_number(row["value"]), row["value"])

    def province_bars(self, fact: str) -> list[Bar]:
        # a hidden province total has no bar (a bar of 0 would read as none); the table marks it
        rows = [
            row
            for row in self.rows("indicators_by_programme_district")
            if row["fact"] == fact and row["scope_level"] == "province" and row["value"] is not None
        ]
        largest = max((row["value"] or 0 for row in rows), default=0) or 1
        bars = []
        for row in sorted(rows, key=lambda r: -(r["value"] or 0)):
            unit = UNIT_OF_MEASURE_VI.get(row["unit_of_measure"], row["unit_of_measure"])
            text = vi_vnd_words(row["value"]) if fact == "funds" else f"{vi_number(row['value'])} {unit}"
            bars.append(
                Bar(row["label_vi"], text, [(100 * row["value"] / largest, "series-main", text)], row["programme_name_vi"])
            )
        return bars

    def funds_by_district_bars(self, areas: list[Area]) -> tuple[list[Bar], list[tuple[str, str]]]:
        """Stacked bars: each district's funds, one colour per programme (all in đồng, so they add up)."""
        rows = [
            row
            for row in self.rows("indicators_by_programme_district")
            if row["fact"] == "funds" and row["scope_level"] == "district"
        ]
        programmes = sorted({row["programme_name_vi"] for row in rows})
        colours = {name: f"series-{index % 4}" for index, name in enumerate(programmes)}
        totals = {
            area.code: sum(row["value"] or 0 for row in rows if row["scope_code"] == area.code)
            for area in areas
            if area.level == "district"
        }
        largest = max(totals.values(), default=0) or 1
        bars = []
        for area in sorted((a for a in areas if a.level == "district"), key=lambda a: -totals[a.code]):
            in_area = sorted(
                (row for row in rows if row["scope_code"] == area.code),
                key=lambda row: programmes.index(row["programme_name_vi"]),
            )
            segments = [
                (
                    100 * (row["value"] or 0) / largest,
                    colours[row["programme_name_vi"]],
                    f"{row['programme_name_vi']}: {vi_vnd_words(row['value'] or 0)}",
                )
                for row in in_area
            ]
            bars.append(Bar(area.name, vi_vnd_words(totals[area.code]), segments))
        return bars, [(name, colours[name]) for name in programmes]

    # -- clubs ---------------------------------------------------------------------------------
    def clubs(self) -> dict:
        rows = [row for row in self.rows("clubs_by_type") if row["scope_level"] == "province"]
        groups: dict[str, list] = {}
        for row in rows:
            code = row["club_type_code"]
            figures = {
                "open": Figure(
                    f"clubs:{code}:open", vi_number(row["clubs_open_at_year_end"]), row["clubs_open_at_year_end"]
                ),
                "members": Figure(
                    f"clubs:{code}:members", vi_number(row["members_at_year_end"]), row["members_at_year_end"]
                ),
                "new": Figure(f"clubs:{code}:new", vi_number(row["clubs_new_in_year"]), row["clubs_new_in_year"]),
                "units": Figure(f"clubs:{code}:units", vi_number(row["units_with_clubs"]), row["units_with_clubs"]),
                "units_pct": Figure(
                    f"clubs:{code}:units_pct", vi_percent(row["units_with_clubs_pct"]), row["units_with_clubs_pct"]
                ),
            }
            groups.setdefault(CLUB_GROUP_NAMES_VI.get(row["club_group"], row["club_group"]), []).append((row, figures))
        largest = max((row["clubs_open_at_year_end"] for row in rows), default=0) or 1
        bars = [
            Bar(
                row["club_type_name_vi"],
                vi_number(row["clubs_open_at_year_end"]),
                [
                    (
                        100 * row["clubs_open_at_year_end"] / largest,
                        "series-main",
                        f"{vi_number(row['clubs_open_at_year_end'])} CLB, mô hình",
                    )
                ],
            )
            for row in sorted(rows, key=lambda r: -r["clubs_open_at_year_end"])
        ]
        group_order = list(CLUB_GROUP_NAMES_VI.values())
        ordered = sorted(groups.items(), key=lambda item: group_order.index(item[0]) if item[0] in group_order else 99)
        return {"groups": ordered, "chart": bars}

    # -- targets -------------------------------------------------------------------------------
    def targets(self) -> list[dict]:
        shown = []
        for row in self.rows("target_progress"):
            is_percent = row["unit_of_measure"] == "percent"
            achieved = row["achieved_value"]
            unit = UNIT_OF_MEASURE_VI.get(row["unit_of_measure"], row["unit_of_measure"])
            target_text = f"{'≥ ' if row['comparator'] == '>=' else ''}" + (
                vi_percent(row["target_value"]) if is_percent else f"{vi_number(row['target_value'])} {unit}"
            )
            if row["value_is_suppressed"]:
                # judged on a hidden total of victims: the share would give it back
                achieved_figure = Figure(
                    f"target:{row['target_code']}", "—", None, "suppressed", "ẩn để bảo vệ người bị hại"
                )
            elif achieved is None:
                achieved_figure = Figure(f"target:{row['target_code']}", "chưa có số liệu", None, "not_reported")
            else:
                achieved_figure = Figure(
                    f"target:{row['target_code']}",
                    vi_percent(achieved) if is_percent else f"{vi_number(achieved)} {unit}",
                    achieved,
                )
            basis = (
                f"{vi_number(row['numerator_value'])}/{vi_number(row['denominator_value'])}"
                if is_percent and row["denominator_value"] is not None and row["numerator_value"] is not None
                else ""
            )
            progress = row["achieved_pct_of_target"] or 0
            # the bar's scale reaches past 100 % of the target when it was exceeded, so both show
            scale = max(100.0, progress)
            shown.append(
                {
                    "row": row,
                    "target_text": target_text,
                    "achieved": achieved_figure,
                    "basis": basis,
                    "progress_text": vi_percent(progress) + " chỉ tiêu",
                    "bar": _bar_svg(
                        [
                            (
                                100 * progress / scale,
                                "series-met" if row["is_met"] else "series-unmet",
                                f"{vi_percent(progress)} chỉ tiêu",
                            )
                        ],
                        marker_pct=100 * 100 / scale,
                    ),
                }
            )
        return shown

    # -- the article ---------------------------------------------------------------------------
    def article(self) -> list[dict]:
        if self.year != 2023:
            return []
        shown = []
        for row in self.results["article_figures_2023"]:
            unit = row["unit_of_measure"]

            def text(value: float | None, unit: str = unit) -> str:
                # the quote next to it names what is counted, so a bare number reads right
                if value is None:
                    return "—"
                if unit == "VND":
                    return vi_vnd_words(int(value))
                if unit == "percent":
                    return vi_percent(value)
                return vi_number(value)

            shown.append(
                {
                    "row": row,
                    "article_text": COMPARATOR_VI[row["comparator"]] + text(row["article_value"]),
                    "computed": Figure(
                        f"article:{row['figure_id']}",
                        text(row["computed_value"]),
                        row["computed_value"],
                        "number" if row["computed_value"] is not None else "not_reported",
                    ),
                }
            )
        return shown

    def context(self) -> dict:
        completeness_rows = [row for row in self.rows("completeness_by_district_month") if row["period_grain"] == "year"]
        areas = [Area(row["scope_code"], row["scope_name_vi"], row["scope_level"]) for row in completeness_rows]
        funds_bars, funds_legend = self.funds_by_district_bars(areas)
        context = {
            "header": self.header(),
            "threshold": self.threshold,
            "glance": self.glance(),
            "completeness": self.completeness(),
            "beneficiaries": self.indicator_table("beneficiaries", areas),
            "beneficiary_bars": self.province_bars("beneficiaries"),
            "funds": self.indicator_table("funds", areas),
            "funds_bars": self.province_bars("funds"),
            "funds_by_district": funds_bars,
            "funds_legend": funds_legend,
            "clubs": self.clubs(),
            "targets": self.targets(),
            "article": self.article(),
        }
        context["has_suppressed"] = any(
            figure.kind == "suppressed"
            for table in (context["beneficiaries"], context["funds"])
            for _programme, indicators in table.programmes
            for _indicator, figures in indicators
            for figure in figures
        )
        return context


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["bar_svg"] = _bar_svg
    return environment


def render_report(
    published_file: Path, version_name: str, run_id: str | None = None, release: tuple[str, Path, str] | None = None
) -> str:
    """The report's HTML for one published file, read-only. `release`: (name, file, version name)
    of the last release, beside whose figures each headline figure says whether it changed, and why."""
    with analyst_queries.connect_published(published_file) as con:
        results = {name: analyst_queries.run(con, name) for name in analyst_queries.names()}
        cursor = con.execute("select * from meta.publication")
        columns = [column[0] for column in cursor.description]
        publication = dict(zip(columns, cursor.fetchone(), strict=True))
    compared = since_release(published_file, release[1], release[0], release[2]) if release else None
    context = _Report(results, publication, version_name, run_id, compared).context()
    return _environment().get_template("report.html.j2").render(**context)


def write_report(
    published_file: Path,
    out_path: Path,
    version_name: str,
    run_id: str | None = None,
    release: tuple[str, Path, str] | None = None,
) -> Path:
    """Write the HTML report of a published warehouse file (opened read-only) to out_path.

    version_name labels the report (e.g. the file name under published/versions/); run_id is the
    publishing run, read from the file's meta.publication when not given. Writes to a temporary
    name first and renames, so a reader never opens a half-written report."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    html = render_report(Path(published_file), version_name, run_id, release)
    partial = out_path.with_name(out_path.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(out_path)
    return out_path


def default_report_path(settings: Settings, version_file: Path) -> Path:
    """published/reports/<version>.html: one report per published version, next to the versions."""
    return settings.published_dir / "reports" / f"{version_file.stem}.html"


def write_live_report(settings: Settings, out_path: Path | None = None) -> Path:
    """``qnwu report``: the report of the version the published warehouse serves now."""
    from qnwu_warehouse.publish import versioning

    live = versioning.current_version(settings)
    if live is None and not settings.published_warehouse.exists():
        raise FileNotFoundError(f"nothing published yet at {settings.published_warehouse}: run `make run` first.")
    source = live or settings.published_warehouse
    target = Path(out_path) if out_path else default_report_path(settings, source)
    return write_report(source, target, source.name, release=last_release(settings, source))


def last_release(settings: Settings, version_file: Path) -> tuple[str, Path, str] | None:
    """(name, file, version name) of the newest release of an earlier version than `version_file`."""
    from qnwu_warehouse.publish import releases

    earlier = [r for r in releases.list_releases(settings) if r["version"] < version_file.stem and Path(r["file"]).exists()]
    if not earlier:
        return None
    newest = max(earlier, key=lambda r: (r["version"], r["created_at"]))
    return newest["name"], Path(newest["file"]), newest["version"]
