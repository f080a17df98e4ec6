"""Writers for unit submission files: the blank XLSX template and one filled report in XLSX, CSV or JSON.

A submission is a plain dict, the same shape in every format::

    {"header": {"unit_code": "06817", "period": "2023-10", "submitted_at": "2023-11-06T09:12:00+07:00",
                "reporter": "Chủ tịch Hội LHPN phường", "template_version": "1"},
     "values": [{"indicator_code": "news_items", "category": "total", "value": 3}, ...],
     "clubs": [{"club_id": "CLB-001", "club_type": "folk_dance", "club_name": "CLB dân vũ khu 3",
                "status": "active", "members": 25}, ...]}

The layouts are exactly what :mod:`qnwu_warehouse.contract.readers` reads; headings and sheet names come
from :mod:`qnwu_warehouse.contract.rules`, so the contract is defined once. Every writer is byte-for-byte
reproducible: the same dict gives the same bytes (fixed XLSX document properties, no clock).
Values are written as they are given (an int as a number, a str as text), so test and fault files
can carry text such as "1.100.000" on purpose. From contract version 2 a section may be the string
"none" instead of a list (``"clubs": "none"``: the unit has no clubs at all), and a value may be
"none"; each format writes it its own way (docs/submission_contract.md).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path

import xlsxwriter

from qnwu_warehouse.contract.readers import CSV_COLUMNS
from qnwu_warehouse.contract.rules import (
    CLUB_COLUMNS,
    CLUB_STATUSES,
    CONTRACT_VERSION,
    HEADER_FIELDS,
    SECTION_SHEETS,
    VALUE_COLUMNS,
)
from qnwu_warehouse.settings import SEEDS_DIR

# Fixed document properties: the creation date is part of the file, so it must not be "now".
_DOCUMENT_CREATED = datetime(2023, 1, 1, 0, 0, 0)
_DOCUMENT_PROPERTIES = {
    "title": "Báo cáo hoạt động hằng tháng của cơ sở Hội",
    "subject": f"Mẫu báo cáo phiên bản {CONTRACT_VERSION}",
    "author": "Hội LHPN tỉnh Quảng Ninh",
    "company": "Hội Liên hiệp Phụ nữ tỉnh Quảng Ninh",
    "created": _DOCUMENT_CREATED,
}
_WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}

HEADER_SHEET_HEADINGS = ("Nội dung", "Mã trường", "Giá trị")
INDICATOR_LABEL_HEADING = "Tên chỉ tiêu"
INSTRUCTIONS_SHEET = "Hướng dẫn"

# Vietnamese meaning of the category codes of indicators.csv (allowed_categories).
CATEGORY_LABELS_VI = {
    "total": "tổng số",
    "female": "nữ",
    "male": "nam",
    "kinh": "dân tộc Kinh",
    "ethnic_minority": "dân tộc thiểu số",
    "domestic_violence": "nạn nhân bạo lực gia đình",
    "trafficking_returnee": "nạn nhân mua bán người trở về",
}
# What a secretary picks from the drop-down list of the template (the contract accepts both languages).
STATUS_WORDS_VI = {"new": "mới", "active": "đang hoạt động", "dissolved": "giải thể"}

# Column order of the two tables in the XLSX: the values sheet shows the indicator's name after its code.
_VALUE_SHEET_COLUMNS = ("indicator_code", "indicator_label", "category", "value")
_CLUB_SHEET_COLUMNS = tuple(CLUB_COLUMNS)
_VALUE_WIDTHS = {"indicator_code": 34, "indicator_label": 62, "category": 22, "value": 18}
_CLUB_WIDTHS = {"club_id": 18, "club_type": 24, "club_name": 48, "status": 18, "members": 16}


@cache
def indicator_catalogue() -> tuple[tuple[str, str, str, str], ...]:
    """(indicator_code, category, Vietnamese label, unit of measure) of every template row, in order."""
    with (SEEDS_DIR / "indicators.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = []
    for row in rows:
        categories = row["allowed_categories"].split("|")
        for category in categories:
            label = row["label_vi"]
            if len(categories) > 1:
                label = f"{label} ({CATEGORY_LABELS_VI.get(category, category)})"
            result.append((row["indicator_code"], category, label, row["unit_of_measure"]))
    return tuple(result)


@cache
def club_type_catalogue() -> tuple[tuple[str, str, str], ...]:
    """(club_type_code, Vietnamese name, club group) in seed order."""
    with (SEEDS_DIR / "club_types.csv").open(encoding="utf-8", newline="") as handle:
        return tuple((row["club_type_code"], row["club_type_name_vi"], row["club_group"]) for row in csv.DictReader(handle))


def _label_of(code: str, category: str) -> str:
    for known_code, known_category, label, _unit in indicator_catalogue():
        if known_code == code and known_category == category:
            return label
    for known_code, _category, label, _unit in indicator_catalogue():
        if known_code == code:
            return label.split(" (")[0]
    return ""


def _normalizer(unicode_form: str):
    if unicode_form not in ("NFC", "NFD"):
        raise ValueError(f"unicode_form must be NFC or NFD, not {unicode_form!r}")
    return lambda value: unicodedata.normalize(unicode_form, value) if isinstance(value, str) else value


# --- XLSX ---------------------------------------------------------------------------------------
class _Book:
    """An in-memory xlsxwriter workbook with the few formats the template uses."""

    def __init__(self, text):
        self.buffer = io.BytesIO()
        self.workbook = xlsxwriter.Workbook(self.buffer, _WORKBOOK_OPTIONS)
        self.workbook.set_properties(dict(_DOCUMENT_PROPERTIES))
        self.text = text
        self.bold = self.workbook.add_format(
            {"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.as_text = self.workbook.add_format({"num_format": "@"})
        self.thousands = self.workbook.add_format({"num_format": "#,##0"})

    def sheet(self, name: str):
        return self.workbook.add_worksheet(self.text(name))

    def write(self, sheet, row: int, column: int, value, cell_format=None) -> None:
        value = self.text(value)
        if value is None or value == "":
            if cell_format is not None:
                sheet.write_blank(row, column, None, cell_format)
            return
        if isinstance(value, bool):
            sheet.write_string(row, column, str(value), cell_format)
        elif isinstance(value, int | float):
            sheet.write_number(row, column, value, cell_format if cell_format is not None else self.thousands)
        else:
            sheet.write_string(row, column, str(value), cell_format)

    def headings(self, sheet, headings, widths) -> None:
        for column, (heading, width) in enumerate(zip(headings, widths, strict=True)):
            sheet.set_column(column, column, width)
            sheet.write_string(0, column, self.text(heading), self.bold)
        sheet.freeze_panes(1, 0)

    def close(self) -> bytes:
        self.workbook.close()
        return self.buffer.getvalue()


def _xlsx_header_sheet(book: _Book, header: dict[str, object] | None) -> None:
    sheet = book.sheet(SECTION_SHEETS["header"])
    book.headings(sheet, HEADER_SHEET_HEADINGS, (34, 20, 32))
    for row, (key, label) in enumerate(HEADER_FIELDS.items(), start=1):
        sheet.write_string(row, 0, book.text(label))
        sheet.write_string(row, 1, key)
        if header is None:
            value = CONTRACT_VERSION if key == "template_version" else None
            # Text cells, so a unit code keeps its leading zero when typed in.
            book.write(sheet, row, 2, value, book.as_text)
        else:
            book.write(sheet, row, 2, header.get(key))
    extra = [] if header is None else [key for key in header if key not in HEADER_FIELDS]
    for row, key in enumerate(extra, start=len(HEADER_FIELDS) + 1):
        sheet.write_string(row, 1, book.text(key))
        book.write(sheet, row, 2, header[key])


def _value_headings() -> list[str]:
    return [VALUE_COLUMNS.get(key, INDICATOR_LABEL_HEADING) for key in _VALUE_SHEET_COLUMNS]


def _section_rows(submission: dict, section: str) -> list[dict[str, object]]:
    """A section's rows; a section given as "none" is one row whose code cell says it."""
    rows = submission.get(section, [])
    if isinstance(rows, str):
        return [{("indicator_code" if section == "values" else "club_id"): rows}]
    return list(rows)


