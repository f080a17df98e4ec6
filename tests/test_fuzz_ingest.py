"""Fuzzing the readers and the contract with malformed submission files (issue 12).

Valid reports in each format (tests/hostile_files.py `report()`, written by qnwu_warehouse.contract.files) are
mutated by Hypothesis: random byte flips, insertions and truncations, huge numbers, deep nesting,
duplicate keys, odd Unicode, NULs, BOMs, very long fields, JSON values of the wrong type, damaged
zip members and extra cells or formulas in the sheet XML. Whatever the bytes, a file must come out
accepted (warnings only) or rejected with known reason codes whose messages format in both
languages, never as an exception, and never with more problems than the per-file limit:

- the bulk goes through `isolation.examine` in this process, the reader and the contract as they are;
- a smaller set through the real isolated pool (`IsolatedExaminer`): a result for every job;
- one end-to-end `ingest()` of a landing holding a batch of fuzzed files: the ledger balances.

Seeds are fixed (`derandomize=True`) and example counts bounded, so the run is the same in CI.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from qnwu_warehouse.contract.files import write_csv, write_json, write_xlsx
from qnwu_warehouse.contract.limits import CONTRACT_LIMITS
from qnwu_warehouse.contract.rules import REASONS
from qnwu_warehouse.ingest.isolation import Examined, IsolatedExaminer, Job, WorkerLimits, examine
from qnwu_warehouse.ingest.loader import ingest
from qnwu_warehouse.settings import SEEDS_DIR, Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_files import OTHER_UNIT, VALID_UNIT, report  # noqa: E402

# tests/conftest.py sets it already; the ingest below must never wait for files to settle.
os.environ.setdefault("QNWU_LANDING_SETTLE_SECONDS", "0")

TODAY = date(2024, 1, 31)
RECEIVED_AT = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)
LIMITS = CONTRACT_LIMITS
FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# --- checking one result ---------------------------------------------------------------------
def assert_well_formed(name: str, examined: Examined, limits=LIMITS) -> None:
    """Accepted with warnings only, or rejected with at least one known error; bounded; printable."""
    assert isinstance(examined, Examined)
    problems = examined.problems
    assert len(problems) <= limits.max_problems_per_file, [p.code for p in problems]
    for problem in problems:
        assert problem.code in REASONS, problem
        for language in ("vi", "en"):
            message = problem.message(name, language)
            assert isinstance(message, str) and message
            # a message quotes at most the start of what the file held
            assert len(message) < 2_000, message[:200]
    if examined.submission is not None:
        assert all(p.severity == "warning" for p in problems), [p.code for p in problems]
    else:
        assert any(p.severity == "error" for p in problems), [p.code for p in problems]


def examine_here(name: str, content: bytes) -> Examined:
    examined = examine(Job(0, name, content, RECEIVED_AT, TODAY), SEEDS_DIR, LIMITS)
    assert_well_formed(name, examined)
    # what the examples came to (pytest --hypothesis-show-statistics): the fuzzing reaches past the readers
    if currently_in_test_context():
        event("accepted" if examined.submission is not None else f"rejected {examined.problems[0].code}")
    return examined


# --- valid reports to start from -------------------------------------------------------------
PERIODS = ("2023-01", "2023-03", "2023-12", "2024-01")


@st.composite
def reports(draw) -> dict:
    payload = report(draw(st.sampled_from((VALID_UNIT, OTHER_UNIT))), draw(st.sampled_from(PERIODS)))
    return payload


# --- values a hostile or careless sender puts in a cell ----------------------------------------
ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ufeff",
        "\u200b",
        "\u202e06652",
        "e\u0301",
        "\U0001f600",
        "\ud7ff",
        "０６６５２",
        "٠٦٦٥٢",
        "1\u00a0000",
        "1.100",
        "1,100",
        "1,5",
        "-0",
        "-3",
        "+3",
        "3e3",
        "0x10",
        "NaN",
        "inf",
        "None",
        "=1+2",
        "@SUM(A1)",
        "\r\n",
        '"',
        "'",
        "\\",
        "<c r='XFD1048576'>",
        "&amp;",
        "\t3\t",
        "2023-02-30",
        "2023-13",
        "9999-12",
        "0000-01",
        "2032-01-01T08:00:00+07:00",
        "2023-03-28T25:00",
        "2023-03-28T09:00:00+14:00",
        "total",
        "female",
    ]
)
# long ones made when drawn, so that Hypothesis's statistics do not print them
ODD_TEXT = st.one_of(
    ODD_TEXT,
    st.sampled_from([("0", 30), ("9", 25), ("7", 5000), ("x", 201), ("x", 300_000), ("\u0301", 1000)]).map(
        lambda pair: pair[0] * pair[1]
    ),
)
ODD_TEXT_ANY = st.one_of(ODD_TEXT, st.text(max_size=40), st.text(st.characters(codec="utf-8"), max_size=12))
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 2**63, 2**64, 10**15, 10**15 + 1, 10**19]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e-308, 5e-324, 2.5, 3.0]),
    ODD_TEXT_ANY,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


# --- byte-level mutations, for every format ---------------------------------------------------
@st.composite
def byte_mutations(draw, content: bytes) -> bytes:
    data = bytearray(content)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        operation = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate", "prefix"]))
        if not data:
            data.extend(draw(st.binary(min_size=1, max_size=8)))
            continue
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        if operation == "flip":
            data[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif operation == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=16),
                    st.sampled_from(
                        [
                            b"\x00",
                            b"\xef\xbb\xbf",
                            b"\xff\xfe",
                            b'"',
                            b",",
                            b"\n",
                            b"{",
                            b"[",
                            b"\r",
                            b"\xc3",
                            b"\xed\xa0\x80",
                        ]
                    ),
                )
            )
        elif operation == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=32))]
        elif operation == "truncate":
            del data[at:]
        elif operation == "duplicate":
            end = min(len(data), at + draw(st.integers(min_value=1, max_value=200)))
            data[end:end] = data[at:end]
        else:
            data[0:0] = draw(
                st.sampled_from(
                    [
                        b"\xef\xbb\xbf",
                        b"\xef\xbb\xbf\xef\xbb\xbf",
                        b"\xff\xfe",
                        b"\xfe\xff",
                        b"\x00\x00\xfe\xff",
                        b"PK\x03\x04",
                        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                        b" \n\t",
                        b"\x00",
                    ]
                )
            )
    return bytes(data)


# --- CSV ---------------------------------------------------------------------------------------
@st.composite
def malformed_csv(draw) -> bytes:
    text = write_csv(draw(reports())).decode("utf-8")
    lines = text.splitlines()
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        operation = draw(
            st.sampled_from(["cell", "dup_line", "drop_line", "extra_cells", "dup_column", "quote", "many_rows"])
        )
        index = draw(st.integers(min_value=0, max_value=max(0, len(lines) - 1)))
        if not lines:
            break
        cells = lines[index].split(",")
        if operation == "cell":
            position = draw(st.integers(min_value=0, max_value=len(cells) - 1))
            value = draw(ODD_TEXT_ANY)
            cells[position] = '"' + value.replace('"', '""') + '"' if draw(st.booleans()) else value
            lines[index] = ",".join(cells)
        elif operation == "dup_line":
            lines.insert(index, lines[index])
        elif operation == "drop_line":
            del lines[index]
        elif operation == "extra_cells":
            lines[index] += "," * draw(st.integers(min_value=1, max_value=300))
        elif operation == "dup_column":
            lines[0] += "," + draw(st.sampled_from(["section", "code", "value", "category", "status"]))
        elif operation == "quote":
            lines[index] = '"' + lines[index]
        else:
            row = draw(
                st.sampled_from(
                    [
                        "value,news_items,total,1,,,",
                        "club,C,,1,air_volleyball,n,active",
                        "header,reporter,,x,,,",
                        ",,,,,,",
                        "bogus,x,,1,,,",
                    ]
                )
            )
            lines.extend([row] * draw(st.sampled_from([10, 60, 2_001, 4_100])))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    content = newline.join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        content = draw(byte_mutations(content))
    return content


# --- JSON --------------------------------------------------------------------------------------
@st.composite
def malformed_json(draw) -> bytes:
    payload = draw(reports())
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        operation = draw(
            st.sampled_from(["header_value", "row_value", "section", "drop", "extra_row", "many_rows", "extra_key"])
        )
        if operation == "header_value":
            header = payload.get("header")
            if isinstance(header, dict) and header:
                header[draw(st.sampled_from(sorted(header)))] = draw(JSON_VALUES)
        elif operation == "row_value":
            rows = payload.get(draw(st.sampled_from(["values", "clubs"])))
            if isinstance(rows, list) and rows and isinstance(rows[0], dict) and rows[0]:
                rows[0][draw(st.sampled_from(sorted(rows[0])))] = draw(JSON_VALUES)
        elif operation == "section":
            payload[draw(st.sampled_from(["header", "values", "clubs"]))] = draw(JSON_VALUES)
        elif operation == "drop":
            payload.pop(draw(st.sampled_from(["header", "values", "clubs"])), None)
        elif operation == "extra_row":
            section = draw(st.sampled_from(["values", "clubs"]))
            if isinstance(payload.get(section), list):
                payload[section].append(draw(JSON_VALUES))
        elif operation == "many_rows":
            if isinstance(payload.get("values"), list):
                payload["values"].extend(
                    [{"indicator_code": "news_items", "category": "total", "value": 1}] * draw(st.sampled_from([60, 2_001]))
                )
        else:
            payload[draw(st.text(max_size=10))] = draw(JSON_VALUES)
    try:
        text = json.dumps(payload, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
    except (TypeError, ValueError):
        text = write_json(report()).decode()
    textual = draw(st.sampled_from(["none", "dup_key", "deep", "huge_int", "bare", "nan"]))
    if textual == "dup_key":
        key = draw(st.sampled_from(["unit_code", "period", "values", "header", "value", "club_id"]))
        text = re.sub(rf'"{key}":', f'"{key}": null, "{key}":', text, count=1)
    elif textual == "deep":
        depth = draw(st.sampled_from([50, 999, 5_000, 200_000]))
        text = text.replace('"values":', '"values": ' + "[" * depth + "]" * depth + ', "x":', 1)
    elif textual == "huge_int":
        text = text.replace(
            '"value": 3',
            '"value": ' + draw(st.sampled_from(["9" * 21, "7" * 5000, "-" + "9" * 25, "1e400", "-0", "3.0000000001"])),
            1,
        )
    elif textual == "bare":
        text = draw(st.sampled_from(["[]", '"text"', "3", "null", "true", "{}", "[" + text + "]"]))
    elif textual == "nan":
        text = text.replace('"value": 3', '"value": ' + draw(st.sampled_from(["NaN", "Infinity", "-Infinity"])), 1)
    content = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        content = draw(byte_mutations(content))
    return content


# --- XLSX --------------------------------------------------------------------------------------
_BASE_XLSX: dict[tuple[str, str], bytes] = {}


def _base_xlsx(unit: str, period: str) -> bytes:
    if (unit, period) not in _BASE_XLSX:
        _BASE_XLSX[unit, period] = write_xlsx(report(unit, period))
    return _BASE_XLSX[unit, period]


SHEET_FRAGMENTS = st.sampled_from(
    [
        b'<row r="{row}"><c r="{col}{row}" t="n"><v>1</v></c></row>',
        b"<row r='{row}'><c r='{col}{row}' t='n'><v>1</v></c></row>",
        b'<row r = "{row}"><c r = "{col}{row}"><v>1</v></c></row>',
        b'<row><c t="n"><v>7</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}"><f>1+2</f></c></row>',
        b'<row r="{row}"><c r="{col}{row}"><f>1+2</f><v>3</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}" t="str"><f>A1&amp;"x"</f></c></row>',
        b'<row r="{row}"><c r="{col}{row}" t="inlineStr"><is><t>\xe2\x80\xae\x00x</t></is></c></row>',
        b'<row r="{row}"><c r="{col}{row}" t="b"><v>2</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}" t="e"><v>#DIV/0!</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}" t="s"><v>99999</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}" t="d"><v>not-a-date</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}"><v>1e308</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}"><v>NaN</v></c></row>',
        b'<row r="{row}"><c r="{col}{row}"',
        b"<c><c><c><f>",
        b"<!-- <c r='XFD1048576'> -->",
        b'<row r="{row}">' + b'<c t="n"><v>1</v></c>' * 300 + b"</row>",
        b"<row/>" * 3_100,
    ]
)
COLUMNS = st.sampled_from([b"A", b"B", b"C", b"D", b"E", b"Z", b"IV", b"IW", b"XFD", b"a", b"AAAA"])
ROWS = st.sampled_from(
    [b"1", b"2", b"3", b"4", b"50", b"2002", b"3001", b"4002", b"1048576", b"10485760", b"0", b"99999999999"]
)


def _patch_member(content: bytes, patches: dict[str, object]) -> bytes:
    """Rewrite members of a zip: name -> new bytes, None (drop) or a function of the old bytes."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member)
            patch = patches.get(member.filename, data)
            if callable(patch):
                patch = patch(data)
            if patch is not None:
                target.writestr(member.filename, patch)
        for name, patch in patches.items():
            if name not in source.namelist() and isinstance(patch, bytes):
                target.writestr(name, patch)
    return buffer.getvalue()


