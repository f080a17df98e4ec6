"""A landing zone of hostile entries, one of each class of defect found by the hostile-sender audit
(issue 12), beside valid reports. Each entry comes with the outcome it must get: a ledger row
(accepted/rejected with a reason code) or a skip reason. Used by tests/test_hostile_landing.py and
runnable by hand to show the outcome on a real landing:

    .venv/bin/python tests/hostile_files.py LANDING_DIR      # then: QNWU_... qnwu ingest
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qnwu_warehouse.contract.files import write_csv, write_json, write_xlsx

VALID_UNIT = "06652"  # a ward of Hạ Long, valid through 2025-06
OTHER_UNIT = "06655"


@dataclass(frozen=True)
class Expected:
    outcome: str  # accepted | rejected | duplicate | skipped
    reason: str | None  # the reason code (rejected) or skip reason (skipped)


def report(unit: str = VALID_UNIT, period: str = "2023-03", **header) -> dict:
    """A small valid report of `unit` for `period`."""
    return {
        "header": {
            "unit_code": unit,
            "period": period,
            "submitted_at": f"{period}-28T09:00:00+07:00",
            "reporter": "Chủ tịch Hội LHPN phường",
            "template_version": "1",
            **header,
        },
        "values": [
            {"indicator_code": "news_items", "category": "total", "value": 3},
            {"indicator_code": "poor_members_total", "category": "total", "value": 12},
        ],
        "clubs": [
            {
                "club_id": "CLB-01",
                "club_type": "air_volleyball",
                "club_name": "CLB bóng chuyền hơi khu 1",
                "status": "active",
                "members": 20,
            }
        ],
    }


def _xlsx_with_far_cell() -> bytes:
    """A valid-looking workbook whose values sheet has one more cell at the sheet's last address:
    calamine would allocate 16,384 x 1,048,576 cells for it and abort the process."""
    return _patch_xlsx(
        write_xlsx(report(period="2023-04")),
        "Chỉ tiêu",
        lambda xml: xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'),
    )


def _xlsx_with_uncached_formula() -> bytes:
    """The value of news_items is a formula saved without its result: it reads as an empty cell."""

    def patch(xml: bytes) -> bytes:
        start = xml.index(b'<c r="C2"')
        end = xml.index(b"</c>", start) + len(b"</c>")
        return xml[:start] + b'<c r="C2"><f>1+2</f></c>' + xml[end:]

    return _patch_xlsx(write_xlsx(report(period="2023-05")), "Chỉ tiêu", patch)


def _xlsx_zip_bomb() -> bytes:
    """A workbook with a member that unpacks to far more than any report (compressed to a few KB)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(write_xlsx(report(period="2023-06")))) as source,
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            target.writestr(member, source.read(member))
        target.writestr("xl/media/padding.bin", b"\0" * 150_000_000)
    return buffer.getvalue()


