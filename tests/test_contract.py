"""The contract's rules on single values and small files, format by format."""

from __future__ import annotations

import json
import unicodedata
from datetime import date

import pytest

from qnwu_warehouse.contract.readers import read_document
from qnwu_warehouse.contract.reference import load_reference
from qnwu_warehouse.contract.rules import UnreadableFile, parse_count, validate

TODAY = date(2024, 1, 31)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2.997", (2997, None)),
        ("1.100.000.000", (1_100_000_000, None)),
        ("1 100 000", (1_100_000, None)),
        (" 42 ", (42, None)),
        (7, (7, None)),
        (7.0, (7, None)),
        ("0", (0, None)),
        ("1,100", (None, "VALUE_AMBIGUOUS")),
        ("1,5", (None, "VALUE_FRACTIONAL")),
        ("2.5", (None, "VALUE_FRACTIONAL")),
        (2.5, (None, "VALUE_FRACTIONAL")),
        ("-3", (None, "VALUE_NEGATIVE")),
        (-3, (None, "VALUE_NEGATIVE")),
        ("mười", (None, "VALUE_NOT_A_NUMBER")),
        ("1.10.000", (None, "VALUE_NOT_A_NUMBER")),
        (True, (None, "VALUE_NOT_A_NUMBER")),
        ("", (None, "VALUE_MISSING")),
        (None, (None, "VALUE_MISSING")),
    ],
)
def test_parse_count(raw, expected):
    assert parse_count(raw) == expected


def _json_submission(**header_overrides) -> dict:
    header = {
        "unit_code": "06649",
        "period": "2023-05",
        "submitted_at": "2023-06-05T08:30:00",
        "reporter": "Chủ tịch Hội",
        "template_version": "1",
        **header_overrides,
    }
    return {
        "header": header,
        "values": [
            {"indicator_code": "godmother_children_new", "category": "female", "value": "3"},
            {"indicator_code": "godmother_funds_vnd", "category": "total", "value": "12.500.000"},
        ],
        "clubs": [
            {
                "club_id": "VB-01",
                "club_type": "air_volleyball",
                "club_name": "CLB Bóng chuyền hơi",
                "status": "đang hoạt động",
                "members": 14,
            }
        ],
    }


def _check(payload: dict, name: str = "report.json"):
    _, document = read_document(name, json.dumps(payload, ensure_ascii=False).encode())
    return validate(document, load_reference(), TODAY)


def test_a_good_submission_is_accepted_with_values_parsed():
    submission, problems = _check(_json_submission())
    assert problems == []
    assert submission.unit_code == "06649" and submission.period == "2023-05"
    assert [v[1:] for v in submission.values] == [
        ("godmother_children_new", "female", 3),
        ("godmother_funds_vnd", "total", 12_500_000),
    ]
    assert submission.clubs[0][4] == "active"
    assert submission.submitted_at.isoformat() == "2023-06-05T01:30:00+00:00"  # Vietnam time -> UTC


@pytest.mark.parametrize(
    "header, code",
    [
        ({"unit_code": "99999"}, "UNIT_UNKNOWN"),
        ({"period": "2030-01"}, "PERIOD_IN_FUTURE"),
        ({"period": "05/2023"}, "PERIOD_MALFORMED"),
        ({"period": "2025-08"}, "PERIOD_IN_FUTURE"),
        ({"submitted_at": "hôm qua"}, "SUBMITTED_AT_MALFORMED"),
        ({"template_version": "0.9"}, "TEMPLATE_VERSION_UNSUPPORTED"),
        ({"reporter": " "}, "HEADER_FIELD_MISSING"),
    ],
)
def test_header_problems_reject_the_submission(header, code):
    submission, problems = _check(_json_submission(**header))
    assert submission is None
    assert code in {p.code for p in problems}


