"""The unit submission contract, version 1: what a grassroots unit's monthly report must carry.

docs/submission_contract.md is the readable form and contract/submission-v1.schema.json the
machine-checkable JSON form; this module is the executable form every format is checked by.
Readers (readers.py) turn a file into :class:`Document` rows with their locations; this module
checks those rows and returns either a clean :class:`Submission` or the problems, each with a
stable reason code and a message in Vietnamese and English naming file, sheet, row and column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from qnwu_warehouse.reference import ReferenceData

CONTRACT_VERSION = "1"
# Secretaries write local times; a time without a zone is Indochina Time.
VIETNAM_TIME = timezone(timedelta(hours=7))
SUPPORTED_TEMPLATE_VERSIONS = frozenset({"1"})

# Sheet names of the XLSX template; CSV and JSON use the section keys.
SECTION_SHEETS = {"header": "Thông tin chung", "values": "Chỉ tiêu", "clubs": "CLB - Mô hình"}

HEADER_FIELDS: dict[str, str] = {
    "unit_code": "Mã đơn vị",
    "period": "Kỳ báo cáo (YYYY-MM)",
    "submitted_at": "Ngày gửi báo cáo",
    "reporter": "Người báo cáo (chức danh)",
    "template_version": "Phiên bản mẫu",
}
VALUE_COLUMNS: dict[str, str] = {
    "indicator_code": "Mã chỉ tiêu",
    "category": "Phân tổ",
    "value": "Giá trị",
}
CLUB_COLUMNS: dict[str, str] = {
    "club_id": "Mã CLB/mô hình",
    "club_type": "Loại CLB/mô hình",
    "club_name": "Tên CLB/mô hình",
    "status": "Tình trạng",
    "members": "Số thành viên",
}
# Status words a secretary may type, in either language, and the code they stand for.
CLUB_STATUSES = {"new": "new", "mới": "new", "active": "active", "đang hoạt động": "active",
                 "dissolved": "dissolved", "giải thể": "dissolved"}

# reason code -> (severity, Vietnamese message, English message); {detail} is filled in.
REASONS: dict[str, tuple[str, str, str]] = {
    "FILE_EMPTY": ("error", "Tệp rỗng, không có dữ liệu. Hãy gửi lại tệp báo cáo đầy đủ.",
                   "The file is empty. Send the complete report file again."),
    "FILE_CORRUPT": ("error", "Tệp bị hỏng hoặc không đọc được ({detail}). Hãy lưu lại và gửi lại.",
                     "The file is damaged or unreadable ({detail}). Save it again and resend it."),
    "FILE_TYPE_MISMATCH": ("error", "Nội dung tệp không đúng định dạng {detail}. Hãy dùng mẫu báo cáo.",
                           "The file content is not {detail} as its name says. Use the report template."),
    "FILE_ENCODING_NOT_UTF8": ("error", "Tệp không phải mã UTF-8. Trong Excel chọn Lưu thành > CSV UTF-8 rồi gửi lại.",
                               "The file is not UTF-8 text. In Excel use Save As > CSV UTF-8 and send it again."),
    "FILE_FORMAT_UNSUPPORTED": ("error", "Định dạng tệp không được hỗ trợ ({detail}). Gửi XLSX, CSV hoặc JSON.",
                                "Unsupported file type ({detail}). Send XLSX, CSV or JSON."),
    "SECTION_MISSING": ("error", "Thiếu phần/trang tính '{detail}'. Hãy dùng đúng mẫu báo cáo.",
                        "The section or sheet '{detail}' is missing. Use the report template."),
    "COLUMN_MISSING": ("error", "Thiếu cột '{detail}'. Hãy dùng đúng mẫu báo cáo.",
                       "The column '{detail}' is missing. Use the report template."),
    "HEADER_FIELD_MISSING": ("error", "Thiếu thông tin '{detail}' ở phần thông tin chung.",
                             "The header field '{detail}' is missing or empty."),
    "TEMPLATE_VERSION_UNSUPPORTED": ("error", "Phiên bản mẫu '{detail}' không được hỗ trợ. Tải mẫu mới nhất.",
                                     "Template version '{detail}' is not supported. Use the current template."),
    "UNIT_CODE_ZERO_PADDED": ("warning", "Mã đơn vị '{detail}' bị mất số 0 ở đầu (Excel coi là số); "
                                         "đã đọc thành mã 5 chữ số. Hãy định dạng ô là văn bản.",
                              "Unit code '{detail}' lost its leading zero (Excel stored it as a number); it was read as "
                              "the 5-digit code. Format the cell as text."),
    "UNIT_UNKNOWN": ("error", "Mã đơn vị '{detail}' không có trong danh mục. Kiểm tra lại mã đơn vị.",
                     "Unit code '{detail}' is not in the unit list. Check the unit code."),
    "UNIT_NOT_VALID_IN_PERIOD": ("error", "Đơn vị '{detail}' không tồn tại trong kỳ báo cáo này.",
                                 "Unit '{detail}' did not exist in this reporting period."),
    "PERIOD_MALFORMED": ("error", "Kỳ báo cáo '{detail}' sai định dạng. Ghi theo dạng NĂM-THÁNG, ví dụ 2023-05.",
                         "Reporting period '{detail}' is malformed. Write YEAR-MONTH, for example 2023-05."),
    "PERIOD_IN_FUTURE": ("error", "Kỳ báo cáo '{detail}' ở tương lai. Kiểm tra lại tháng báo cáo.",
                         "Reporting period '{detail}' is in the future. Check the month."),
    "SUBMITTED_AT_MALFORMED": ("error", "Ngày gửi '{detail}' sai định dạng. Ghi theo dạng 2023-05-31.",
                               "Submission date '{detail}' is malformed. Write it as 2023-05-31."),
    "INDICATOR_UNKNOWN": ("error", "Mã chỉ tiêu '{detail}' không có trong danh mục chỉ tiêu.",
                          "Indicator code '{detail}' is not in the indicator catalogue."),
    "CATEGORY_NOT_ALLOWED": ("error", "Phân tổ '{detail}' không hợp lệ cho chỉ tiêu này.",
                             "Category '{detail}' is not allowed for this indicator."),
    # A blank cell in the pre-filled template means "not reported": recorded, not fatal.
    "VALUE_MISSING": ("warning", "Ô giá trị để trống nên chỉ tiêu này coi như chưa báo cáo. Ghi 0 nếu không có.",
                      "The value is empty, so this indicator counts as not reported. Write 0 if there was none."),
    "CLUB_MEMBERS_MISSING": ("error", "Thiếu số thành viên của CLB/mô hình.",
                             "The number of members of this club or model is missing."),
    "VALUE_NOT_A_NUMBER": ("error", "Giá trị '{detail}' không phải là số. Chỉ ghi số nguyên.",
                           "The value '{detail}' is not a number. Write a whole number."),
    "VALUE_NEGATIVE": ("error", "Giá trị '{detail}' là số âm. Số liệu không được âm.",
                       "The value '{detail}' is negative. Values cannot be negative."),
    "VALUE_FRACTIONAL": ("error", "Giá trị '{detail}' có phần thập phân. Chỉ ghi số nguyên (tiền ghi bằng đồng).",
                         "The value '{detail}' has a fraction. Write a whole number (money in đồng)."),
    "VALUE_AMBIGUOUS": ("error", "Không rõ giá trị '{detail}': dấu phẩy có thể là dấu thập phân. "
                                 "Dùng dấu chấm để phân cách hàng nghìn, ví dụ 1.100.000.",
                        "The value '{detail}' is ambiguous: the comma may be a decimal mark. "
                        "Separate thousands with dots, for example 1.100.000."),
    "ROW_DUPLICATE": ("error", "Dòng trùng với dòng {detail}. Mỗi chỉ tiêu và phân tổ chỉ ghi một lần.",
                      "This row repeats row {detail}. Report each indicator and category once."),
    "CLUB_TYPE_UNKNOWN": ("error", "Loại CLB/mô hình '{detail}' không có trong danh mục.",
                          "Club or model type '{detail}' is not in the catalogue."),
    "CLUB_STATUS_UNKNOWN": ("error", "Tình trạng '{detail}' không hợp lệ. Ghi: mới, đang hoạt động hoặc giải thể.",
                            "Status '{detail}' is not valid. Write new, active or dissolved."),
    "CLUB_DUPLICATE": ("error", "Mã CLB trùng với dòng {detail}. Mỗi CLB chỉ ghi một lần.",
                       "This club id repeats row {detail}. List each club once."),
    "CLUB_ID_MISSING": ("error", "Thiếu mã CLB/mô hình.", "The club id is missing."),
    "CLUB_NAME_MISSING": ("warning", "Thiếu tên CLB/mô hình; nên ghi tên để dễ đối chiếu.",
                          "The club name is missing; add it so the club can be recognised."),
}


@dataclass(frozen=True)
class Location:
    """Where a value sits in the file, so a message can point a secretary straight at it."""
    sheet: str
    row: int | None = None
    column: str | None = None


@dataclass(frozen=True)
class Problem:
    code: str
    location: Location
    detail: str = ""

    @property
    def severity(self) -> str:
        return REASONS[self.code][0]

    def message(self, file_name: str, language: str = "en") -> str:
        _, vi, en = REASONS[self.code]
        text = (vi if language == "vi" else en).format(detail=self.detail)
        where = [f"{'tệp' if language == 'vi' else 'file'} {file_name}", f"{self.location.sheet}"]
        if self.location.row is not None:
            where.append(f"{'dòng' if language == 'vi' else 'row'} {self.location.row}")
        if self.location.column:
            where.append(f"{'cột' if language == 'vi' else 'column'} {self.location.column}")
        return f"{', '.join(where)}: {text}"


class UnreadableFile(Exception):
    """Raised by readers when a file cannot be read at all; carries the problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.code)
        self.problem = problem