@st.composite
def malformed_xlsx(draw) -> bytes:
    content = _base_xlsx(draw(st.sampled_from((VALID_UNIT, OTHER_UNIT))), draw(st.sampled_from(PERIODS)))
    operation = draw(
        st.sampled_from(
            [
                "sheet_xml",
                "sheet_xml",
                "sheet_xml",
                "member_bytes",
                "drop_member",
                "strings",
                "workbook",
                "raw_bytes",
                "extra_member",
            ]
        )
    )
    sheet = draw(st.sampled_from(["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"]))
    if operation == "sheet_xml":
        fragments = [
            draw(SHEET_FRAGMENTS).replace(b"{row}", draw(ROWS)).replace(b"{col}", draw(COLUMNS))
            for _ in range(draw(st.integers(min_value=1, max_value=3)))
        ]
        where = draw(st.sampled_from([b"</sheetData>", b"<sheetData>", b"</row>"]))

        def patch(xml: bytes) -> bytes:
            return xml.replace(
                where, b"".join(fragments) + where if where != b"<sheetData>" else where + b"".join(fragments), 1
            )

        patches: dict[str, object] = {sheet: patch}
        if draw(st.booleans()):
            dimension = draw(
                st.sampled_from(
                    [
                        b'<dimension ref="A1:XFD1048576"/>',
                        b"<dimension ref='A1:IW2'/>",
                        b'<dimension ref="A1"/>',
                        b"",
                        b'<dimension ref="A1:D99999999"/>',
                    ]
                )
            )
            patches[sheet] = lambda xml: re.sub(rb"<dimension [^>]*/>", dimension, patch(xml), count=1)
        content = _patch_member(content, patches)
    elif operation == "member_bytes":
        member = draw(
            st.sampled_from(
                [
                    "xl/workbook.xml",
                    "xl/sharedStrings.xml",
                    "xl/styles.xml",
                    sheet,
                    "[Content_Types].xml",
                    "xl/_rels/workbook.xml.rels",
                ]
            )
        )
        content = _patch_member(content, {member: lambda data: draw(byte_mutations(data))})
    elif operation == "drop_member":
        member = draw(
            st.sampled_from(
                [
                    "xl/workbook.xml",
                    "xl/sharedStrings.xml",
                    "xl/styles.xml",
                    sheet,
                    "[Content_Types].xml",
                    "xl/_rels/workbook.xml.rels",
                ]
            )
        )
        content = _patch_member(content, {member: None})
    elif operation == "strings":
        odd = draw(ODD_TEXT).encode("utf-8", "surrogatepass").replace(b"&", b"&amp;").replace(b"<", b"&lt;")
        content = _patch_member(
            content,
            {
                "xl/sharedStrings.xml": lambda data: re.sub(
                    rb"<t>[^<]*</t>", b"<t>" + odd + b"</t>", data, count=draw(st.integers(min_value=1, max_value=30))
                )
            },
        )
    elif operation == "workbook":
        second_values_sheet = '<sheets><sheet name="Chỉ tiêu" sheetId="9" r:id="rId2"/>'.encode()
        replacement = draw(
            st.sampled_from(
                [
                    (b'name="Ch', b'name="X'),
                    (b'r:id="rId2"', b'r:id="rId9"'),
                    (b"<sheets>", second_values_sheet),
                    (b'name="', b"name='"),
                    (b"</sheets>", b""),
                ]
            )
        )
        content = _patch_member(content, {"xl/workbook.xml": lambda data: data.replace(*replacement, 1)})
    elif operation == "extra_member":
        content = _patch_member(
            content,
            {
                draw(
                    st.sampled_from(
                        ["xl/worksheets/sheet9.xml", "xl/media/x.bin", "../escape.xml", "xl/worksheets/sheet2.xml/"]
                    )
                ): draw(
                    st.sampled_from([b"", b"<worksheet/>", b"\x00" * 1000, b'<sheetData><row r="1048576"/></sheetData>'])
                )
            },
        )
    else:
        content = draw(byte_mutations(content))
    return content