# What the template's value cells accept (Excel's own check, before the contract's): a whole
# number from 0, or "không có" / "none" (contract version 2). Relative to the first value cell.
_VALUE_CELL_RULE = '=OR(AND(ISNUMBER(D2),D2>=0,INT(D2)=D2),LOWER(TRIM(D2))="không có",LOWER(TRIM(D2))="none")'


def _xlsx_values_sheet(
    book: _Book, rows: list[dict[str, object]], *, blank: bool = False, headings: list[str] | None = None
) -> None:
    sheet = book.sheet(SECTION_SHEETS["values"])
    book.headings(sheet, headings or _value_headings(), [_VALUE_WIDTHS[key] for key in _VALUE_SHEET_COLUMNS])
    for number, item in enumerate(rows, start=1):
        code = item.get("indicator_code")
        category = item.get("category")
        label = item.get("indicator_label")
        if label is None and isinstance(code, str):
            label = _label_of(code, category if isinstance(category, str) else "total")
        cells = {"indicator_code": code, "indicator_label": label, "category": category, "value": item.get("value")}
        for column, key in enumerate(_VALUE_SHEET_COLUMNS):
            book.write(sheet, number, column, cells[key])
    if blank and rows:
        sheet.data_validation(
            1,
            3,
            len(rows),
            3,
            {
                "validate": "custom",
                "value": _VALUE_CELL_RULE,
                "ignore_blank": True,
                "error_title": "Giá trị không hợp lệ",
                "error_message": "Ghi số nguyên không âm (tiền ghi bằng đồng, ví dụ 1100000000), hoặc 'không có'.",
            },
        )


