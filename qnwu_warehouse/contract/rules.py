"""The unit submission contract, versions 1 and 2: what a grassroots unit's monthly report must carry.

docs/submission_contract.md is the readable form and schemas/submission-v2.schema.json (and -v1)
the machine-checkable JSON form; this module is the executable form every format is checked by.
Version 2 adds one thing: a unit may say "none" (`none` / `không có`) for an indicator or for a
whole section, so "we have no clubs" is no longer the same as "we did not fill the club sheet".
A version 1 file still means what it meant: an empty section is not reported.
Readers (readers.py) turn a file into :class:`Document` rows with their locations; this module
checks those rows and returns either a clean :class:`Submission` or the problems, each with a
stable reason code and a message in Vietnamese and English naming file, sheet, row and column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from qnwu_warehouse.contract.limits import CONTRACT_LIMITS, Limits
from qnwu_warehouse.contract.reference import ReferenceData

# The version the template and the writers produce; every supported version is still read.
CONTRACT_VERSION = "2"


# Secretaries write local times; a time without a zone is Indochina Time (no daylight saving).
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
SUPPORTED_TEMPLATE_VERSIONS = frozenset({"1", "2"})


def day_in_vietnam(moment: datetime | None = None) -> date:
    """The union's calendar day at `moment` (an aware time; now by default). Deadlines and "this
    month" are Vietnamese days whatever zone the machine keeps: containers and Airflow keep UTC,
    which is still the day before from 00:00 to 07:00 in Viet Nam."""
    if moment is not None and moment.tzinfo is None:
        # astimezone() would read it in the machine's own zone: a guess, and a day off near midnight
        raise ValueError(f"{moment.isoformat()} has no time zone: give it with its offset (e.g. +00:00)")
    return (moment or datetime.now(UTC)).astimezone(VIETNAM_TIME).date()


# From version 2, what a unit writes to say "there is none": as an indicator's value (none of it
# this month), as the only row of a section in the code column (no indicator / no club at all),
# or as a JSON section instead of its list. Compared case-insensitively after clean_text.
NONE_WORDS = frozenset({"none", "không có"})
VERSIONS_WITHOUT_NONE = frozenset({"1"})

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
# Header fields a secretary types freely: checked for personal data (personal_data_in).
FREE_TEXT_HEADER_FIELDS = ("reporter",)
# Status words a secretary may type, in either language, and the code they stand for.
CLUB_STATUSES = {
    "new": "new",
    "mới": "new",
    "active": "active",
    "đang hoạt động": "active",
    "dissolved": "dissolved",
    "giải thể": "dissolved",
}

# reason code -> (severity, Vietnamese message, English message); {detail} is filled in.
REASONS: dict[str, tuple[str, str, str]] = {
    "FILE_TOO_LARGE": (
        "error",
        "Tệp quá lớn ({detail}). Báo cáo một tháng của một đơn vị chỉ vài chục KB: "
        "hãy dùng mẫu báo cáo, xoá các trang tính thừa rồi gửi lại.",
        "The file is too large ({detail}). One unit's monthly report is a few tens of KB: use the "
        "report template, remove extra sheets and send it again.",
    ),
    "FILE_TOO_COMPLEX": (
        "error",
        "Không thể đọc tệp trong giới hạn cho phép ({detail}). Hãy lưu lại từ mẫu báo cáo "
        "(không lồng dữ liệu, không để ô ở xa bảng) rồi gửi lại.",
        "The file cannot be read within the allowed limits ({detail}). Save it again from the report "
        "template (no nesting, no cells far outside the tables) and send it again.",
    ),
    "FILE_UNREADABLE": (
        "error",
        "Không đọc được tệp ({detail}). Hãy mở tệp, lưu lại bằng mẫu báo cáo rồi gửi lại; "
        "nếu vẫn lỗi, liên hệ cán bộ quản lý số liệu.",
        "The file could not be read ({detail}). Open it, save it again with the report template and "
        "send it again; if it still fails, contact the data officer.",
    ),
    "FILE_IS_LINK": (
        "error",
        "Mục '{detail}' trong thư mục nhận là liên kết (symlink hoặc hard link), không phải "
        "tệp báo cáo; liên kết không bao giờ được mở. Hãy đặt chính tệp báo cáo vào thư mục.",
        "The landing entry '{detail}' is a link (symbolic, or a hard link to a file elsewhere), not a "
        "report file; links are never followed. Put the report file itself in the landing folder.",
    ),
    "FILE_NOT_REGULAR": (
        "error",
        "Mục '{detail}' trong thư mục nhận không phải tệp thông thường (thiết bị, FIFO, "
        "socket); không được đọc. Hãy đặt tệp báo cáo vào thư mục.",
        "The landing entry '{detail}' is not a regular file (device, FIFO or socket) and is not "
        "read. Put the report file itself in the landing folder.",
    ),
    "FILE_EMPTY": (
        "error",
        "Tệp rỗng, không có dữ liệu. Hãy gửi lại tệp báo cáo đầy đủ.",
        "The file is empty. Send the complete report file again.",
    ),
    "FILE_CORRUPT": (
        "error",
        "Tệp bị hỏng hoặc không đọc được ({detail}). Hãy lưu lại và gửi lại.",
        "The file is damaged or unreadable ({detail}). Save it again and resend it.",
    ),
    "FILE_TYPE_MISMATCH": (
        "error",
        "Nội dung tệp không đúng định dạng {detail}. Hãy dùng mẫu báo cáo.",
        "The file content is not {detail} as its name says. Use the report template.",
    ),
    "FILE_ENCODING_NOT_UTF8": (
        "error",
        "Tệp không phải mã UTF-8 ({detail}). Trong Excel chọn Lưu thành > CSV UTF-8 rồi gửi lại.",
        "The file is not UTF-8 text ({detail}). In Excel use Save As > CSV UTF-8 and send it again.",
    ),
    "KEY_DUPLICATE": (
        "error",
        "Khoá '{detail}' xuất hiện hai lần trong cùng một đối tượng JSON, không rõ giá trị nào "
        "đúng. Mỗi khoá chỉ ghi một lần.",
        "The key '{detail}' appears twice in the same JSON object, so which value is meant is unclear. Write each key once.",
    ),
    "COLUMN_DUPLICATE": (
        "error",
        "Cột '{detail}' có hai lần, không rõ cột nào đúng. Mỗi cột chỉ có một lần; hãy dùng đúng mẫu báo cáo.",
        "The column '{detail}' appears twice, so which one is meant is unclear. Keep one; use the report template.",
    ),
    "HEADER_FIELD_DUPLICATE": (
        "error",
        "Thông tin '{detail}' được ghi hai lần với giá trị khác nhau hoặc lặp lại. Mỗi thông tin chung chỉ ghi một lần.",
        "The header field '{detail}' is given twice. Give each header field once.",
    ),
    "FORMULA_NOT_CACHED": (
        "error",
        "Ô có công thức nhưng chưa có giá trị đã tính ({detail}). Mở tệp trong Excel, "
        "để tính xong, lưu lại rồi gửi; hoặc ghi số thay cho công thức.",
        "The cell holds a formula with no calculated value ({detail}). Open the file in Excel, let "
        "it calculate, save and send it again; or type the number instead of the formula.",
    ),
    "SECTION_TOO_LONG": (
        "error",
        "Phần '{detail}' có quá nhiều dòng. Mỗi đơn vị chỉ báo cáo một tháng; hãy kiểm tra lại rồi gửi lại.",
        "The section '{detail}' has too many rows. A report covers one unit for one month; check it and send it again.",
    ),
    "FIELD_TOO_LONG": (
        "error",
        "Nội dung quá dài ({detail}). Hãy rút gọn rồi gửi lại.",
        "The text is too long ({detail}). Shorten it and send it again.",
    ),
    "VALUE_OUT_OF_RANGE": (
        "error",
        "Giá trị '{detail}' lớn hơn mức có thể có của chỉ tiêu này. Kiểm tra lại số (tiền ghi bằng đồng, không thêm số 0).",
        "The value '{detail}' is larger than this indicator can be. Check the number (money in đồng, no extra zeros).",
    ),
    "SUBMITTED_AT_IN_FUTURE": (
        "error",
        "Ngày gửi '{detail}' muộn hơn lúc tệp được nhận. Kiểm tra ngày giờ trên máy tính rồi ghi lại ngày gửi thật.",
        "The submission date '{detail}' is later than the moment the file was received. Check "
        "the computer's date and write the real submission date.",
    ),
    "PROBLEMS_TRUNCATED": (
        "error",
        "Còn {detail} lỗi khác không được liệt kê. Hãy sửa các lỗi trên, dùng đúng mẫu báo cáo rồi gửi lại.",
        "{detail} more problems are not listed. Fix the ones above, use the report template and send it again.",
    ),
    "FILE_FORMAT_UNSUPPORTED": (
        "error",
        "Định dạng tệp không được hỗ trợ ({detail}). Gửi XLSX, CSV hoặc JSON.",
        "Unsupported file type ({detail}). Send XLSX, CSV or JSON.",
    ),
    "SECTION_MISSING": (
        "error",
        "Thiếu phần/trang tính '{detail}'. Hãy dùng đúng mẫu báo cáo.",
        "The section or sheet '{detail}' is missing. Use the report template.",
    ),
    "COLUMN_MISSING": (
        "error",
        "Thiếu cột '{detail}'. Hãy dùng đúng mẫu báo cáo.",
        "The column '{detail}' is missing. Use the report template.",
    ),
    "HEADER_FIELD_MISSING": (
        "error",
        "Thiếu thông tin '{detail}' ở phần thông tin chung.",
        "The header field '{detail}' is missing or empty.",
    ),
    "TEMPLATE_VERSION_UNSUPPORTED": (
        "error",
        "Phiên bản mẫu '{detail}' không được hỗ trợ. Tải mẫu mới nhất.",
        "Template version '{detail}' is not supported. Use the current template.",
    ),
    "UNIT_CODE_ZERO_PADDED": (
        "warning",
        "Mã đơn vị '{detail}' bị mất số 0 ở đầu (Excel coi là số); đã đọc thành mã 5 chữ số. Hãy định dạng ô là văn bản.",
        "Unit code '{detail}' lost its leading zero (Excel stored it as a number); it was read as "
        "the 5-digit code. Format the cell as text.",
    ),
    "UNIT_UNKNOWN": (
        "error",
        "Mã đơn vị '{detail}' không có trong danh mục. Kiểm tra lại mã đơn vị.",
        "Unit code '{detail}' is not in the unit list. Check the unit code.",
    ),
    # {advice} names the unit that took this one over, or says when the unit existed.
    "UNIT_NOT_VALID_IN_PERIOD": (
        "error",
        "Đơn vị '{detail}' không tồn tại trong kỳ báo cáo này. {advice}",
        "Unit '{detail}' did not exist in this reporting period. {advice}",
    ),
    "PERIOD_MALFORMED": (
        "error",
        "Kỳ báo cáo '{detail}' sai định dạng. Ghi theo dạng NĂM-THÁNG, ví dụ 2023-05.",
        "Reporting period '{detail}' is malformed. Write YEAR-MONTH, for example 2023-05.",
    ),
    "PERIOD_IN_FUTURE": (
        "error",
        "Kỳ báo cáo '{detail}' ở tương lai. Kiểm tra lại tháng báo cáo.",
        "Reporting period '{detail}' is in the future. Check the month.",
    ),
    "SUBMITTED_AT_MALFORMED": (
        "error",
        "Ngày gửi '{detail}' sai định dạng. Ghi theo dạng 2023-05-31.",
        "Submission date '{detail}' is malformed. Write it as 2023-05-31.",
    ),
    "INDICATOR_UNKNOWN": (
        "error",
        "Mã chỉ tiêu '{detail}' không có trong danh mục chỉ tiêu. Dùng mã ở trang 'Hướng dẫn' của mẫu.",
        "Indicator code '{detail}' is not in the indicator catalogue. "
        "Use the codes listed in the template's 'Hướng dẫn' sheet.",
    ),
    "CATEGORY_NOT_ALLOWED": (
        "error",
        "Phân tổ '{detail}' không hợp lệ cho chỉ tiêu này. Dùng một phân tổ được liệt kê.",
        "Category '{detail}' is not allowed for this indicator. Use one of the categories listed.",
    ),
    # A blank cell in the pre-filled template means "not reported": recorded, not fatal.
    "VALUE_MISSING": (
        "warning",
        "Ô giá trị để trống nên chỉ tiêu này coi như chưa báo cáo. Ghi 0 nếu không có.",
        "The value is empty, so this indicator counts as not reported. Write 0 if there was none.",
    ),
    "CLUB_MEMBERS_MISSING": (
        "error",
        "Thiếu số thành viên của CLB/mô hình. Ghi số thành viên (số nguyên).",
        "The number of members of this club or model is missing. Write the number of members.",
    ),
    "VALUE_NOT_A_NUMBER": (
        "error",
        "Giá trị '{detail}' không phải là số. Chỉ ghi số nguyên.",
        "The value '{detail}' is not a number. Write a whole number.",
    ),
    "VALUE_NEGATIVE": (
        "error",
        "Giá trị '{detail}' là số âm. Số liệu không được âm; ghi 0 hoặc số đúng.",
        "The value '{detail}' is negative. Values cannot be negative; write 0 or the right number.",
    ),
    "VALUE_FRACTIONAL": (
        "error",
        "Giá trị '{detail}' có phần thập phân. Chỉ ghi số nguyên (tiền ghi bằng đồng).",
        "The value '{detail}' has a fraction. Write a whole number (money in đồng).",
    ),
    "VALUE_AMBIGUOUS": (
        "error",
        "Không rõ giá trị '{detail}': dấu phẩy có thể là dấu thập phân. "
        "Dùng dấu chấm để phân cách hàng nghìn, ví dụ 1.100.000.",
        "The value '{detail}' is ambiguous: the comma may be a decimal mark. "
        "Separate thousands with dots, for example 1.100.000.",
    ),
    # A part above its whole (more poor members helped than on the register, more victims supported
    # than identified): one of the two numbers is wrong. Accepted, so the rest of the report counts;
    # the unit is told, and a province share above 100% is flagged by the gate.
    "VALUE_ABOVE_RELATED": (
        "warning",
        "Số liệu không khớp: {detail}. Chỉ tiêu này không thể lớn hơn chỉ tiêu kia "
        "trong cùng báo cáo; kiểm tra lại hai số và gửi bản sửa.",
        "The figures disagree: {detail}. This indicator cannot be larger than the other one in "
        "the same report; check both numbers and send a corrected report.",
    ),
    "NONE_NEEDS_VERSION_2": (
        "error",
        "'{detail}' (không có) chỉ được hiểu từ mẫu phiên bản 2. Tệp này ghi phiên "
        "bản 1: hãy ghi 0 cho chỉ tiêu không có, hoặc dùng mẫu mới (phiên bản 2).",
        "'{detail}' (none) is understood from template version 2 on, and this file says version "
        "1: write 0 for an indicator there was none of, or use the current template (version 2).",
    ),
    "SECTION_NONE_WITH_ROWS": (
        "error",
        "Phần '{detail}' ghi 'không có' nhưng vẫn có số liệu, không rõ ý nào đúng. "
        "Xoá các dòng số liệu, hoặc xoá dòng 'không có'.",
        "The section '{detail}' says none but also holds figures, so which is meant is "
        "unclear. Remove the figures, or remove the 'none' row.",
    ),
    "NONE_NOT_FOR_CUMULATIVE": (
        "error",
        "Không ghi 'không có' cho '{detail}': đây là số người cộng dồn từ 1/1. Ghi số người từ đầu năm (0 nếu chưa có ai).",
        "'none' cannot be written for '{detail}', a count of people since 1 January: write "
        "the number of people since January (0 if nobody yet).",
    ),
    "ROW_DUPLICATE": (
        "error",
        "Dòng trùng với dòng {detail}. Mỗi chỉ tiêu và phân tổ chỉ ghi một lần.",
        "This row repeats row {detail}. Report each indicator and category once.",
    ),
    "CLUB_TYPE_UNKNOWN": (
        "error",
        "Loại CLB/mô hình '{detail}' không có trong danh mục. Dùng mã loại ở trang 'Hướng dẫn' của mẫu.",
        "Club or model type '{detail}' is not in the catalogue. Use a type code from the template's 'Hướng dẫn' sheet.",
    ),
    "CLUB_STATUS_UNKNOWN": (
        "error",
        "Tình trạng '{detail}' không hợp lệ. Ghi: mới, đang hoạt động hoặc giải thể.",
        "Status '{detail}' is not valid. Write new, active or dissolved.",
    ),
    "CLUB_DUPLICATE": (
        "error",
        "Mã CLB trùng với dòng {detail}. Mỗi CLB chỉ ghi một lần.",
        "This club id repeats row {detail}. List each club once.",
    ),
    "CLUB_ID_MISSING": (
        "error",
        "Thiếu mã CLB/mô hình. Ghi mã CLB như tháng trước.",
        "The club id is missing. Write the club's id as in earlier months.",
    ),
    "CLUB_NAME_MISSING": (
        "warning",
        "Thiếu tên CLB/mô hình; nên ghi tên để dễ đối chiếu.",
        "The club name is missing; add it so the club can be recognised.",
    ),
    # {detail} names the field and the kind of data, never the data itself
    "PERSONAL_DATA_IN_TEXT": (
        "error",
        "{detail}: báo cáo không được chứa thông tin cá nhân (số điện thoại, "
        "email, số CCCD/CMND). Báo cáo không được nhận. Hãy xoá thông tin đó (người báo "
        "cáo ghi chức danh, ví dụ 'Chủ tịch Hội'; tên CLB không ghi tên hay số của "
        "người) rồi gửi lại.",
        "{detail}: a report must not carry personal data (phone number, e-mail, national ID "
        "number). The report is not accepted. Remove it (the reporter is a role, e.g. 'Chủ tịch "
        "Hội'; a club name holds no person's name or number) and send it again.",
    ),
    # a report that came by e-mail from an address not registered for the unit it claims
    # (qnwu_warehouse/mailbox/senders.py); {detail}: the sender and the unit
    "SENDER_NOT_REGISTERED": (
        "error",
        "Địa chỉ gửi {detail} chưa được đăng ký để gửi báo cáo cho đơn vị này; báo cáo không được "
        "nhận và được giữ lại. Hãy gửi từ địa chỉ thư đã đăng ký của đơn vị, hoặc đề nghị cán bộ "
        "quản lý số liệu đăng ký địa chỉ này.",
        "The sending address {detail} is not registered to report for this unit; the report is not "
        "accepted and is kept in quarantine. Send it from the unit's registered address, or ask the "
        "data officer to register this address.",
    ),
}


# Personal data a free-text field must not hold (reporter, club_name): an e-mail address, or a
# number of nine digits or more, written with or without spaces, dots, dashes or brackets: a
# Vietnamese phone number (10 digits from 0, 11 for a landline, +84 instead of the 0), a citizen ID
# (CCCD, 12 digits from 0) or an old identity card (CMND, 9). No club or role name holds such a
# number; years written side by side ("2023 2024 2025") are not one.
_EMAIL = re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+|[^\s@]+\s*[\[(]\s*(at|a còng)\s*[\])]\s*\S+", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\+?\d(?:[\s.\-()]*\d){8,}")


def personal_data_in(text: str) -> str | None:
    """The kind of personal data `text` holds ('e-mail', 'phone number', 'national ID number'), or None."""
    if _EMAIL.search(text):
        return "e-mail"
    for match in _LONG_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) == 12 and digits.startswith("0") or len(digits) == 9:
            return "national ID number"
        if digits.startswith("0") and len(digits) in (10, 11) or digits.startswith("84") and len(digits) in (11, 12):
            return "phone number"
    return None


_PERSONAL_DATA_WORDS = {
    "e-mail": "địa chỉ email / e-mail",
    "phone number": "số điện thoại / phone number",
    "national ID number": "số CCCD/CMND / national ID number",
}


def _personal_data(text: str, where: Location, label: str, problems: list[Problem]) -> bool:
    kind = personal_data_in(text)
    if kind is not None:
        problems.append(Problem("PERSONAL_DATA_IN_TEXT", where, f"{label}: {_PERSONAL_DATA_WORDS[kind]}"))
    return kind is not None


# How much of a file's own text a message quotes.
MAX_QUOTED_CHARS = 80
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str, most: int = 2 * MAX_QUOTED_CHARS) -> str:
    """Text from a file or its name, safe to put in a message: no control characters (a terminal
    escape in a club name must not reach `qnwu feedback`'s terminal or a reply e-mail), no
    bidirectional overrides, at most `most` characters (a name may be longer than a quote)."""
    text = _CONTROL_CHARACTERS.sub("\ufffd", str(text))
    return text if len(text) <= most else text[:most] + "…"


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
    # Further text for the message's {advice}: (Vietnamese, English).
    advice: tuple[str, str] | None = None

    @property
    def severity(self) -> str:
        return REASONS[self.code][0]

    def message(self, file_name: str, language: str = "en") -> str:
        _, vi, en = REASONS[self.code]
        advice = "" if self.advice is None else self.advice[0 if language == "vi" else 1]
        # a detail quotes what the file held, which may be megabytes: the letter quotes its start
        detail = printable(self.detail, MAX_QUOTED_CHARS)
        text = (vi if language == "vi" else en).format(detail=detail, advice=advice).rstrip()
        where = [f"{'tệp' if language == 'vi' else 'file'} {printable(file_name)}", printable(self.location.sheet)]
        if self.location.row is not None:
            where.append(f"{'dòng' if language == 'vi' else 'row'} {self.location.row}")
        if self.location.column:
            where.append(f"{'cột' if language == 'vi' else 'column'} {printable(self.location.column)}")
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
    # JSON sections given as "none" instead of a list ({"clubs": "none"}), with where they were.
    # XLSX and CSV say it with a row, which the contract recognises (_none_marker).
    sections_declared_none: dict[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    unit_code: str
    period: str  # YYYY-MM
    submitted_at: datetime
    reporter: str
    template_version: str
    values: list[tuple[int, str, str, int]]  # (row, indicator_code, category, value)
    clubs: list[tuple[int, str, str, str, str, int]]  # (row, club_id, type, name, status, members)
    # Sections the unit declared empty (version 2): "clubs" means an empty register at month end,
    # which closes every club the unit had; without it an empty club list is not reported.
    sections_declared_none: frozenset[str] = frozenset()


def is_none_word(value: object) -> bool:
    return isinstance(value, str) and clean_text(value).casefold() in NONE_WORDS


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


# More digits than any bigint has: refused before int() is asked to read them (Python caps the
# digits int() reads, and raw stores 64-bit integers).
_MAX_DIGITS = 19


def parse_count(raw: object, max_value: int = Limits.max_value) -> tuple[int | None, str | None]:
    """Read a non-negative whole number the way Vietnamese secretaries write it.

    Returns (value, None) or (None, reason code). Dots group thousands ("1.100.000"); a comma
    is a decimal mark in Vietnamese but a thousands mark in English, so "1,100" is refused as
    ambiguous rather than guessed. A number above `max_value` is VALUE_OUT_OF_RANGE, whatever its
    size: it never reaches the 64-bit columns of raw.
    """
    if raw is None or (isinstance(raw, str) and clean_text(raw) == ""):
        return None, "VALUE_MISSING"
    if isinstance(raw, bool):
        return None, "VALUE_NOT_A_NUMBER"
    if isinstance(raw, int):
        if raw < 0:
            return None, "VALUE_NEGATIVE"
        return (raw, None) if raw <= max_value else (None, "VALUE_OUT_OF_RANGE")
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None, "VALUE_NOT_A_NUMBER"
        if raw < 0:
            return None, "VALUE_NEGATIVE"
        if not raw.is_integer():
            return None, "VALUE_FRACTIONAL"
        return (int(raw), None) if raw <= max_value else (None, "VALUE_OUT_OF_RANGE")
    text = clean_text(raw).replace("\u00a0", " ")
    negative = text.startswith("-")
    digits = text.lstrip("-").strip()
    if _PLAIN_INT.fullmatch(digits):
        digits_only = digits
    elif _DOT_GROUPED.fullmatch(digits) or _SPACE_GROUPED.fullmatch(digits):
        digits_only = digits.replace(".", "").replace(" ", "")
    elif _COMMA_GROUPED.fullmatch(digits):
        return None, "VALUE_AMBIGUOUS"
    elif _DECIMAL.fullmatch(digits):
        return None, "VALUE_FRACTIONAL"
    else:
        return None, "VALUE_NOT_A_NUMBER"
    digits_only = digits_only.lstrip("0") or "0"
    if negative and digits_only != "0":
        return None, "VALUE_NEGATIVE"
    if len(digits_only) > _MAX_DIGITS:
        return None, "VALUE_OUT_OF_RANGE"
    number = int(digits_only)
    return (number, None) if number <= max_value else (None, "VALUE_OUT_OF_RANGE")


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
    try:
        # kept within years 2..9998, so UTC and Vietnam time both exist for it
        return moment.astimezone(UTC) if 1 < moment.year < 9999 else None
    except (OverflowError, ValueError):
        return None


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


def validate(
    document: Document,
    reference: ReferenceData,
    today: date,
    limits: Limits = CONTRACT_LIMITS,
    received_at: datetime | None = None,
) -> tuple[Submission | None, list[Problem]]:
    """Check a read document against the contract.

    Any error rejects the whole submission (no half-report reaches the facts); warnings are
    returned alongside an accepted submission. `received_at` is when the file reached the landing
    zone (default: now): a report cannot have been sent after it arrived. At most
    `limits.max_problems_per_file` problems are returned, errors first; the rest are counted.
    """
    problems = list(document.problems)
    received_at = received_at or datetime.now(UTC)
    header_values: dict[str, str] = {}
    for name, label in HEADER_FIELDS.items():
        raw, where = document.header.get(name, (None, Location(SECTION_SHEETS["header"], None, label)))
        if _too_long(raw, where, label, limits, problems):
            continue
        text = clean_text(raw) if not isinstance(raw, datetime | date) else raw
        if text in ("", None):
            if not any(p.code == "SECTION_MISSING" and p.detail == SECTION_SHEETS["header"] for p in problems):
                problems.append(Problem("HEADER_FIELD_MISSING", where, label))
            continue
        if name in FREE_TEXT_HEADER_FIELDS and _personal_data(str(text), where, label, problems):
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
            problems.append(
                Problem(
                    "UNIT_NOT_VALID_IN_PERIOD",
                    where,
                    f"{code} @ {period_start:%Y-%m}",
                    _unit_advice(reference, code, period_start),
                )
            )

    submitted_at = None
    if "submitted_at" in header_values:
        submitted_at = parse_timestamp(header_values["submitted_at"])
        where = document.header["submitted_at"][1]
        if submitted_at is None:
            problems.append(Problem("SUBMITTED_AT_MALFORMED", where, str(header_values["submitted_at"])))
        elif submitted_at > received_at:
            # The latest submitted_at makes a version current: one dated in the future would stay
            # current forever, whatever the unit sends later.
            problems.append(
                Problem(
                    "SUBMITTED_AT_IN_FUTURE",
                    where,
                    f"{submitted_at.astimezone(VIETNAM_TIME):%Y-%m-%d %H:%M} "
                    f"> {received_at.astimezone(VIETNAM_TIME):%Y-%m-%d %H:%M}",
                )
            )

    version = str(header_values.get("template_version", "")).removesuffix(".0")
    if version and version not in SUPPORTED_TEMPLATE_VERSIONS:
        problems.append(Problem("TEMPLATE_VERSION_UNSUPPORTED", document.header["template_version"][1], version))

    allows_none = version not in VERSIONS_WITHOUT_NONE
    declared_none = _sections_declared_none(document, allows_none, problems)
    # in a version 2 file a marker row says "none"; it is not a value or a club
    values = _check_values(
        [row for row in document.values if not (allows_none and _none_marker(row, "values"))],
        reference,
        limits,
        problems,
        allows_none,
        declared_none.get("values"),
    )
    clubs = _check_clubs(
        [row for row in document.clubs if not (allows_none and _none_marker(row, "clubs"))], reference, limits, problems
    )
    if "values" in declared_none:
        values = _values_of_none(declared_none["values"], reference)
    if "clubs" in declared_none and clubs:
        problems.append(Problem("SECTION_NONE_WITH_ROWS", declared_none["clubs"], SECTION_SHEETS["clubs"]))

    if any(p.severity == "error" for p in problems):
        return None, capped(problems, limits.max_problems_per_file)
    assert period_start is not None and submitted_at is not None
    return Submission(
        unit_code=str(header_values["unit_code"]),
        period=period_start.strftime("%Y-%m"),
        submitted_at=submitted_at,
        reporter=str(header_values["reporter"]),
        template_version=version,
        values=values,
        clubs=clubs,
        sections_declared_none=frozenset(declared_none),
    ), capped(problems, limits.max_problems_per_file)


def capped(problems: list[Problem], most: int) -> list[Problem]:
    """At most `most` problems, errors before warnings, then one line counting the rest: a file with
    a million bad rows gets a letter a secretary can read, not a million lines."""
    if len(problems) <= most:
        return problems
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    kept = ordered[: max(most - 1, 0)]
    return [*kept, Problem("PROBLEMS_TRUNCATED", Location("(file)"), str(len(problems) - len(kept)))]


def _unit_advice(reference: ReferenceData, code: str, period_start: date) -> tuple[str, str]:
    """What a unit reporting under a code that did not exist in the period should do instead."""
    change = reference.successor_of(code, period_start)
    if change is not None:
        name = f" ({change.new_unit_name})" if change.new_unit_name else ""
        return (
            f"Từ {change.change_date:%d/%m/%Y} đơn vị này đã nhập vào đơn vị {change.new_unit_code}{name}: "
            f"hãy báo cáo bằng mã {change.new_unit_code}.",
            f"Since {change.change_date:%Y-%m-%d} it is part of unit {change.new_unit_code}{name}: report under "
            f"code {change.new_unit_code}.",
        )
    versions = [v for v in reference.units.get(code, ()) if v.unit_level == "grassroots"]
    if versions:
        first = min(v.valid_from for v in versions)
        if period_start < first:
            return (
                f"Mã này chỉ có từ {first:%d/%m/%Y}: với các kỳ trước, dùng mã của đơn vị cũ.",
                f"This code exists only from {first:%Y-%m-%d}: for earlier periods use the former unit's code.",
            )
    return (
        "Kiểm tra lại mã đơn vị và kỳ báo cáo, hoặc liên hệ Hội LHPN cấp trên.",
        "Check the unit code and the period, or contact the union above you.",
    )


def _quoted(raw: object) -> str:
    """The start of what a cell held, for a message (a cell may hold megabytes)."""
    text = raw[: MAX_QUOTED_CHARS + 1] if isinstance(raw, str) else raw
    return clean_text(text)[: MAX_QUOTED_CHARS + 1]


def _too_long(raw: object, where: Location, label: str, limits: Limits, problems: list[Problem]) -> bool:
    """A text field longer than the contract allows is refused before anything reads it further."""
    if isinstance(raw, str) and len(raw) > limits.max_field_chars:
        problems.append(
            Problem("FIELD_TOO_LONG", where, f"{label}: {len(raw):,} ký tự/characters > {limits.max_field_chars}")
        )
        return True
    return False


def _has_long_text(
    row: SectionRow, names: tuple[str, ...], labels: dict[str, str], limits: Limits, problems: list[Problem]
) -> bool:
    """Whether a field of the row is longer than the contract allows (each one a FIELD_TOO_LONG)."""
    most = limits.max_field_chars
    cells = row.cells
    if not any(isinstance(cells.get(name), str) and len(cells[name]) > most for name in names):
        return False  # the common case, checked without building a location per field
    return any([_too_long(cells.get(name), row.where(name), labels.get(name, name), limits, problems) for name in names])


# The column of a section whose cell says "none" for the whole section (XLSX and CSV rows).
_SECTION_CODE_KEYS = {"values": "indicator_code", "clubs": "club_id"}


def _none_marker(row: SectionRow, section: str) -> Location | None:
    """Where a row says its whole section is empty: its code cell holds `none` / `không có`."""
    key = _SECTION_CODE_KEYS[section]
    return row.where(key) if is_none_word(row.cells.get(key)) else None


def _sections_declared_none(document: Document, allows_none: bool, problems: list[Problem]) -> dict[str, Location]:
    """{section: where the unit said it has none}. In a version 1 file a marker row is an ordinary
    row (and is judged as one), as it always was; a JSON section given as "none" is refused there."""
    declared = dict(document.sections_declared_none)
    if not allows_none:
        for section, where in declared.items():
            problems.append(Problem("NONE_NEEDS_VERSION_2", where, f"{section}: none"))
        return {}
    for section, rows in (("values", document.values), ("clubs", document.clubs)):
        for row in rows:
            where = _none_marker(row, section)
            if where is not None:
                declared.setdefault(section, where)
    return declared


def _values_of_none(where: Location, reference: ReferenceData) -> list[tuple[int, str, str, int]]:
    """A values section declared none: 0 for every category of every flow and stock. A count of
    people since 1 January is left unreported (its year value is the unit's last report, kept)."""
    return [
        (where.row or 0, code, category, 0)
        for code, indicator in reference.indicators.items()
        if indicator.time_aggregation != "ytd_distinct"
        for category in sorted(indicator.allowed_categories)
    ]


def _check_values(
    rows: list[SectionRow],
    reference: ReferenceData,
    limits: Limits,
    problems: list[Problem],
    allows_none: bool = False,
    section_declared_none: Location | None = None,
):
    accepted = []
    first_seen: dict[tuple[str, str], int] = {}
    for row in rows:
        # (a value of any length is read by parse_count: too many digits is VALUE_OUT_OF_RANGE)
        if _has_long_text(row, ("indicator_code", "category"), VALUE_COLUMNS, limits, problems):
            continue
        raw_value = row.cells.get("value")
        if section_declared_none is not None:
            # the template's pre-filled rows left blank (or 0) agree with "none"; a figure does not
            number, reason = parse_count(raw_value)
            if not (reason == "VALUE_MISSING" or number == 0 or is_none_word(raw_value)):
                problems.append(Problem("SECTION_NONE_WITH_ROWS", row.where("value"), SECTION_SHEETS["values"]))
            continue
        code = clean_text(row.cells.get("indicator_code"))
        category_given = clean_text(row.cells.get("category"))
        category = category_given or "total"
        indicator = reference.indicators.get(code)
        says_none = is_none_word(raw_value)
        if indicator is None:
            problems.append(Problem("INDICATOR_UNKNOWN", row.where("indicator_code"), code))
        elif category not in indicator.allowed_categories and not (says_none and not category_given):
            problems.append(
                Problem(
                    "CATEGORY_NOT_ALLOWED",
                    row.where("category"),
                    f"{category} ({code}: {'|'.join(sorted(indicator.allowed_categories))})",
                )
            )
        if says_none:
            if not allows_none:
                problems.append(Problem("NONE_NEEDS_VERSION_2", row.where("value"), _quoted(raw_value)))
            elif indicator is not None and indicator.time_aggregation == "ytd_distinct":
                problems.append(Problem("NONE_NOT_FOR_CUMULATIVE", row.where("value"), code))
            elif indicator is not None:
                # "none" with no category: none in any category of the indicator
                categories = [category] if category_given else sorted(indicator.allowed_categories)
                for each in categories:
                    if _first_time(first_seen, (code, each), row, problems):
                        accepted.append((row.row, code, each, 0))
            continue
        most = indicator.max_value if indicator is not None and indicator.max_value else limits.max_value
        number, reason = parse_count(raw_value, min(most, limits.max_value))
        if reason:
            problems.append(Problem(reason, row.where("value"), _quoted(raw_value)))
        if _first_time(first_seen, (code, category), row, problems) and number is not None:
            accepted.append((row.row, code, category, number))
    _check_parts_within_wholes(rows, accepted, reference, problems)
    return accepted


def _first_time(
    first_seen: dict[tuple[str, str], int], key: tuple[str, str], row: SectionRow, problems: list[Problem]
) -> bool:
    """Whether (indicator, category) is reported here for the first time; a repeat is ROW_DUPLICATE."""
    if key in first_seen:
        problems.append(Problem("ROW_DUPLICATE", row.where("indicator_code"), str(first_seen[key])))
        return False
    first_seen[key] = row.row
    return True


def _check_parts_within_wholes(rows: list[SectionRow], accepted, reference: ReferenceData, problems: list[Problem]) -> None:
    """An indicator with at_most_indicator_code (seeds/indicators.csv) cannot exceed that
    indicator's value in the same report and category."""
    reported = {(code, category): number for _row, code, category, number in accepted}
    where = {row.row: row for row in rows}
    for row_number, code, category, number in accepted:
        whole = reference.indicators[code].at_most if code in reference.indicators else None
        if whole is None or (whole, category) not in reported or number <= reported[(whole, category)]:
            continue
        problems.append(
            Problem(
                "VALUE_ABOVE_RELATED",
                where[row_number].where("value"),
                f"{code} ({category}) = {number} > {whole} ({category}) = {reported[(whole, category)]}",
            )
        )


# The most members one club or model can have: far above any real club (the largest have a few hundred).
MAX_CLUB_MEMBERS = 100_000


def _check_clubs(rows: list[SectionRow], reference: ReferenceData, limits: Limits, problems: list[Problem]):
    accepted = []
    first_seen: dict[str, int] = {}
    for row in rows:
        if _has_long_text(row, ("club_id", "club_type", "club_name", "status", "members"), CLUB_COLUMNS, limits, problems):
            continue
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
        elif _personal_data(name, row.where("club_name"), CLUB_COLUMNS["club_name"], problems):
            name = ""
        members, reason = parse_count(row.cells.get("members"), MAX_CLUB_MEMBERS)
        if reason == "VALUE_MISSING":
            reason = "CLUB_MEMBERS_MISSING"
        if reason:
            problems.append(Problem(reason, row.where("members"), _quoted(row.cells.get("members"))))
        if members is not None and status is not None and club_id:
            accepted.append((row.row, club_id, club_type, name, status, members))
    return accepted