# --- any file under any name ----------------------------------------------------------------
@st.composite
def fuzzed_files(draw) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(["csv", "json", "xlsx"]))
    content = draw({"csv": malformed_csv(), "json": malformed_json(), "xlsx": malformed_xlsx()}[fmt])
    # now and then the name does not say what the bytes are
    suffix = (
        fmt
        if draw(st.integers(min_value=0, max_value=5))
        else draw(st.sampled_from(["csv", "json", "xlsx", "xls", "CSV", "txt", ""]))
    )
    return f"06652_2023-03.{suffix}".rstrip("."), content


# --- 1. in-process: the bulk of the examples ----------------------------------------------------
@settings(FUZZ, max_examples=800)
@given(malformed_csv())
def test_fuzzed_csv_is_accepted_or_rejected_with_reasons(content: bytes):
    examine_here("06652_2023-03.csv", content)


@settings(FUZZ, max_examples=800)
@given(malformed_json())
def test_fuzzed_json_is_accepted_or_rejected_with_reasons(content: bytes):
    examine_here("06652_2023-03.json", content)


@settings(FUZZ, max_examples=500)
@given(malformed_xlsx())
def test_fuzzed_xlsx_is_accepted_or_rejected_with_reasons(content: bytes):
    examine_here("06652_2023-03.xlsx", content)