def _xlsx_clubs_sheet(book: _Book, clubs: list[dict[str, object]], *, blank: bool = False) -> None:
    sheet = book.sheet(SECTION_SHEETS["clubs"])
    book.headings(
        sheet, [CLUB_COLUMNS[key] for key in _CLUB_SHEET_COLUMNS], [_CLUB_WIDTHS[key] for key in _CLUB_SHEET_COLUMNS]
    )
    for number, club in enumerate(clubs, start=1):
        for column, key in enumerate(_CLUB_SHEET_COLUMNS):
            book.write(sheet, number, column, club.get(key))
    if blank:
        last = 2000
        sheet.set_column(0, 0, _CLUB_WIDTHS["club_id"], book.as_text)
        sheet.data_validation(
            1,
            1,
            last,
            1,
            {
                "validate": "list",
                "source": [code for code, _name, _group in club_type_catalogue()],
                "error_title": "Loại CLB/mô hình",
                "error_message": "Chọn loại CLB/mô hình trong danh sách.",
            },
        )
        sheet.data_validation(
            1,
            3,
            last,
            3,
            {
                "validate": "list",
                "source": list(STATUS_WORDS_VI.values()),
                "error_title": "Tình trạng",
                "error_message": "Chọn: mới, đang hoạt động hoặc giải thể.",
            },
        )
        sheet.data_validation(
            1,
            4,
            last,
            4,
            {
                "validate": "integer",
                "criteria": ">=",
                "value": 0,
                "error_title": "Số thành viên",
                "error_message": "Chỉ ghi số nguyên không âm.",
            },
        )