def _patch_xlsx(content: bytes, sheet_title: str, patch) -> bytes:
    """Rewrite the worksheet XML of the sheet titled `sheet_title`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    workbook = source.read("xl/workbook.xml").decode()
    position = [i for i, part in enumerate(workbook.split("<sheet ")[1:], start=1) if f'name="{sheet_title}"' in part]
    sheet_path = f"xl/worksheets/sheet{position[0]}.xml"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member)
            target.writestr(member, patch(data) if member.filename == sheet_path else data)
    return buffer.getvalue()


def _csv_lines(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


CSV_HEAD = "section,code,category,value,club_type,club_name,status"


def _csv_header(unit: str = VALID_UNIT, period: str = "2023-07") -> list[str]:
    return [
        f"header,unit_code,,{unit},,,",
        f"header,period,,{period},,,",
        f"header,submitted_at,,{period}-28,,,",
        "header,reporter,,Chủ tịch,,,",
        "header,template_version,,1,,,",
    ]


def build(landing: Path, outside: Path) -> dict[str, Expected]:
    """Write the hostile landing into `landing` (and a report and a secret into `outside`, which
    links point to); returns {entry path relative to the landing: what it must become}."""
    landing.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Expected] = {}

    def put(name: str, content: bytes, outcome: str, reason: str | None = None) -> None:
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        expected[name] = Expected(outcome, reason)

    # valid reports in each format: they must load whatever sits beside them
    put("valid/06652_2023-01.xlsx", write_xlsx(report(period="2023-01")), "accepted")
    put("valid/06652_2023-02.csv", write_csv(report(period="2023-02")), "accepted")
    put("valid/06655_2023-01.json", write_json(report(OTHER_UNIT, "2023-01")), "accepted")

    # numbers beyond 64 bits, as CSV text, JSON integer and JSON float
    huge = report(period="2023-08")
    huge["values"][0]["value"] = "123456789012345678901234567890"
    put("huge_number.csv", write_csv(huge), "rejected", "VALUE_OUT_OF_RANGE")
    put(
        "huge_integer.json",
        json.dumps(report(period="2023-09")).replace('"value": 3', '"value": ' + "9" * 30).encode(),
        "rejected",
        "VALUE_OUT_OF_RANGE",
    )
    put(
        "huge_float.json",
        json.dumps(report(period="2023-10")).replace('"value": 3', '"value": 1e30').encode(),
        "rejected",
        "VALUE_OUT_OF_RANGE",
    )
    put(
        "enormous_integer.json",
        json.dumps(report(period="2023-11")).replace('"value": 3', '"value": ' + "7" * 5000).encode(),
        "rejected",
        "VALUE_OUT_OF_RANGE",
    )
    # a value over the indicator's own maximum (news items of one commune in one month)
    over = report(period="2023-12")
    over["values"][0]["value"] = 5_000_000
    put("over_indicator_max.json", write_json(over), "rejected", "VALUE_OUT_OF_RANGE")

    # JSON nested very deep
    put("deep.json", b'{"header": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "rejected", "FILE_TOO_COMPLEX")

    # a CSV field longer than the csv module's own limit (128 KB)
    long_field = report(period="2024-01")
    long_field["clubs"][0]["club_name"] = "x" * 300_000
    put("long_field.csv", write_csv(long_field), "rejected", "FIELD_TOO_LONG")

    # XLSX: one cell at the sheet's last address; a formula without a cached value; a zip bomb
    put("far_cell.xlsx", _xlsx_with_far_cell(), "rejected", "FILE_TOO_COMPLEX")
    put("uncached_formula.xlsx", _xlsx_with_uncached_formula(), "rejected", "FORMULA_NOT_CACHED")
    put("zip_bomb.xlsx", _xlsx_zip_bomb(), "rejected", "FILE_TOO_COMPLEX")

    # links, never followed: dangling, to a folder, to a secret outside, to a valid report outside
    secret = outside / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    outside_report = outside / "06652_2024-02.json"
    outside_report.write_bytes(write_json(report(period="2024-02")))
    (outside / "folder").mkdir(exist_ok=True)
    (outside / "folder" / "06652_2024-03.json").write_bytes(write_json(report(period="2024-03")))
    for name, target in (
        ("dangling.csv", outside / "missing.csv"),
        ("to_folder", outside / "folder"),
        ("passwd.csv", secret),
        ("outside_report.json", outside_report),
    ):
        os.symlink(target, landing / name)
        expected[name] = Expected("rejected", "FILE_IS_LINK")
    # a hard link to the secret: a regular file to look at, but the same file as one outside
    os.link(secret, landing / "hardlink.csv")
    expected["hardlink.csv"] = Expected("rejected", "FILE_IS_LINK")
    # a report under a name that is not UTF-8: stored with escapes, loaded like any report
    weird = os.fsdecode(b"06655_2023-03_\xff\xfe.json")
    (landing / weird).write_bytes(write_json(report(OTHER_UNIT, "2023-03")))
    expected["06655_2023-03_\\xff\\xfe.json"] = Expected("accepted", None)
    # a terminal escape and a bidirectional override in what a message quotes
    escape = report(period="2025-02")
    escape["clubs"][0]["club_type"] = "\x1b[2J\x1b[31mpwned\u202e"
    put("escape_sequences.json", write_json(escape), "rejected", "CLUB_TYPE_UNKNOWN")
    # a FIFO: opening it for reading would block the run forever
    os.mkfifo(landing / "pipe.csv")
    expected["pipe.csv"] = Expected("rejected", "FILE_NOT_REGULAR")

    # ambiguous files: duplicate JSON keys, a header field twice in a CSV, a column twice
    twice = json.dumps(report(period="2024-04"), ensure_ascii=False)
    put(
        "unit_code_twice.json",
        twice.replace('"unit_code": "06652"', f'"unit_code": "06652", "unit_code": "{OTHER_UNIT}"').encode(),
        "rejected",
        "KEY_DUPLICATE",
    )
    put("values_twice.json", twice.replace('"clubs":', '"values": [], "clubs":').encode(), "rejected", "KEY_DUPLICATE")
    put(
        "header_twice.csv",
        _csv_lines(CSV_HEAD, *_csv_header(), f"header,unit_code,,{OTHER_UNIT},,,", "value,news_items,total,3,,,"),
        "rejected",
        "HEADER_FIELD_DUPLICATE",
    )
    put(
        "column_twice.csv",
        _csv_lines(CSV_HEAD + ",value", *[line + "," for line in _csv_header(period="2024-05")]),
        "rejected",
        "COLUMN_DUPLICATE",
    )

    # hidden and temporary names: skipped with a reason, never read as reports
    put(".06652_2024-06.json", write_json(report(period="2024-06")), "skipped", "TEMPORARY_NAME")
    put("06652_2024-07.json.part", write_json(report(period="2024-07")), "skipped", "TEMPORARY_NAME")
    put("~$06652_2024-08.xlsx", b"lock", "skipped", "TEMPORARY_NAME")
    # a folder being uploaded under a hidden name: each file in it is skipped with its own row
    put(".upload-in-progress/06652_2024-09.json", write_json(report(period="2024-09")), "skipped", "TEMPORARY_NAME")
    put(".upload-in-progress/deeper/06652_2024-10.csv", write_csv(report(period="2024-10")), "skipped", "TEMPORARY_NAME")

    # a file over the size limit (the tests set QNWU_MAX_FILE_BYTES to 1 MB): never read whole
    put("too_large.csv", _csv_lines(CSV_HEAD) + b"value,news_items,total,1,,,\n" * 60_000, "rejected", "FILE_TOO_LARGE")
    # a file with thousands of problems: the letter lists 50, then counts the rest
    put(
        "many_problems.csv",
        _csv_lines(CSV_HEAD, *_csv_header(period="2024-09"), *[f"value,bad_{n},total,-1,,," for n in range(1500)]),
        "rejected",
        "PROBLEMS_TRUNCATED",
    )
    # UTF-16, as Excel's "Unicode text" saves it
    put("utf16.csv", write_csv(report(period="2024-10")).decode().encode("utf-16"), "rejected", "FILE_ENCODING_NOT_UTF8")
    # a report dated in 2032 would stay the current version forever
    put(
        "from_the_future.json",
        write_json(report(period="2024-11", submitted_at="2032-01-01T08:00:00+07:00")),
        "rejected",
        "SUBMITTED_AT_IN_FUTURE",
    )
    # a unit that had merged away by the period: the message names the successor
    put("merged_unit.json", write_json(report("06682", "2025-08")), "rejected", "UNIT_NOT_VALID_IN_PERIOD")
    # bytes that are no report at all, under each name
    put("garbage.xlsx", os.urandom(4096), "rejected", "FILE_TYPE_MISMATCH")
    put("garbage.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(1, 256)) * 8, "rejected", "FILE_TYPE_MISMATCH")
    put(
        "latin1.csv",
        write_csv(report(period="2024-12")).decode().encode("cp1258", "replace"),
        "rejected",
        "FILE_ENCODING_NOT_UTF8",
    )
    put("empty.csv", b"", "rejected", "FILE_EMPTY")
    # the same bytes as a valid report under another name
    put("zz_copy_of_valid.csv", write_csv(report(period="2023-02")), "duplicate")
    return expected


if __name__ == "__main__":
    target = Path(sys.argv[1])
    outcomes = build(target, target.parent / (target.name + "-outside"))
    for name, want in sorted(outcomes.items()):
        print(f"{want.outcome:<9} {want.reason or '':<26} {name}")