@settings(FUZZ, max_examples=300)
@given(fuzzed_files())
def test_fuzzed_files_under_any_name_are_accepted_or_rejected(file: tuple[str, bytes]):
    examine_here(*file)


@pytest.mark.parametrize(
    "fragment",
    [
        b"<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>",  # single-quoted addresses
        b'<row r = "1048576"><c r = "XFD1048576"><v>1</v></c></row>',  # spaces around "="
        b'<row><c r="xfd1048576"><v>1</v></c></row>',  # a lowercase address
        b'<row r="5"><c r="A10485760"><v>1</v></c></row>',  # more than 7 digits
        b"<row/>" * 1_100_000 + b'<row><c t="n"><v>1</v></c></row>',  # rows without addresses
        b'<row r="4">' + b'<c t="n"><v>1</v></c>' * 20_000 + b"</row>",  # cells without addresses
    ],
)
def test_far_cells_the_fuzzer_found_are_refused_before_calamine_reads_them(fragment: bytes):
    """Each of these passed the XLSX shape check once and made calamine abort the process or run
    for minutes; the check now sees them and refuses the file with FILE_TOO_COMPLEX."""
    content = _patch_member(
        _base_xlsx(VALID_UNIT, "2023-03"),
        {"xl/worksheets/sheet2.xml": lambda xml: xml.replace(b"</sheetData>", fragment + b"</sheetData>")},
    )
    examined = examine_here("far.xlsx", content)
    assert [p.code for p in examined.problems] == ["FILE_TOO_COMPLEX"]


