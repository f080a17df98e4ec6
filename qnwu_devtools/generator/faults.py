"""The realistic bad files a landing zone receives (wrong layout, bad values, duplicates, files that
are not reports), and the outcome each must get (expected_outcomes.csv)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from qnwu_warehouse.contract.files import (
    write_csv,
    write_json,
    write_xlsx,
)

# --- faults -------------------------------------------------------------------------------------
_FAKE_PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n% Scanned report\ntrailer\n"
    b"<< /Root 1 0 R >>\n%%EOF\n"
)
_FAKE_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)


@dataclass
class WrittenFile:
    name: str
    fmt: str
    submission: dict
    content: bytes


class Reservoir:
    """A fixed-size, seeded sample of the written reports that faults are made from."""

    def __init__(self, rng: Random, size: int):
        self.rng, self.size, self.seen, self.items = rng, size, 0, []

    def offer(self, item: WrittenFile) -> None:
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            slot = self.rng.randrange(self.seen + 1)
            if slot < self.size:
                self.items[slot] = item
        self.seen += 1


def _dotted(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def _shift(submission: dict, **delta) -> dict:
    copy = {
        "header": dict(submission["header"]),
        "values": [dict(r) for r in submission["values"]],
        "clubs": [dict(c) for c in submission["clubs"]],
    }
    moment = datetime.fromisoformat(copy["header"]["submitted_at"]) + timedelta(**delta)
    copy["header"]["submitted_at"] = moment.isoformat()
    return copy


def _row(submission: dict, code: str | None = None, minimum: int = 1) -> dict:
    """The value row of indicator ``code`` (or the largest value >= minimum), added if the report lacks it."""
    rows = submission["values"]
    if code is not None:
        found = [r for r in rows if r["indicator_code"] == code and r["category"] == "total"]
    else:
        found = sorted(
            (r for r in rows if isinstance(r["value"], int) and r["value"] >= minimum),
            key=lambda r: (-r["value"], r["indicator_code"], r["category"]),
        )
    if found:
        return found[0]
    row = {"indicator_code": code or "news_items", "category": "total", "value": 0}
    rows.append(row)
    return row


def make_faults(
    rng: Random,
    general: list[WrittenFile],
    future_ready: list[WrittenFile],
    money: list[WrittenFile],
    known_codes: set[str],
    year: int,
) -> list[tuple[str, bytes, str, str]]:
    """(file name, bytes, expected outcome, reason code) of each fault file."""
    if not general:
        return []
    bases = list(general)
    rng.shuffle(bases)
    taken: set[str] = set()

    def base(pool: list[WrittenFile] | None = None) -> WrittenFile:
        for item in (pool or []) + bases:
            if item.name not in taken:
                taken.add(item.name)
                return item
        return bases[0]

    faults: list[tuple[str, bytes, str, str]] = []
    # Rejected files: a first attempt, sent a few hours before the good file.
    item = base()
    sub = _shift(item.submission, hours=-3)
    code = sub["header"]["unit_code"]
    candidates = [code[:-1] + digit for digit in "7319024568"] + [code + "9"]
    bad = next(c for c in candidates if c not in known_codes)  # a mistyped last digit
    sub["header"]["unit_code"] = bad
    faults.append((f"{bad}_{sub['header']['period']}.csv", write_csv(sub), "rejected", "UNIT_UNKNOWN"))

    item = base(future_ready)
    sub = _shift(item.submission, hours=-2)
    period = sub["header"]["period"]
    future = f"{int(period[:4]) + 9}{period[4:]}"  # "2023" typed as "2032"
    sub["header"]["period"] = future
    faults.append((f"{sub['header']['unit_code']}_{future}.xlsx", write_xlsx(sub), "rejected", "PERIOD_IN_FUTURE"))

    item = base()
    sub = _shift(item.submission, hours=-5)
    row = _row(sub)
    row["value"] = f"-{row['value'] or 3}"
    faults.append((f"{_stem(item.name)}_nhap.csv", write_csv(sub), "rejected", "VALUE_NEGATIVE"))

    item = base()
    sub = _shift(item.submission, hours=-4)
    _row(sub, "child_training_attendances")["value"] = 12.5
    faults.append((f"{_stem(item.name)}_nhap.xlsx", write_xlsx(sub), "rejected", "VALUE_FRACTIONAL"))

    item = base()
    sub = _shift(item.submission, hours=-6)
    _row(sub, "news_items")["value"] = "khoảng 20"
    faults.append((f"{_stem(item.name)}_ban-nhap.xlsx", write_xlsx(sub), "rejected", "VALUE_NOT_A_NUMBER"))

    item = base()
    sub = _shift(item.submission, hours=-2)
    sub["values"].append({"indicator_code": "tin_bai_tuyen_truyen", "category": "total", "value": 4})
    faults.append((f"{_stem(item.name)}_nhap.json", write_json(sub), "rejected", "INDICATOR_UNKNOWN"))

    item = base()
    sub = _shift(item.submission, hours=-1)
    faults.append(
        (f"{_stem(item.name)}_thieu-trang.xlsx", write_xlsx(sub, omit_sheets=("clubs",)), "rejected", "SECTION_MISSING")
    )

    item = base()
    sub = _shift(item.submission, hours=-1)
    faults.append(
        (
            f"{_stem(item.name)}_sua-cot.xlsx",
            write_xlsx(sub, value_headings={"value": "Số liệu"}),
            "rejected",
            "COLUMN_MISSING",
        )
    )

    item = base(money)
    sub = _shift(item.submission, hours=-2)
    row = _row(sub, minimum=1000)
    row["value"] = f"{max(int(row['value']), 1_100_000):,}"  # "1,100,000": English grouping
    faults.append((f"{_stem(item.name)}_nhap-tien.csv", write_csv(sub), "rejected", "VALUE_AMBIGUOUS"))

    # The same file sent twice, and renamed: byte-identical to an accepted file; names sort after it.
    item = base()
    faults.append((f"{_stem(item.name)}_ban-sao.{item.fmt}", item.content, "duplicate", ""))
    item = base()
    unit, period = item.submission["header"]["unit_code"], item.submission["header"]["period"]
    faults.append((f"Bao cao thang {period[5:]}-{period[:4]} {unit}.{item.fmt}", item.content, "duplicate", ""))

    # Accepted re-encodings of a real report, resent a day later with the very same values.
    item = base()
    faults.append(
        (
            f"{_stem(item.name)}_gui-lai.csv",
            write_csv(_shift(item.submission, days=1, hours=2), unicode_form="NFD"),
            "accepted",
            "",
        )
    )
    item = base()
    faults.append(
        (
            f"{_stem(item.name)}_gui-lai.xlsx",
            write_xlsx(_shift(item.submission, days=1, hours=1), unicode_form="NFD"),
            "accepted",
            "",
        )
    )
    for fmt in ("xlsx", "csv"):
        item = base(money)
        sub = _shift(item.submission, days=2)
        for row in sub["values"]:
            row["value"] = _dotted(row["value"])
        for club in sub["clubs"]:
            club["members"] = _dotted(club["members"])
        writer = write_xlsx if fmt == "xlsx" else write_csv
        faults.append((f"{_stem(item.name)}_gui-lai-so.{fmt}", writer(sub), "accepted", ""))

    # Files that cannot be read at all.
    item = base()
    faults.append((f"{_stem(item.name)}_loi.xlsx", b"", "rejected", "FILE_EMPTY"))
    item = base()
    content = write_xlsx(item.submission)
    faults.append((f"{_stem(item.name)}_tai-loi.xlsx", content[: len(content) * 3 // 5], "rejected", "FILE_CORRUPT"))
    item = base()
    faults.append((f"{_stem(item.name)}_scan.xlsx", _FAKE_PDF, "rejected", "FILE_TYPE_MISMATCH"))
    item = base()
    faults.append((f"{_stem(item.name)}_anh.xlsx", _FAKE_PNG, "rejected", "FILE_TYPE_MISMATCH"))
    item = base()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("word/document.xml", date_time=(year, 1, 1, 0, 0, 0))
        archive.writestr(info, "<w:document>Báo cáo tháng</w:document>")
    faults.append((f"{_stem(item.name)}.docx", buffer.getvalue(), "rejected", "FILE_FORMAT_UNSUPPORTED"))
    return faults