INSTRUCTIONS_VI = (
    f"HƯỚNG DẪN ĐIỀN MẪU BÁO CÁO HOẠT ĐỘNG HẰNG THÁNG CỦA CƠ SỞ HỘI (phiên bản mẫu {CONTRACT_VERSION})",
    "",
    "1. Mỗi tệp là báo cáo của MỘT cơ sở Hội cho MỘT tháng. Không đổi tên các trang tính và các tiêu đề cột.",
    '2. Trang "Thông tin chung": chỉ ghi vào cột "Giá trị".',
    "   - Mã đơn vị: theo danh mục đơn vị hành chính, giữ nguyên số 0 ở đầu (ví dụ 06817).",
    "   - Kỳ báo cáo: ghi NĂM-THÁNG, ví dụ 2023-05.",
    "   - Ngày gửi báo cáo: ví dụ 2023-06-05 hoặc 2023-06-05T09:30 (giờ Việt Nam).",
    "   - Người báo cáo: ghi CHỨC DANH (ví dụ Chủ tịch Hội LHPN xã), không ghi họ tên.",
    f"   - Phiên bản mẫu: giữ nguyên {CONTRACT_VERSION}.",
    '3. Trang "Chỉ tiêu": ghi số nguyên không âm vào cột "Giá trị" cho từng dòng; không có thì ghi 0 '
    'hoặc "không có" (để trống là CHƯA BÁO CÁO). Không sửa mã chỉ tiêu và phân tổ.',
    '   - Cả tháng không có hoạt động nào: ghi "không có" vào ô Mã chỉ tiêu của một dòng, để trống các ô '
    "Giá trị (số hội viên hộ nghèo cũng ghi là 0).",
    '   - Chỉ tiêu "từ đầu năm" (cộng dồn số người từ 1/1) luôn ghi số, không ghi "không có".',
    "   - Số tiền ghi bằng đồng: 1 tỷ đồng = 1000000000. Có thể dùng dấu chấm phân cách hàng nghìn "
    "(1.100.000), không dùng dấu phẩy.",
    "   - Chỉ tiêu cộng dồn (tin bài, lớp tập huấn, số tiền...) ghi số phát sinh TRONG THÁNG; "
    '"Hội viên thuộc hộ nghèo" ghi số có tại cuối tháng.',
    '4. Trang "CLB - Mô hình": liệt kê TẤT CẢ CLB, mô hình của cơ sở có tại cuối tháng, mỗi CLB một dòng.',
    '   - Cơ sở không còn CLB, mô hình nào: ghi "không có" vào ô Mã CLB/mô hình của dòng 2. Để trống cả '
    "trang là CHƯA BÁO CÁO (số CLB tháng trước được giữ nguyên).",
    "   - Mã CLB/mô hình do cơ sở đặt và giữ nguyên qua các tháng (ví dụ CLB-001, MH-004).",
    '   - Tình trạng: "mới" nếu thành lập trong tháng; "đang hoạt động"; "giải thể" nếu giải thể trong '
    "tháng (tháng sau không ghi CLB đó nữa).",
    "5. Báo cáo chỉ ghi SỐ LƯỢNG, tuyệt đối không ghi họ tên trẻ em, nạn nhân hay người được hỗ trợ.",
    "6. Gửi báo cáo trước ngày 10 của tháng sau. Nếu phát hiện sai sót, sửa và gửi lại cả tệp.",
)


def _xlsx_instructions_sheet(book: _Book) -> None:
    sheet = book.sheet(INSTRUCTIONS_SHEET)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 62)
    sheet.set_column(2, 2, 20)
    row = 0
    for line in INSTRUCTIONS_VI:
        if line:
            sheet.write_string(row, 0, book.text(line), book.bold if row == 0 else None)
        row += 1
    row += 1
    sheet.write_row(row, 0, [book.text(t) for t in ("Loại CLB/mô hình (ghi mã)", "Tên", "Nhóm")], book.bold)
    for code, name, group in club_type_catalogue():
        row += 1
        sheet.write_row(row, 0, [code, book.text(name), group])
    row += 2
    sheet.write_row(row, 0, [book.text(t) for t in ("Tình trạng (ghi một trong)", "Nghĩa", "Mã")], book.bold)
    meanings = {
        "new": "thành lập trong tháng",
        "active": "đang hoạt động",
        "dissolved": "giải thể trong tháng (lần ghi cuối cùng)",
    }
    for code, word in STATUS_WORDS_VI.items():
        row += 1
        sheet.write_row(row, 0, [book.text(word), book.text(meanings[code]), code])
    row += 2
    sheet.write_row(row, 0, [book.text(t) for t in ("Phân tổ (mã)", "Nghĩa")], book.bold)
    for code, label in CATEGORY_LABELS_VI.items():
        row += 1
        sheet.write_row(row, 0, [code, book.text(label)])