def test_a_worksheet_outside_xl_worksheets_is_checked_too():
    def moved(content: bytes) -> bytes:
        source = zipfile.ZipFile(io.BytesIO(content))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for member in source.infolist():
                name, data = member.filename, source.read(member)
                if name == "xl/_rels/workbook.xml.rels":
                    data = data.replace(b"worksheets/sheet2.xml", b"elsewhere/s2.xml")
                elif name == "xl/worksheets/sheet2.xml":
                    name = "xl/elsewhere/s2.xml"
                    data = data.replace(
                        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
                    )
                target.writestr(name, data)
        return buffer.getvalue()

    examined = examine_here("moved.xlsx", moved(_base_xlsx(VALID_UNIT, "2023-03")))
    assert [p.code for p in examined.problems] == ["FILE_TOO_COMPLEX"]


def test_the_unmutated_reports_are_accepted():
    for name, writer in (("r.csv", write_csv), ("r.json", write_json), ("r.xlsx", write_xlsx)):
        examined = examine_here(name, writer(report()))
        assert examined.submission is not None and examined.problems == ()


# --- 2. the real isolated pool ------------------------------------------------------------------
POOL_SECONDS = 20.0


@pytest.fixture(scope="module")
def pool():
    with IsolatedExaminer(2, SEEDS_DIR, LIMITS, WorkerLimits(512 * 2**20, POOL_SECONDS)) as examiner:
        examiner.start(2)
        yield examiner


