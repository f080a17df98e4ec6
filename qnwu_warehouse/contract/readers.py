"""Readers for the three submission formats: the XLSX template, CSV and JSON.

Each reader turns bytes into a :class:`~qnwu_warehouse.contract.rules.Document` without judging the
values (that is the contract's job) but remembering where every cell was, so a problem can be
reported as "file, sheet, row, column". A file that cannot be read at all raises
:class:`~qnwu_warehouse.contract.rules.UnreadableFile` with the reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import PurePath, PurePosixPath

from python_calamine import CalamineWorkbook

from qnwu_warehouse.contract.rules import (
    CLUB_COLUMNS,
    CONTRACT_LIMITS,
    HEADER_FIELDS,
    SECTION_SHEETS,
    VALUE_COLUMNS,
    Document,
    Limits,
    Location,
    Problem,
    SectionRow,
    UnreadableFile,
    clean_text,
    is_none_word,
)

# The CSV form: one table, a `section` column saying which part of the report a row is.
# header rows:  section=header, code=<field>,        value=<field value>
# value rows:   section=value,  code=<indicator>,    category, value
# club rows:    section=club,   code=<club id>,      club_type, club_name, status, value=<members>
CSV_COLUMNS = ("section", "code", "category", "value", "club_type", "club_name", "status")
_CSV_SECTION_FIELDS = {
    "value": {"code": "indicator_code", "category": "category", "value": "value"},
    "club": {"code": "club_id", "club_type": "club_type", "club_name": "club_name", "status": "status", "value": "members"},
}

# .xls (Excel 97-2003) is what older office computers still save; calamine reads it like XLSX.
FORMATS = {".xlsx": "xlsx", ".xls": "xlsx", ".csv": "csv", ".json": "json"}
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Byte-order marks of the encodings Excel and Notepad save as "Unicode" text.
UTF16_32_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}

# The csv module refuses a field over 128 KB with an exception; the contract's own field limit
# (FIELD_TOO_LONG) is what refuses long text, with a reason, so let csv read any field of a file
# that passed the size limit.
csv.field_size_limit(2**31 - 1)


def detect_format(file_name: str) -> str | None:
    return FORMATS.get(PurePath(file_name).suffix.lower())


def read_document(file_name: str, content: bytes, limits: Limits = CONTRACT_LIMITS) -> tuple[str, Document]:
    """Read a submission file of any supported format; returns (format, document)."""
    fmt = detect_format(file_name)
    if fmt is None:
        raise UnreadableFile(
            Problem("FILE_FORMAT_UNSUPPORTED", Location("(file)"), PurePath(file_name).suffix or "no extension")
        )
    if len(content) > limits.max_file_bytes:
        raise UnreadableFile(
            Problem("FILE_TOO_LARGE", Location("(file)"), f"{len(content):,} bytes > {limits.max_file_bytes:,}")
        )
    if len(content.strip()) == 0:
        raise UnreadableFile(Problem("FILE_EMPTY", Location("(file)")))
    reader = {"xlsx": read_xlsx, "csv": read_csv, "json": read_json}[fmt]
    return fmt, reader(content, limits)


def _too_many_rows(section: str, limits: Limits) -> UnreadableFile:
    return UnreadableFile(Problem("SECTION_TOO_LONG", Location(section), f"{section}: > {limits.max_section_rows:,}"))


# --- XLSX -------------------------------------------------------------------------------------
def read_xlsx(content: bytes, limits: Limits = CONTRACT_LIMITS) -> Document:
    if not content.startswith((XLSX_MAGIC, XLS_MAGIC)):
        raise UnreadableFile(Problem("FILE_TYPE_MISMATCH", Location("(file)"), "XLSX"))
    uncached_formulas: list[Problem] = []
    try:
        if content.startswith(XLSX_MAGIC):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                uncached_formulas = _inspect_xlsx_package(archive, limits)
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets = {clean_text(name): name for name in workbook.sheet_names}
        document = Document(problems=list(uncached_formulas))

        def rows_of(section: str) -> list[list[object]] | None:
            wanted = SECTION_SHEETS[section]
            if wanted not in sheets:
                document.problems.append(Problem("SECTION_MISSING", Location(wanted), wanted))
                return None
            rows = workbook.get_sheet_by_name(sheets[wanted]).to_python(skip_empty_area=False)
            if len(rows) > limits.max_section_rows + 1:
                raise _too_many_rows(wanted, limits)
            return rows

        header_rows = rows_of("header")
        if header_rows is not None:
            _xlsx_header(header_rows, document)
        for section, columns, target in (
            ("values", VALUE_COLUMNS, document.values),
            ("clubs", CLUB_COLUMNS, document.clubs),
        ):
            rows = rows_of(section)
            if rows is not None:
                target.extend(_table_rows(SECTION_SHEETS[section], rows, columns, document.problems))
        return document
    except UnreadableFile:
        raise
    except MemoryError:
        raise UnreadableFile(Problem("FILE_TOO_COMPLEX", Location("(file)"), "memory")) from None
    except Exception as exc:  # calamine and zipfile raise many types for damaged files
        raise UnreadableFile(Problem("FILE_CORRUPT", Location("(file)"), type(exc).__name__)) from None


# The parts of an XLSX package read here: the workbook's sheet list and their files.
_SHEET_ENTRY = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_RELATIONSHIP = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_RELATIONSHIP_REVERSED = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
# The tags of a worksheet that matter here, scanned in one linear pass (a pattern spanning a
# cell's body would backtrack quadratically over a sheet of unclosed cells).
_SHEET_TAG = re.compile(rb"<(/?)(?:\w+:)?(c|f|v|row|dimension)\b([^>]*)>")
# XML quotes an attribute either way, with spaces around "=" allowed, and calamine reads a lowercase
# or over-long address as well: each must be seen here, or a far cell slips past the check.
_REF = re.compile(rb"""\b(?:r|ref)\s*=\s*["'](?:[A-Za-z]*\d*:)?([A-Za-z]*)(\d*)["']""")
# A sheet wider than this is no report template: calamine would allocate rows x columns cells.
MAX_SHEET_COLUMNS = 256
# More cells than a report's tables could hold at the row limit (a few columns each).
MAX_SHEET_CELLS = 200_000


def _column_number(letters: bytes) -> int:
    if len(letters) > 3:  # beyond XFD, the last column there is
        return 26**3 + 1
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _inspect_xlsx_package(archive: zipfile.ZipFile, limits: Limits) -> list[Problem]:
    """Check an XLSX package before calamine reads it, and find formulas with no cached value.

    calamine allocates every cell of a sheet's used range at once, so one cell at the sheet's last
    address (XFD1048576) asks for 512 GB and aborts the process; a zip bomb unpacks to gigabytes.
    Both are refused here from the package's own bookkeeping. A formula saved without its result
    (written by a script, or saved with calculation off) reads as an empty cell: the secretary saw
    a number that the file does not hold, so it is refused, not taken as blank."""
    members = archive.infolist()
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.max_unpacked_bytes:
        raise UnreadableFile(
            Problem("FILE_TOO_COMPLEX", Location("(file)"), f"unpacked {unpacked:,} bytes > {limits.max_unpacked_bytes:,}")
        )
    broken = archive.testzip()
    if broken is not None:
        raise zipfile.BadZipFile(f"damaged member {broken}")
    names = {member.filename for member in members}
    sheet_names = _sheet_files(archive, names)
    problems = []
    max_rows = limits.max_section_rows + 1
    # every worksheet, also one the workbook's relationships place outside xl/worksheets/
    sheet_paths = {n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")}
    sheet_paths.update(path for path in sheet_names if path in names)
    for path in sorted(sheet_paths):
        sheet = sheet_names.get(path, PurePosixPath(path).stem)
        next_row = next_column = 0  # where calamine puts a row or cell written without its address
        cell = None  # (column letters, row) of the open <c>, with whether it has <f> and <v>
        has_formula = has_value = False
        cells = 0
        for match in _SHEET_TAG.finditer(archive.read(path)):
            closing, tag, attributes = match.groups()
            if closing:
                if tag == b"c" and cell is not None:
                    if has_formula and not has_value and len(problems) < limits.max_problems_per_file:
                        problems.append(
                            Problem(
                                "FORMULA_NOT_CACHED",
                                Location(sheet, int(cell[1]), cell[0].decode()),
                                f"{cell[0].decode()}{cell[1].decode()}",
                            )
                        )
                    cell = None
                continue
            if tag in (b"f", b"v"):
                has_formula, has_value = has_formula or tag == b"f", has_value or tag == b"v"
                continue
            reference = _REF.search(attributes)
            column, row = reference.groups() if reference is not None else (b"", b"")
            if tag == b"row":  # a row or cell without its address follows the previous one
                row = row or str(next_row + 1).encode()
                next_row, next_column = int(row[:10]), 0
            elif tag == b"c":
                next_column = _column_number(column) if column else next_column + 1
                column, row = column or _column_letters(next_column), row or str(next_row).encode()
            elif reference is None:
                continue
            if (column and _column_number(column) > MAX_SHEET_COLUMNS) or len(row) > 9 or int(row or 0) > max_rows + 1000:
                raise UnreadableFile(
                    Problem(
                        "FILE_TOO_COMPLEX",
                        Location(sheet),
                        f"{sheet}: {tag.decode()} {column.decode()}{row.decode()} lies far outside the report's tables",
                    )
                )
            if tag == b"c":
                cells += 1
                if cells > MAX_SHEET_CELLS:
                    raise UnreadableFile(
                        Problem("FILE_TOO_COMPLEX", Location(sheet), f"{sheet}: more than {MAX_SHEET_CELLS:,} cells")
                    )
                if not attributes.rstrip().endswith(b"/"):
                    cell, has_formula, has_value = (column, row), False, False
    return problems


def _column_letters(number: int) -> bytes:
    letters = b""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = bytes([65 + remainder]) + letters
    return letters or b"A"


def _sheet_files(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """{'xl/worksheets/sheet1.xml': 'Chỉ tiêu', ...} from the workbook and its relationships."""
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return {}
    relationships = archive.read("xl/_rels/workbook.xml.rels")
    targets = {rid: target for rid, target in _RELATIONSHIP.findall(relationships)}
    targets.update({rid: target for target, rid in _RELATIONSHIP_REVERSED.findall(relationships)})
    files = {}
    for name, rid in _SHEET_ENTRY.findall(archive.read("xl/workbook.xml")):
        target = targets.get(rid, b"").decode("utf-8", "replace").lstrip("/")
        path = target if target.startswith("xl/") else f"xl/{target}"
        files[path] = clean_text(name.decode("utf-8", "replace"))
    return files


def _xlsx_header(rows: list[list[object]], document: Document) -> None:
    """The header sheet has one field a row: label (col A), field key (col B), value (col C)."""
    sheet = SECTION_SHEETS["header"]
    by_label = {label: key for key, label in HEADER_FIELDS.items()}
    for index, row in enumerate(rows[1:], start=2):
        cells = list(row) + [None] * 3
        key = clean_text(cells[1])
        key = key if key in HEADER_FIELDS else by_label.get(clean_text(cells[0]), "")
        if key:
            set_header_field(document, key, cells[2], Location(sheet, index, "Giá trị"))


def set_header_field(document: Document, key: str, value: object, where: Location) -> None:
    """A header field given twice is ambiguous (which unit, which month?): refused, never last-wins."""
    if key in document.header:
        document.problems.append(Problem("HEADER_FIELD_DUPLICATE", where, key))
        return
    document.header[key] = (value, where)


def _table_rows(
    sheet: str, rows: list[list[object]], columns: dict[str, str], problems: list[Problem], first_row_number: int = 1
) -> list[SectionRow]:
    """Rows of a table whose first row holds headings, matched by Vietnamese heading or key."""
    if not rows:
        problems.append(Problem("SECTION_MISSING", Location(sheet), sheet))
        return []
    headings = [clean_text(cell) for cell in rows[0]]
    positions: dict[str, int] = {}
    for key, label in columns.items():
        matches = [position for position, heading in enumerate(headings) if heading in (label, key)]
        if len(matches) > 1:
            problems.append(Problem("COLUMN_DUPLICATE", Location(sheet, first_row_number, label), label))
        if matches:
            positions[key] = matches[0]
        else:
            if key not in ("category", "club_name"):  # optional columns
                problems.append(Problem("COLUMN_MISSING", Location(sheet, first_row_number, label), label))
    result = []
    for offset, row in enumerate(rows[1:], start=1):
        if all(clean_text(cell) == "" for cell in row):
            continue
        cells = {key: (row[pos] if pos < len(row) else None) for key, pos in positions.items()}
        result.append(
            SectionRow(sheet, first_row_number + offset, cells, {key: headings[pos] for key, pos in positions.items()})
        )
    return result


# --- CSV --------------------------------------------------------------------------------------
def _decode_text(content: bytes, fmt: str) -> str:
    if content.startswith((XLSX_MAGIC, XLS_MAGIC)):
        raise UnreadableFile(Problem("FILE_TYPE_MISMATCH", Location("(file)"), fmt))
    encoding = _wide_encoding(content)
    if encoding:
        raise UnreadableFile(Problem("FILE_ENCODING_NOT_UTF8", Location("(file)"), encoding))
    if b"\x00" in content[:4096]:
        raise UnreadableFile(Problem("FILE_TYPE_MISMATCH", Location("(file)"), fmt))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            Problem("FILE_ENCODING_NOT_UTF8", Location("(file)"), f"byte {error.start + 1:,} is not UTF-8")
        ) from None


def _wide_encoding(content: bytes) -> str | None:
    """'UTF-16' or 'UTF-32' for text saved as Excel's or Notepad's "Unicode", with or without a BOM:
    the secretary needs "save as CSV UTF-8", not "this is not a CSV"."""
    for bom, name in UTF16_32_BOMS.items():
        if content.startswith(bom):
            return name
    sample = content[:4096]
    if len(sample) >= 8:
        zeros_even = sample[0::2].count(0) / len(sample[0::2])
        zeros_odd = sample[1::2].count(0) / len(sample[1::2])
        if max(zeros_even, zeros_odd) > 0.4 and min(zeros_even, zeros_odd) < 0.1:
            return "UTF-16"
    return None


def read_csv(content: bytes, limits: Limits = CONTRACT_LIMITS) -> Document:
    text = _decode_text(content, "CSV")
    document = Document()
    reader = csv.reader(io.StringIO(text))
    try:
        first = next(reader, None)
        if first is None:
            raise UnreadableFile(Problem("FILE_EMPTY", Location("(file)")))
        headings = [clean_text(cell) for cell in first]
        missing = [name for name in ("section", "code", "value") if name not in headings]
        for name in missing:
            document.problems.append(Problem("COLUMN_MISSING", Location("CSV", 1, name), name))
        for name in CSV_COLUMNS:
            if headings.count(name) > 1:
                document.problems.append(Problem("COLUMN_DUPLICATE", Location("CSV", 1, name), name))
        if missing:
            return document
        index = {name: headings.index(name) for name in CSV_COLUMNS if name in headings}
        rows = 0
        for line_number, row in enumerate(reader, start=2):
            if all(clean_text(cell) == "" for cell in row):
                continue
            rows += 1
            if rows > 2 * limits.max_section_rows + 50:  # values and clubs, plus the header rows
                raise _too_many_rows("CSV", limits)
            cell = {name: (row[pos] if pos < len(row) else None) for name, pos in index.items()}
            section = clean_text(cell["section"]).lower()
            if section == "header":
                set_header_field(document, clean_text(cell["code"]), cell["value"], Location("CSV", line_number, "value"))
            elif section in _CSV_SECTION_FIELDS:
                mapping = _CSV_SECTION_FIELDS[section]
                fields = {canonical: cell.get(column) for column, canonical in mapping.items()}
                target = document.values if section == "value" else document.clubs
                target.append(
                    SectionRow("CSV", line_number, fields, {canonical: column for column, canonical in mapping.items()})
                )
            else:
                document.problems.append(
                    Problem(
                        "SECTION_MISSING", Location("CSV", line_number, "section"), f"section={section[:40] or '(empty)'}"
                    )
                )
    except csv.Error as exc:
        raise UnreadableFile(Problem("FILE_CORRUPT", Location("CSV", reader.line_num or None), f"CSV: {exc}")) from None
    if not document.header:
        document.problems.append(Problem("SECTION_MISSING", Location("CSV"), "section=header"))
    return document


# --- JSON -------------------------------------------------------------------------------------
def _json_integer(digits: str) -> int | str:
    """An integer literal longer than any 64-bit value stays text, for the contract to refuse as
    VALUE_OUT_OF_RANGE: int() itself refuses over 4,300 digits with an error of its own."""
    return int(digits) if len(digits) <= 20 else digits


class _DuplicateKey(Exception):
    pass


def _object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """json's object hook: a key given twice (`unit_code` twice, `values` twice) is ambiguous and
    refused, where json.loads alone would silently keep the last one."""
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def read_json(content: bytes, limits: Limits = CONTRACT_LIMITS) -> Document:
    text = _decode_text(content, "JSON")
    try:
        payload = json.loads(text, object_pairs_hook=_object_without_duplicate_keys, parse_int=_json_integer)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(Problem("FILE_CORRUPT", Location("(file)", exc.lineno, None), f"JSON: {exc.msg}")) from None
    except _DuplicateKey as duplicate:
        raise UnreadableFile(Problem("KEY_DUPLICATE", Location("(file)"), str(duplicate)[:80])) from None
    except RecursionError:  # json's C parser counts its depth against Python's recursion limit
        raise UnreadableFile(Problem("FILE_TOO_COMPLEX", Location("(file)"), "JSON nested too deep")) from None
    if not isinstance(payload, dict):
        raise UnreadableFile(Problem("FILE_TYPE_MISMATCH", Location("(file)"), "JSON object"))
    document = Document()
    header = payload.get("header")
    if not isinstance(header, dict):
        document.problems.append(Problem("SECTION_MISSING", Location("header"), "header"))
    else:
        for key, value in header.items():
            set_header_field(document, clean_text(key), value, Location("header", None, clean_text(key)[:80]))
    for section, columns, target in (("values", VALUE_COLUMNS, document.values), ("clubs", CLUB_COLUMNS, document.clubs)):
        items = payload.get(section)
        if is_none_word(items):  # version 2: {"clubs": "none"}, the unit has none at all
            document.sections_declared_none[section] = Location(section)
            continue
        if not isinstance(items, list):
            document.problems.append(Problem("SECTION_MISSING", Location(section), section))
            continue
        if len(items) > limits.max_section_rows:
            raise _too_many_rows(section, limits)
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                document.problems.append(Problem("SECTION_MISSING", Location(section, number), section))
                continue
            target.append(
                SectionRow(section, number, {key: item.get(key) for key in columns}, {key: key for key in columns})
            )
    return document
