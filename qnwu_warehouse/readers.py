"""Readers for the three submission formats: the XLSX template, CSV and JSON.

Each reader turns bytes into a :class:`~qnwu_warehouse.contract.Document` without judging the
values (that is the contract's job) but remembering where every cell was, so a problem can be
reported as "file, sheet, row, column". A file that cannot be read at all raises
:class:`~qnwu_warehouse.contract.UnreadableFile` with the reason.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import PurePath

from python_calamine import CalamineWorkbook

from qnwu_warehouse.contract import (
    CLUB_COLUMNS,
    HEADER_FIELDS,
    SECTION_SHEETS,
    VALUE_COLUMNS,
    Document,
    Location,
    Problem,
    SectionRow,
    UnreadableFile,
    clean_text,
)

# The CSV form: one table, a `section` column saying which part of the report a row is.
# header rows:  section=header, code=<field>,        value=<field value>
# value rows:   section=value,  code=<indicator>,    category, value
# club rows:    section=club,   code=<club id>,      club_type, club_name, status, value=<members>
CSV_COLUMNS = ("section", "code", "category", "value", "club_type", "club_name", "status")
_CSV_SECTION_FIELDS = {
    "value": {"code": "indicator_code", "category": "category", "value": "value"},
    "club": {"code": "club_id", "club_type": "club_type", "club_name": "club_name", "status": "status",
             "value": "members"},
}

# .xls (Excel 97-2003) is what older office computers still save; calamine reads it like XLSX.
FORMATS = {".xlsx": "xlsx", ".xls": "xlsx", ".csv": "csv", ".json": "json"}
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def detect_format(file_name: str) -> str | None:
    return FORMATS.get(PurePath(file_name).suffix.lower())


def read_document(file_name: str, content: bytes) -> tuple[str, Document]:
    """Read a submission file of any supported format; returns (format, document)."""
    fmt = detect_format(file_name)
    if fmt is None:
        raise UnreadableFile(Problem("FILE_FORMAT_UNSUPPORTED", Location("(file)"),
                                     PurePath(file_name).suffix or "no extension"))
    if len(content.strip()) == 0:
        raise UnreadableFile(Problem("FILE_EMPTY", Location("(file)")))
    reader: Callable[[bytes], Document] = {"xlsx": read_xlsx, "csv": read_csv, "json": read_json}[fmt]
    return fmt, reader(content)


# --- XLSX -------------------------------------------------------------------------------------
def read_xlsx(content: bytes) -> Document:
    if not content.startswith((XLSX_MAGIC, XLS_MAGIC)):
        raise UnreadableFile(Problem("FILE_TYPE_MISMATCH", Location("(file)"), "XLSX"))
    try:
        if content.startswith(XLSX_MAGIC):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                broken = archive.testzip()
                if broken is not None:
                    raise zipfile.BadZipFile(f"damaged member {broken}")
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets = {clean_text(name): name for name in workbook.sheet_names}
        document = Document()

        def rows_of(section: str) -> list[list[object]] | None:
            wanted = SECTION_SHEETS[section]
            if wanted not in sheets:
                document.problems.append(Problem("SECTION_MISSING", Location(wanted), wanted))
                return None
            return workbook.get_sheet_by_name(sheets[wanted]).to_python(skip_empty_area=False)

        header_rows = rows_of("header")
        if header_rows is not None:
            _xlsx_header(header_rows, document)
        for section, columns, target in (("values", VALUE_COLUMNS, document.values),
                                         ("clubs", CLUB_COLUMNS, document.clubs)):
            rows = rows_of(section)
            if rows is not None:
                target.extend(_table_rows(SECTION_SHEETS[section], rows, columns, document.problems))
        return document
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine and zipfile raise many types for damaged files
        raise UnreadableFile(Problem("FILE_CORRUPT", Location("(file)"), type(exc).__name__)) from None


def _xlsx_header(rows: list[list[object]], document: Document) -> None:
    """The header sheet has one field a row: label (col A), field key (col B), value (col C)."""
    sheet = SECTION_SHEETS["header"]
    by_label = {label: key for key, label in HEADER_FIELDS.items()}
    for index, row in enumerate(rows[1:], start=2):
        cells = list(row) + [None] * 3
        key = clean_text(cells[1])
        key = key if key in HEADER_FIELDS else by_label.get(clean_text(cells[0]), "")
        if key:
            document.header[key] = (cells[2], Location(sheet, index, "Giá trị"))


def _table_rows(sheet: str, rows: list[list[object]], columns: dict[str, str],
                problems: list[Problem], first_row_number: int = 1) -> list[SectionRow]:
    """Rows of a table whose first row holds headings, matched by Vietnamese heading or key."""
    if not rows:
        problems.append(Problem("SECTION_MISSING", Location(sheet), sheet))
        return []
    headings = [clean_text(cell) for cell in rows[0]]
    positions: dict[str, int] = {}
    for key, label in columns.items():
        for position, heading in enumerate(headings):
            if heading in (label, key):
                positions[key] = position
                break
        else:
            if key not in ("category", "club_name"):  # optional columns
                problems.append(Problem("COLUMN_MISSING", Location(sheet, first_row_number, label), label))
    result = []
    for offset, row in enumerate(rows[1:], start=1):
        if all(clean_text(cell) == "" for cell in row):
            continue
        cells = {key: (row[pos] if pos < len(row) else None) for key, pos in positions.items()}
        result.append(SectionRow(sheet, first_row_number + offset, cells,
                                 {key: headings[pos] for key, pos in positions.items()}))
    return result


# --- CSV --------------------------------------------------------------------------------------
def _decode_text(content: bytes, fmt: str) -> str:
    if content.startswith((XLSX_MAGIC, XLS_MAGIC)) or b"\x00" in content[:4096]:
        raise UnreadableFile(Problem("FILE_TYPE_MISMATCH", Location("(file)"), fmt))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile(Problem("FILE_ENCODING_NOT_UTF8", Location("(file)"))) from None


def read_csv(content: bytes) -> Document:
    text = _decode_text(content, "CSV")
    document = Document()
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise UnreadableFile(Problem("FILE_EMPTY", Location("(file)")))
    headings = [clean_text(cell) for cell in rows[0]]
    missing = [name for name in ("section", "code", "value") if name not in headings]
    for name in missing:
        document.problems.append(Problem("COLUMN_MISSING", Location("CSV", 1, name), name))
    if missing:
        return document
    index = {name: headings.index(name) for name in CSV_COLUMNS if name in headings}
    for line_number, row in enumerate(rows[1:], start=2):
        if all(clean_text(cell) == "" for cell in row):
            continue
        cell = {name: (row[pos] if pos < len(row) else None) for name, pos in index.items()}
        section = clean_text(cell["section"]).lower()
        if section == "header":
            key = clean_text(cell["code"])
            document.header[key] = (cell["value"], Location("CSV", line_number, "value"))
        elif section in _CSV_SECTION_FIELDS:
            mapping = _CSV_SECTION_FIELDS[section]
            fields = {canonical: cell.get(column) for column, canonical in mapping.items()}
            target = document.values if section == "value" else document.clubs
            target.append(SectionRow("CSV", line_number, fields,
                                     {canonical: column for column, canonical in mapping.items()}))
        else:
            document.problems.append(Problem("SECTION_MISSING", Location("CSV", line_number, "section"),
                                             f"section={section or '(empty)'}"))
    for section, name in (("header", "header"), ("values", "value"), ("clubs", "club")):
        if section == "header" and not document.header:
            document.problems.append(Problem("SECTION_MISSING", Location("CSV"), f"section={name}"))
    return document


# --- JSON -------------------------------------------------------------------------------------
def read_json(content: bytes) -> Document:
    text = _decode_text(content, "JSON")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(Problem("FILE_CORRUPT", Location("(file)", exc.lineno, None),
                                     f"JSON: {exc.msg}")) from None
    if not isinstance(payload, dict):
        raise UnreadableFile(Problem("FILE_TYPE_MISMATCH", Location("(file)"), "JSON object"))
    document = Document()
    header = payload.get("header")
    if not isinstance(header, dict):
        document.problems.append(Problem("SECTION_MISSING", Location("header"), "header"))
    else:
        for key, value in header.items():
            document.header[clean_text(key)] = (value, Location("header", None, key))
    for section, columns, target in (("values", VALUE_COLUMNS, document.values),
                                     ("clubs", CLUB_COLUMNS, document.clubs)):
        items = payload.get(section)
        if not isinstance(items, list):
            document.problems.append(Problem("SECTION_MISSING", Location(section), section))
            continue
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                document.problems.append(Problem("SECTION_MISSING", Location(section, number), section))
                continue
            target.append(SectionRow(section, number, {key: item.get(key) for key in columns},
                                     {key: key for key in columns}))
    return document