@settings(FUZZ, max_examples=6, suppress_health_check=list(HealthCheck))
@given(files=st.lists(fuzzed_files(), min_size=6, max_size=10))
def test_the_isolated_pool_answers_every_fuzzed_file(pool, files: list[tuple[str, bytes]]):
    jobs = [Job(key, name, content, RECEIVED_AT, TODAY) for key, (name, content) in enumerate(files)]
    started = time.monotonic()
    results: dict[int, Examined] = {}
    for key, examined in pool.examine_all(jobs):
        assert key not in results, f"job {key} answered twice"
        results[key] = examined
    assert time.monotonic() - started < POOL_SECONDS * len(jobs) / 2 + 10
    assert sorted(results) == [job.key for job in jobs]
    for job in jobs:
        assert_well_formed(job.file_name, results[job.key])
        # the pool gives what the reader and the contract give here, unless a worker died
        if not any(p.code == "FILE_TOO_COMPLEX" for p in results[job.key].problems):
            here = examine(job, SEEDS_DIR, LIMITS)
            assert [p.code for p in results[job.key].problems] == [p.code for p in here.problems]


# --- 3. one ingest of a landing of fuzzed files ------------------------------------------------
@settings(FUZZ, max_examples=1, suppress_health_check=list(HealthCheck))
@given(files=st.lists(fuzzed_files(), min_size=40, max_size=40))
def test_one_ingest_of_a_fuzzed_landing_balances(data_dir: Path, files: list[tuple[str, bytes]]):
    run = data_dir / f"run-{len(list(data_dir.iterdir()))}"  # a fresh data directory for each example
    run.mkdir()
    os.environ["QNWU_DATA_DIR"] = str(run)  # data_dir's monkeypatch restores it after the test
    os.environ["QNWU_INGEST_WORKERS"] = "2"
    os.environ["QNWU_INGEST_FILE_SECONDS"] = "20"
    try:
        settings_ = Settings.from_env()
        settings_.ensure_data_dir()  # what the CLI does before it ingests
        landing = Path(settings_.landing_url)
        landing.mkdir(parents=True)
        names = []
        for number, (name, content) in enumerate(files):
            names.append(f"{number:03d}_{name}")
            (landing / names[-1]).write_bytes(content)
        # and one valid report of each format beside them
        for name, writer in (("valid.csv", write_csv), ("valid.json", write_json), ("valid.xlsx", write_xlsx)):
            names.append(name)
            (landing / name).write_bytes(writer(report(period="2023-0" + str(len(names) % 3 + 4))))
        summary = ingest(settings_, load_id="fuzz", today=TODAY)
    finally:
        os.environ.pop("QNWU_INGEST_WORKERS", None)
        os.environ.pop("QNWU_INGEST_FILE_SECONDS", None)
    assert summary.accepted + summary.rejected + summary.duplicates == summary.files_new
    assert summary.files_new == len(names) and summary.skipped == 0
    with duckdb.connect(str(settings_.working_warehouse), read_only=True) as con:
        ledger = dict(con.execute("select source_path, outcome from raw.received_files").fetchall())
        codes = {code for (code,) in con.execute("select distinct reason_code from raw.submission_problems").fetchall()}
        rejected_without_reason = con.execute("""select count(*) from raw.received_files f where outcome = 'rejected'
            and not exists (select 1 from raw.submission_problems p where p.file_hash = f.file_hash
                            and p.severity = 'error')""").fetchone()[0]
    assert sorted(ledger) == sorted(names)
    assert codes <= set(REASONS)
    assert rejected_without_reason == 0
    for name in ("valid.csv", "valid.json", "valid.xlsx"):
        assert ledger[name] in ("accepted", "duplicate"), name