@dataclass
class SectionRow:
    """One row as read: canonical field name -> raw cell value, plus where each cell was."""
    sheet: str
    row: int
    cells: dict[str, object]
    columns: dict[str, str]  # canonical field name -> heading as written in the file

    def where(self, field_name: str) -> Location:
        return Location(self.sheet, self.row, self.columns.get(field_name, field_name))


@dataclass
class Document:
    """A file as read, before any check: header cells and two tables."""
    header: dict[str, tuple[object, Location]] = field(default_factory=dict)
    values: list[SectionRow] = field(default_factory=list)
    clubs: list[SectionRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # structural problems found while reading


@dataclass(frozen=True)
class Submission:
    unit_code: str
    period: str  # YYYY-MM
    submitted_at: datetime
    reporter: str
    template_version: str
    values: list[tuple[int, str, str, int]]  # (row, indicator_code, category, value)
    clubs: list[tuple[int, str, str, str, str, int]]  # (row, club_id, type, name, status, members)


def clean_text(value: object) -> str:
    """NFC, trimmed, inner whitespace collapsed: what the unit meant, not how it was typed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(text.split())


_PLAIN_INT = re.compile(r"\d+")
_DOT_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")
_SPACE_GROUPED = re.compile(r"\d{1,3}(?: \d{3})+")
_COMMA_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")
_DECIMAL = re.compile(r"\d*[.,]\d+")


def parse_count(raw: object) -> tuple[int | None, str | None]:
    """Read a non-negative whole number the way Vietnamese secretaries write it.

    Returns (value, None) or (None, reason code). Dots group thousands ("1.100.000"); a comma
    is a decimal mark in Vietnamese but a thousands mark in English, so "1,100" is refused as
    ambiguous rather than guessed.
    """
    if raw is None or (isinstance(raw, str) and clean_text(raw) == ""):
        return None, "VALUE_MISSING"
    if isinstance(raw, bool):
        return None, "VALUE_NOT_A_NUMBER"
    if isinstance(raw, int):
        return (raw, None) if raw >= 0 else (None, "VALUE_NEGATIVE")
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None, "VALUE_NOT_A_NUMBER"
        if raw < 0:
            return None, "VALUE_NEGATIVE"
        return (int(raw), None) if raw.is_integer() else (None, "VALUE_FRACTIONAL")
    text = clean_text(raw).replace("\u00a0", " ")
    negative = text.startswith("-")
    digits = text.lstrip("-").strip()
    if _PLAIN_INT.fullmatch(digits):
        number = int(digits)
    elif _DOT_GROUPED.fullmatch(digits) or _SPACE_GROUPED.fullmatch(digits):
        number = int(digits.replace(".", "").replace(" ", ""))
    elif _COMMA_GROUPED.fullmatch(digits):
        return None, "VALUE_AMBIGUOUS"
    elif _DECIMAL.fullmatch(digits):
        return None, "VALUE_FRACTIONAL"
    else:
        return None, "VALUE_NOT_A_NUMBER"
    if negative and number != 0:
        return None, "VALUE_NEGATIVE"
    return number, None


_PERIOD = re.compile(r"(\d{4})-(\d{2})")


def parse_period(raw: object) -> date | None:
    """'2023-05' -> 2023-05-01; anything else -> None."""
    if isinstance(raw, datetime | date):
        return date(raw.year, raw.month, 1)
    match = _PERIOD.fullmatch(clean_text(raw))
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_timestamp(raw: object) -> datetime | None:
    """ISO date or date-time; naive times are Vietnam time (UTC+7), stored as UTC."""
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime(raw.year, raw.month, raw.day)
    else:
        try:
            moment = datetime.fromisoformat(clean_text(raw))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM_TIME)
    return moment.astimezone(UTC)


GRASSROOTS_CODE_DIGITS = 5


def _unit_code(raw: object, text: str) -> str:
    """GSO commune codes have 5 digits. Excel drops the leading zero when it stores one as a
    number (6817.0 for 06817); a whole number with fewer digits can only be that, so restore it."""
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    elif isinstance(raw, int) and not isinstance(raw, bool):
        text = str(raw)
    if text.isdigit() and len(text) == GRASSROOTS_CODE_DIGITS - 1:
        return text.zfill(GRASSROOTS_CODE_DIGITS)
    return text


def validate(document: Document, reference: ReferenceData, today: date) -> tuple[Submission | None, list[Problem]]:
    """Check a read document against the contract.

    Any error rejects the whole submission (no half-report reaches the facts); warnings are
    returned alongside an accepted submission.
    """
    problems = list(document.problems)
    header_values: dict[str, str] = {}
    for name, label in HEADER_FIELDS.items():
        raw, where = document.header.get(name, (None, Location(SECTION_SHEETS["header"], None, label)))
        text = clean_text(raw) if not isinstance(raw, datetime | date) else raw
        if text in ("", None):
            if not any(p.code == "SECTION_MISSING" and p.detail == SECTION_SHEETS["header"] for p in problems):
                problems.append(Problem("HEADER_FIELD_MISSING", where, label))
            continue
        header_values[name] = text  # type: ignore[assignment]

    period_start = None
    if "period" in header_values:
        where = document.header["period"][1]
        period_start = parse_period(header_values["period"])
        if period_start is None:
            problems.append(Problem("PERIOD_MALFORMED", where, str(header_values["period"])))
        elif period_start > date(today.year, today.month, 1):
            problems.append(Problem("PERIOD_IN_FUTURE", where, period_start.strftime("%Y-%m")))

    if "unit_code" in header_values:
        where = document.header["unit_code"][1]
        code = _unit_code(document.header["unit_code"][0], str(header_values["unit_code"]))
        if code != str(header_values["unit_code"]):
            problems.append(Problem("UNIT_CODE_ZERO_PADDED", where, str(header_values["unit_code"])))
            header_values["unit_code"] = code
        period_is_usable = period_start is not None and not any(p.code == "PERIOD_IN_FUTURE" for p in problems)
        if code not in reference.units:
            problems.append(Problem("UNIT_UNKNOWN", where, code))
        elif period_is_usable and reference.grassroots_unit_on(code, period_start) is None:
            problems.append(Problem("UNIT_NOT_VALID_IN_PERIOD", where, f"{code} @ {period_start:%Y-%m}"))

    submitted_at = None
    if "submitted_at" in header_values:
        submitted_at = parse_timestamp(header_values["submitted_at"])
        if submitted_at is None:
            problems.append(Problem("SUBMITTED_AT_MALFORMED", document.header["submitted_at"][1],
                                    str(header_values["submitted_at"])))

    version = str(header_values.get("template_version", "")).removesuffix(".0")
    if version and version not in SUPPORTED_TEMPLATE_VERSIONS:
        problems.append(Problem("TEMPLATE_VERSION_UNSUPPORTED", document.header["template_version"][1], version))

    values = _check_values(document.values, reference, problems)
    clubs = _check_clubs(document.clubs, reference, problems)

    if any(p.severity == "error" for p in problems):
        return None, problems
    assert period_start is not None and submitted_at is not None
    return Submission(
        unit_code=str(header_values["unit_code"]),
        period=period_start.strftime("%Y-%m"),
        submitted_at=submitted_at,
        reporter=str(header_values["reporter"]),
        template_version=version,
        values=values,
        clubs=clubs,
    ), problems


def _check_values(rows: list[SectionRow], reference: ReferenceData, problems: list[Problem]):
    accepted = []
    first_seen: dict[tuple[str, str], int] = {}
    for row in rows:
        code = clean_text(row.cells.get("indicator_code"))
        category = clean_text(row.cells.get("category")) or "total"
        indicator = reference.indicators.get(code)
        if indicator is None:
            problems.append(Problem("INDICATOR_UNKNOWN", row.where("indicator_code"), code))
        elif category not in indicator.allowed_categories:
            problems.append(Problem("CATEGORY_NOT_ALLOWED", row.where("category"),
                                    f"{category} ({code}: {'|'.join(sorted(indicator.allowed_categories))})"))
        number, reason = parse_count(row.cells.get("value"))
        if reason:
            problems.append(Problem(reason, row.where("value"), clean_text(row.cells.get("value"))))
        key = (code, category)
        if key in first_seen:
            problems.append(Problem("ROW_DUPLICATE", row.where("indicator_code"), str(first_seen[key])))
        else:
            first_seen[key] = row.row
        if number is not None:
            accepted.append((row.row, code, category, number))
    return accepted


def _check_clubs(rows: list[SectionRow], reference: ReferenceData, problems: list[Problem]):
    accepted = []
    first_seen: dict[str, int] = {}
    for row in rows:
        club_id = clean_text(row.cells.get("club_id"))
        club_type = clean_text(row.cells.get("club_type"))
        name = clean_text(row.cells.get("club_name"))
        status_text = clean_text(row.cells.get("status")).lower()
        if not club_id:
            problems.append(Problem("CLUB_ID_MISSING", row.where("club_id")))
        elif club_id in first_seen:
            problems.append(Problem("CLUB_DUPLICATE", row.where("club_id"), str(first_seen[club_id])))
        else:
            first_seen[club_id] = row.row
        if club_type not in reference.club_types:
            problems.append(Problem("CLUB_TYPE_UNKNOWN", row.where("club_type"), club_type))
        status = CLUB_STATUSES.get(status_text)
        if status is None:
            problems.append(Problem("CLUB_STATUS_UNKNOWN", row.where("status"), status_text))
        if not name:
            problems.append(Problem("CLUB_NAME_MISSING", row.where("club_name")))
        members, reason = parse_count(row.cells.get("members"))
        if reason == "VALUE_MISSING":
            reason = "CLUB_MEMBERS_MISSING"
        if reason:
            problems.append(Problem(reason, row.where("members"), clean_text(row.cells.get("members"))))
        if members is not None and status is not None and club_id:
            accepted.append((row.row, club_id, club_type, name, status, members))
    return accepted