def write_xlsx(
    submission: dict,
    *,
    unicode_form: str = "NFC",
    omit_sheets: tuple[str, ...] = (),
    value_headings: dict[str, str] | None = None,
) -> bytes:
    """One filled report in the template layout (header, values, clubs sheets).

    ``unicode_form``, ``omit_sheets`` (section keys) and ``value_headings`` (canonical key -> heading
    written instead) exist to produce realistic faulty or re-encoded files; leave them for real reports.
    """
    book = _Book(_normalizer(unicode_form))
    if "header" not in omit_sheets:
        _xlsx_header_sheet(book, dict(submission.get("header", {})))
    if "values" not in omit_sheets:
        headings = None
        if value_headings:
            headings = [
                value_headings.get(key, heading)
                for key, heading in zip(_VALUE_SHEET_COLUMNS, _value_headings(), strict=True)
            ]
        _xlsx_values_sheet(book, _section_rows(submission, "values"), headings=headings)
    if "clubs" not in omit_sheets:
        _xlsx_clubs_sheet(book, _section_rows(submission, "clubs"))
    return book.close()


def blank_template_bytes() -> bytes:
    """The blank template secretaries fill in: every indicator row pre-filled, values empty."""
    book = _Book(_normalizer("NFC"))
    _xlsx_header_sheet(book, None)
    rows = [
        {"indicator_code": code, "indicator_label": label, "category": category, "value": None}
        for code, category, label, _unit in indicator_catalogue()
    ]
    _xlsx_values_sheet(book, rows, blank=True)
    _xlsx_clubs_sheet(book, [], blank=True)
    _xlsx_instructions_sheet(book)
    return book.close()


def write_blank_template(path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blank_template_bytes())
    return path


# --- CSV ----------------------------------------------------------------------------------------
def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    return str(value)


def write_csv(submission: dict, *, unicode_form: str = "NFC", drop_columns: tuple[str, ...] = ()) -> bytes:
    """One report as the single-table CSV form of readers.CSV_COLUMNS (UTF-8, '\\n' line ends)."""
    text = _normalizer(unicode_form)
    columns = [name for name in CSV_COLUMNS if name not in drop_columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)

    def emit(cells: dict[str, object]) -> None:
        writer.writerow([text(_csv_cell(cells.get(name))) for name in columns])

    for key, value in submission.get("header", {}).items():
        emit({"section": "header", "code": key, "value": value})
    for item in _section_rows(submission, "values"):
        emit(
            {
                "section": "value",
                "code": item.get("indicator_code"),
                "category": item.get("category"),
                "value": item.get("value"),
            }
        )
    for club in _section_rows(submission, "clubs"):
        emit(
            {
                "section": "club",
                "code": club.get("club_id"),
                "club_type": club.get("club_type"),
                "club_name": club.get("club_name"),
                "status": club.get("status"),
                "value": club.get("members"),
            }
        )
    return buffer.getvalue().encode("utf-8")


# --- JSON ---------------------------------------------------------------------------------------
def _deep_normalize(value, text):
    if isinstance(value, dict):
        return {text(key): _deep_normalize(item, text) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_normalize(item, text) for item in value]
    return text(value)


def _json_section(submission: dict, section: str, columns: dict[str, str]) -> list[dict[str, object]] | str:
    rows = submission.get(section, [])
    return rows if isinstance(rows, str) else [{key: row.get(key) for key in columns} for row in rows]


def write_json(submission: dict, *, unicode_form: str = "NFC") -> bytes:
    """One report as a JSON object {header, values, clubs}; UTF-8, not ASCII-escaped, indent 1."""
    payload = {
        "header": dict(submission.get("header", {})),
        "values": _json_section(submission, "values", VALUE_COLUMNS),
        "clubs": _json_section(submission, "clubs", CLUB_COLUMNS),
    }
    payload = _deep_normalize(payload, _normalizer(unicode_form))
    return (json.dumps(payload, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


WRITERS = {"xlsx": write_xlsx, "csv": write_csv, "json": write_json}


def write_submission(submission: dict, fmt: str, **options) -> bytes:
    return WRITERS[fmt](submission, **options)


assert set(STATUS_WORDS_VI.values()) <= set(CLUB_STATUSES), "template status words must be accepted"