@pytest.mark.parametrize(
    ("unit_code", "period", "valid"),
    [
        # 06682 Phường Yết Kiêu was merged into 06685 Phường Trần Hưng Đạo on 2024-11-01
        ("06682", "2024-10", True),
        ("06682", "2024-11", False),
        ("06682", "2025-02", False),
        ("06685", "2024-11", True),
    ],
)
def test_a_unit_reports_only_while_it_is_in_force(unit_code, period, valid):
    _, document = read_document("r.json", json.dumps(_json_submission(unit_code=unit_code, period=period)).encode())
    submission, problems = validate(document, load_reference(), date(2025, 3, 31))
    codes = {p.code for p in problems}
    assert ("UNIT_NOT_VALID_IN_PERIOD" not in codes) is valid, problems


def test_row_problems_name_file_row_and_column_in_both_languages():
    payload = _json_submission()
    payload["values"].append({"indicator_code": "godmother_children_new", "category": "female", "value": "1"})
    payload["values"].append({"indicator_code": "no_such_indicator", "category": "total", "value": "1"})
    submission, problems = _check(payload, "06649_2023-05.json")
    assert submission is None
    by_code = {p.code: p for p in problems}
    assert set(by_code) == {"ROW_DUPLICATE", "INDICATOR_UNKNOWN"}
    message = by_code["INDICATOR_UNKNOWN"].message("06649_2023-05.json", "en")
    assert message.startswith("file 06649_2023-05.json, values, row 4, column indicator_code:")
    assert "dòng 4" in by_code["INDICATOR_UNKNOWN"].message("06649_2023-05.json", "vi")


def test_decomposed_unicode_is_normalised():
    payload = _json_submission(reporter=unicodedata.normalize("NFD", "Chủ tịch Hội"))
    submission, problems = _check(payload)
    assert problems == [] and submission.reporter == unicodedata.normalize("NFC", "Chủ tịch Hội")


@pytest.mark.parametrize(
    "name, content, code",
    [
        ("empty.csv", b"", "FILE_EMPTY"),
        ("image.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "FILE_TYPE_MISMATCH"),
        ("broken.json", b'{"header": {', "FILE_CORRUPT"),
        ("report.pdf", b"%PDF-1.4", "FILE_FORMAT_UNSUPPORTED"),
        ("zip.csv", b"PK\x03\x04rest", "FILE_TYPE_MISMATCH"),
    ],
)
def test_unreadable_files(name, content, code):
    with pytest.raises(UnreadableFile) as caught:
        read_document(name, content)
    assert caught.value.problem.code == code


def test_csv_missing_column_is_reported():
    _, document = read_document("r.csv", b"section,code\nheader,unit_code\n")
    _, problems = validate(document, load_reference(), TODAY)
    assert "COLUMN_MISSING" in {p.code for p in problems}


def test_every_reason_code_is_documented():
    from pathlib import Path

    from qnwu_warehouse.contract.rules import REASONS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "submission_contract.md").read_text(encoding="utf-8")
    assert [code for code in REASONS if f"`{code}`" not in doc] == []


def test_json_schema_accepts_what_the_contract_accepts():
    from pathlib import Path

    import jsonschema

    schema = json.loads(
        (
            Path(__file__).resolve().parents[1] / "qnwu_warehouse" / "contract" / "schemas" / "submission-v1.schema.json"
        ).read_text(encoding="utf-8")
    )
    jsonschema.validate(_json_submission(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"header": {}, "values": [], "clubs": []}, schema)


def test_unit_code_that_lost_its_leading_zero_is_restored_with_a_warning():
    payload = _json_submission()
    payload["header"]["unit_code"] = 6649  # what Excel makes of 06649 in a number cell
    submission, problems = _check(payload)
    assert submission.unit_code == "06649"
    assert [(p.code, p.severity) for p in problems] == [("UNIT_CODE_ZERO_PADDED", "warning")]


def test_future_period_is_one_error_not_two():
    submission, problems = _check(_json_submission(period="2031-01"))
    assert [p.code for p in problems] == ["PERIOD_IN_FUTURE"]


def test_csv_in_a_legacy_code_page_gets_advice_about_utf8():
    # Windows-1258, the Vietnamese code page, writes tone marks as separate combining characters.
    content = unicodedata.normalize("NFD", "section,code,category,value\nheader,reporter,,Chủ tịch\n").encode("cp1258")
    with pytest.raises(UnreadableFile) as caught:
        read_document("r.csv", content)
    assert caught.value.problem.code == "FILE_ENCODING_NOT_UTF8"
    assert "CSV UTF-8" in caught.value.problem.message("r.csv")


