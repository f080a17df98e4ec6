"""Contract version 2: a unit can say "none" for an indicator or a whole section, in every format,
and version 1 files still mean what they meant (docs/submission_contract.md, "Saying none")."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import pytest
from python_calamine import CalamineWorkbook
from support import using_data_dir

from qnwu_warehouse.contract.files import blank_template_bytes, indicator_catalogue, write_submission
from qnwu_warehouse.contract.readers import read_document
from qnwu_warehouse.contract.reference import load_reference
from qnwu_warehouse.contract.rules import validate
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.transform import dbt_runner

TODAY = date(2024, 1, 31)
FORMATS = ("xlsx", "csv", "json")
REFERENCE = load_reference()
SCHEMAS = Path(__file__).resolve().parents[1] / "qnwu_warehouse" / "contract" / "schemas"


def _report(version: str = "2", values=None, clubs=None, unit_code: str = "06649", period: str = "2023-05") -> dict:
    return {
        "header": {
            "unit_code": unit_code,
            "period": period,
            "submitted_at": f"{period}-28T08:30:00",
            "reporter": "Chủ tịch Hội",
            "template_version": version,
        },
        "values": values if values is not None else [{"indicator_code": "news_items", "category": "total", "value": 3}],
        "clubs": clubs
        if clubs is not None
        else [
            {
                "club_id": "VB-01",
                "club_type": "air_volleyball",
                "club_name": "CLB Bóng chuyền hơi",
                "status": "active",
                "members": 14,
            }
        ],
    }


def _check(report: dict, fmt: str):
    _, document = read_document(f"report.{fmt}", write_submission(report, fmt))
    return validate(document, REFERENCE, TODAY)


def _codes(problems) -> list[str]:
    return [p.code for p in problems]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("word", ["none", "Không có"])
def test_a_club_register_declared_none_is_an_empty_register(fmt, word):
    submission, problems = _check(_report(clubs=word), fmt)
    assert _codes(problems) == []
    assert submission.clubs == [] and submission.sections_declared_none == {"clubs"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_club_list_is_still_not_reported_in_both_versions(fmt):
    for version in ("1", "2"):
        submission, problems = _check(_report(version, clubs=[]), fmt)
        assert submission.clubs == [] and submission.sections_declared_none == frozenset(), (version, problems)


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_declared_none_are_zero_for_flows_and_stocks_and_leave_counts_since_january(fmt):
    submission, problems = _check(_report(values="không có"), fmt)
    assert _codes(problems) == [] and submission.sections_declared_none == {"values"}
    reported = {(code, category): value for _row, code, category, value in submission.values}
    expected = {
        (code, category)
        for code, indicator in REFERENCE.indicators.items()
        if indicator.time_aggregation in ("sum", "last")
        for category in indicator.allowed_categories
    }
    assert set(reported) == expected and set(reported.values()) == {0}
    assert ("poor_members_total", "total") in reported  # a stock: 0 on the register, not carried forward
    assert not [key for key in reported if REFERENCE.indicators[key[0]].time_aggregation == "ytd_distinct"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_none_for_one_indicator_is_zero_in_every_category_unless_one_is_named(fmt):
    values = [
        {"indicator_code": "violence_victims_identified", "category": None, "value": "none"},
        {"indicator_code": "godmother_children_new", "category": "male", "value": "không có"},
        {"indicator_code": "godmother_children_new", "category": "female", "value": 2},
    ]
    submission, problems = _check(_report(values=values), fmt)
    assert _codes(problems) == []
    assert sorted(row[1:] for row in submission.values) == [
        ("godmother_children_new", "female", 2),
        ("godmother_children_new", "male", 0),
        ("violence_victims_identified", "domestic_violence", 0),
        ("violence_victims_identified", "trafficking_returnee", 0),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_none_cannot_stand_for_a_count_since_january(fmt):
    values = [{"indicator_code": "poor_members_helped_ytd", "category": "total", "value": "none"}]
    submission, problems = _check(_report(values=values), fmt)
    assert submission is None and _codes(problems) == ["NONE_NOT_FOR_CUMULATIVE"]
    assert problems[0].location.row is not None or fmt == "json"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_section_that_says_none_and_holds_figures_is_refused(fmt):
    values = [{"indicator_code": "none"}, {"indicator_code": "news_items", "category": "total", "value": 4}]
    submission, problems = _check(_report(values=values), fmt)
    assert submission is None and _codes(problems) == ["SECTION_NONE_WITH_ROWS"]
    clubs = [
        {"club_id": "không có"},
        {"club_id": "VB-01", "club_type": "air_volleyball", "club_name": "CLB", "status": "active", "members": 14},
    ]
    submission, problems = _check(_report(clubs=clubs), fmt)
    assert submission is None and _codes(problems) == ["SECTION_NONE_WITH_ROWS"]


def test_the_templates_prefilled_rows_left_blank_agree_with_values_none():
    """The XLSX template lists every indicator with an empty value cell: a unit with nothing to
    report writes "không có" in one code cell and leaves the rest, without a warning per row."""
    rows = [
        {"indicator_code": code, "category": category, "value": None}
        for code, category, _label, _unit in indicator_catalogue()
    ]
    submission, problems = _check(_report(values=[{"indicator_code": "không có"}, *rows]), "xlsx")
    assert _codes(problems) == [] and submission.sections_declared_none == {"values"}
    # a 0 typed in a number cell (read back as 0.0) agrees with none too
    rows[0]["value"] = 0
    submission, problems = _check(_report(values=[{"indicator_code": "không có"}, *rows]), "xlsx")
    assert _codes(problems) == [] and submission.sections_declared_none == {"values"}
    rows[0]["value"] = None
    # without the declaration each blank cell is a value not reported
    submission, problems = _check(_report(values=rows), "xlsx")
    assert set(_codes(problems)) == {"VALUE_MISSING"} and submission.values == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_version_1_files_mean_what_they_meant(fmt):
    # a word in a number cell was refused, and still is, with advice
    values = [{"indicator_code": "news_items", "category": "total", "value": "none"}]
    submission, problems = _check(_report("1", values=values), fmt)
    assert submission is None and _codes(problems) == ["NONE_NEEDS_VERSION_2"]
    # a row whose code is "none" is an ordinary row: here a club with that id, accepted as before
    clubs = [{"club_id": "none", "club_type": "air_volleyball", "club_name": "CLB", "status": "active", "members": 9}]
    submission, problems = _check(_report("1", clubs=clubs), fmt)
    assert _codes(problems) == [] and [club[1] for club in submission.clubs] == ["none"]
    assert submission.sections_declared_none == frozenset()


def test_version_1_json_section_given_as_none_is_refused_with_advice():
    submission, problems = _check(_report("1", clubs="none"), "json")
    assert submission is None and _codes(problems) == ["NONE_NEEDS_VERSION_2"]
    assert "version 2" in problems[0].message("r.json")


def test_the_blank_template_is_version_2_and_says_how_to_write_none():
    workbook = CalamineWorkbook.from_filelike(__import__("io").BytesIO(blank_template_bytes()))
    header = workbook.get_sheet_by_name("Thông tin chung").to_python()
    assert [row[2] for row in header if row[1] == "template_version"] == ["2"]
    instructions = " ".join(str(cell) for row in workbook.get_sheet_by_name("Hướng dẫn").to_python() for cell in row)
    assert "không có" in instructions and "CHƯA BÁO CÁO" in instructions


def test_json_schema_v2_takes_none_and_v1_does_not():
    v1 = json.loads((SCHEMAS / "submission-v1.schema.json").read_text(encoding="utf-8"))
    v2 = json.loads((SCHEMAS / "submission-v2.schema.json").read_text(encoding="utf-8"))
    declared = _report(clubs="không có", values=[{"indicator_code": "news_items", "value": "none"}])
    jsonschema.validate(declared, v2)
    jsonschema.validate(_report(values="none"), v2)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**declared, "header": {**declared["header"], "template_version": "1"}}, v1)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_report(clubs="some"), v2)


def test_through_ingest_and_dbt_a_declared_empty_register_closes_clubs_and_an_empty_list_keeps_them(data_dir):
    """Unit 06649 (version 2) has 2 clubs in February and says none in March; unit 06652
    (version 1) has 3 in February and an empty club list in March. Each format carries one of the
    declarations. Q1 ends with 06652's 3 clubs only, and March's values-none report puts 06649's
    poor-household register at 0 rather than carrying February's 7 forward."""
    landing = data_dir / "landing"
    landing.mkdir()
    two_clubs = [
        {"club_id": f"A-{n}", "club_type": "air_volleyball", "club_name": f"CLB {n}", "status": "active", "members": 10}
        for n in (1, 2)
    ]
    three_clubs = [
        {"club_id": f"B-{n}", "club_type": "folk_dance", "club_name": f"CLB {n}", "status": "active", "members": 5}
        for n in (1, 2, 3)
    ]
    register = [{"indicator_code": "poor_members_total", "category": "total", "value": 7}]
    files = {
        "a_feb.xlsx": _report("2", register, two_clubs, "06649", "2023-02"),
        "a_mar.csv": _report("2", "none", "none", "06649", "2023-03"),
        "b_feb.json": _report("1", register, three_clubs, "06652", "2023-02"),
        "b_mar.xlsx": _report("1", register, [], "06652", "2023-03"),
    }
    for name, report in files.items():
        (landing / name).write_bytes(write_submission(report, name.rsplit(".", 1)[1]))
    with using_data_dir(data_dir) as settings:
        summary = ingest(settings, load_id="none-test")
        assert (summary.accepted, summary.rejected) == (4, 0)
        dbt_runner.build(settings)
        with duckdb.connect(str(settings.working_warehouse), read_only=True) as con:
            flags = con.execute(
                "select unit_code, period, clubs_declared_none, values_declared_none from raw.submissions order by 1, 2"
            ).fetchall()
            clubs = dict(
                con.execute("""select period_label, sum(clubs_open_at_period_end)
                from marts.agg_clubs_by_period where scope_level = 'province' and club_category_level = 'type'
                group by period_label""").fetchall()
            )
            register = dict(
                con.execute("""select period_label, value from marts.agg_indicators_by_period
                where scope_level = 'province' and indicator_code = 'poor_members_total' and category = 'total'
                and period_label in ('2023-03', '2023-Q1')""").fetchall()
            )
    assert flags == [
        ("06649", "2023-02", False, False),
        ("06649", "2023-03", True, True),
        ("06652", "2023-02", False, False),
        ("06652", "2023-03", False, False),
    ]
    assert clubs["2023-02"] == 5 and clubs["2023-Q1"] == 3 and clubs["2023"] == 3
    assert register == {"2023-03": 7, "2023-Q1": 7}  # 06649: 0, 06652: 7