PERSONAL_DATA = [
    ("reporter", "Chị Lan 0912 345 678", "phone number"),
    ("reporter", "+84 912.345.678", "phone number"),
    ("reporter", "lan.nguyen@gmail.com", "e-mail"),
    ("reporter", "CCCD 001190012345", "national ID number"),
    ("club_name", "Mô hình chăn nuôi nhà chị Hoa, ĐT (0203) 3826 123", "phone number"),
    ("club_name", "CLB liên hệ hoa.tran (at) yahoo.com", "e-mail"),
    ("club_name", "Mô hình hộ ông A, CMND 123456789", "national ID number"),
]


@pytest.mark.parametrize(("field", "text", "kind"), PERSONAL_DATA)
def test_personal_data_in_free_text_rejects_the_report_without_quoting_it(field, text, kind):
    """The documented outcome (docs/submission_contract.md): the report is rejected with
    PERSONAL_DATA_IN_TEXT, the message names the file, row and field and the kind of data, and
    never repeats the data itself (messages are stored and sent back)."""
    payload = _json_submission()
    if field == "reporter":
        payload["header"]["reporter"] = text
    else:
        payload["clubs"][0]["club_name"] = text
    submission, problems = _check(payload, "06649_2023-05.json")
    assert submission is None
    (problem,) = [p for p in problems if p.code == "PERSONAL_DATA_IN_TEXT"]
    for language in ("vi", "en"):
        message = problem.message("06649_2023-05.json", language)
        assert "06649_2023-05.json" in message and kind in message
        digits = "".join(ch for ch in text if ch.isdigit())
        assert text not in message and (not digits or digits not in "".join(ch for ch in message if ch.isdigit()))
        assert "@" not in message and "(at)" not in message


@pytest.mark.parametrize(
    "text",
    [
        "Chủ tịch Hội LHPN xã",
        "CLB 5 không 3 sạch thôn 2",
        "Mô hình nuôi gà 2023",
        "CLB dân vũ khu 10/12",
        "Mô hình 2023 2024 2025",
    ],
)
def test_ordinary_names_and_roles_are_not_personal_data(text):
    payload = _json_submission(reporter=text)
    payload["clubs"][0]["club_name"] = text
    submission, problems = _check(payload)
    assert submission is not None and not [p for p in problems if p.code == "PERSONAL_DATA_IN_TEXT"]


@pytest.mark.parametrize(
    ("rows", "warned"),
    [
        # those helped since January are on the register
        (
            [("poor_members_helped_ytd", "total", "12"), ("poor_members_total", "total", "11")],
            "poor_members_helped_ytd (total) = 12 > poor_members_total (total) = 11",
        ),
        ([("poor_members_helped_ytd", "total", "11"), ("poor_members_total", "total", "11")], None),
        # the monthly person-times may exceed the register: a member helped twice counts twice
        ([("poor_members_helped", "total", "30"), ("poor_members_total", "total", "11")], None),
        # victims supported among those identified, category by category
        (
            [
                ("violence_victims_identified", "domestic_violence", "2"),
                ("violence_victims_identified", "trafficking_returnee", "5"),
                ("violence_victims_supported", "domestic_violence", "3"),
                ("violence_victims_supported", "trafficking_returnee", "1"),
            ],
            "violence_victims_supported (domestic_violence) = 3 > violence_victims_identified (domestic_violence) = 2",
        ),
        # without the whole in the report there is nothing to compare with
        ([("poor_members_helped_ytd", "total", "12")], None),
    ],
)
def test_a_part_above_its_whole_is_accepted_with_a_warning(rows, warned):
    payload = _json_submission()
    payload["values"] = [{"indicator_code": code, "category": category, "value": value} for code, category, value in rows]
    submission, problems = _check(payload, "06649_2023-05.json")
    assert submission is not None
    found = [p for p in problems if p.code == "VALUE_ABOVE_RELATED"]
    assert [p.detail for p in found] == ([warned] if warned else [])
    if warned:
        assert found[0].severity == "warning" and found[0].location.row is not None
