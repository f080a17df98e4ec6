"""Reminders before a period's deadline, and chase lists after it (issue 17, step 4).

A report for month M is due on day `report_deadline_day` (dbt_project.yml, 10) of month M+1.
- Reminder: from QNWU_MAILBOX_REMINDER_DAYS days before that deadline until it, every grassroots
  unit in force in M with no accepted report for M (raw.submissions) and a registered address
  gets one reminder (outbox key reminder:<unit>:<period>).
- Chase list: once M's deadline has passed, each district officer (for months from 2025-07-01,
  when the districts were abolished, the province officer), as registered under the district's
  (province's) code in the sender registry, gets one list (outbox key chase:<code>:<period>) of
  the units missing or late for M, from the completeness mart marts.fct_reporting_completeness
  of the published warehouse (the `missing_reports` analyst query's source).
Both go through the outbox and SmtpHook like the replies, so each is sent once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import duckdb
import yaml

from qnwu_warehouse.contract.reference import load_reference
from qnwu_warehouse.mailbox import store
from qnwu_warehouse.mailbox.replies import ReplySummary, _html, _reply_id, send_pending
from qnwu_warehouse.mailbox.senders import load_registry
from qnwu_warehouse.settings import DBT_PROJECT_DIR, MailboxSettings, Settings

log = logging.getLogger(__name__)

DISTRICTS_ABOLISHED = date(2025, 7, 1)  # from then on the province office chases its units


@dataclass
class ReminderSummary:
    reminders: int = 0
    chase_lists: int = 0
    units_without_address: int = 0
    sent: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def deadline_day() -> int:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(project["vars"]["report_deadline_day"])


def month_start(period: str) -> date:
    return date.fromisoformat(f"{period}-01")


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_period(period: str) -> str:
    return period_of(month_start(period) - timedelta(days=1))


def deadline_of(period: str, day: int) -> date:
    start = month_start(period)
    next_month = (start + timedelta(days=32)).replace(day=1)
    return next_month + timedelta(days=day - 1)


def chase_scope(period: str, district_code: str | None, province_code: str) -> str:
    """Who chases a unit's missing report: its district, or the province from 2025-07-01 on."""
    if month_start(period) >= DISTRICTS_ABOLISHED or not district_code:
        return province_code
    return district_code


def _units_in_force(settings: Settings, period: str) -> dict[str, tuple[str, str | None]]:
    """Grassroots unit code -> (name, district code) for the units in force on the period's first day."""
    start = month_start(period)
    units = {}
    for versions in load_reference(settings.seeds_dir).units.values():
        for unit in versions:
            if (
                unit.unit_level == "grassroots"
                and unit.valid_from <= start
                and (unit.valid_to is None or start < unit.valid_to)
            ):
                units[unit.unit_code] = (unit.unit_name, unit.district_code or None)
    return units


def _province_code(settings: Settings) -> str:
    for versions in load_reference(settings.seeds_dir).units.values():
        if versions[0].unit_level == "province":
            return versions[0].unit_code
    return "22"


def _accepted_units(settings: Settings, period: str) -> set[str]:
    if not settings.working_warehouse.exists():
        return set()
    from qnwu_warehouse.warehouse import working_connection

    with working_connection(settings) as con:
        if not con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'submissions'"
        ).fetchone()[0]:
            return set()
        return {
            row[0]
            for row in con.execute("select distinct unit_code from raw.submissions where period = ?", [period]).fetchall()
        }


def _queue(con, key: str, kind: str, recipients: set[str], subject: str, paragraphs: list[str], sender: str) -> int:
    footer = "Thư này được gửi tự động bởi hệ thống nhận báo cáo của Hội LHPN tỉnh Quảng Ninh."
    con.execute(
        "insert or ignore into outbox (idempotency_key, message_key, kind, recipient, subject, body_html, "
        "in_reply_to, references_header, reply_message_id, attach_template, created_at) "
        "values (?, null, ?, ?, ?, ?, null, null, ?, 0, ?)",
        [
            key,
            kind,
            ", ".join(sorted(recipients)),
            subject,
            _html([*paragraphs, footer]),
            _reply_id(key, sender),
            store.now(),
        ],
    )
    return con.execute("select changes()").fetchone()[0]


def _missing_or_late(settings: Settings, period: str, units: dict[str, tuple[str, str | None]]) -> list[tuple]:
    """(unit_code, unit name, district code, status, days late) of the units missing or late for the
    period, from the published completeness mart; every unit in force when the mart has no row for
    the period (no unit at all has reported for it yet)."""
    rows = []
    if settings.published_warehouse.exists():
        with duckdb.connect(str(settings.published_warehouse), read_only=True) as con:
            rows = con.execute(
                """select unit_code, district_code, is_received, days_late from marts.fct_reporting_completeness
                   where period = ?""",
                [period],
            ).fetchall()
    if not rows:
        return [(code, name, district, "missing", None) for code, (name, district) in sorted(units.items())]
    found = []
    for unit_code, district_code, is_received, days_late in sorted(rows, key=lambda row: row[0]):
        if is_received and not days_late:
            continue
        name = units.get(unit_code, (unit_code, None))[0]
        found.append((unit_code, name, district_code, "late" if is_received else "missing", days_late))
    return found


def reminder_stage(settings: Settings, mailbox: MailboxSettings, today: date, reminder_days: int) -> ReminderSummary:
    summary = ReminderSummary()
    registry = load_registry(mailbox.senders_file)
    day = deadline_day()
    province = _province_code(settings)
    with store.connect(settings) as con:
        # reminders: the period whose deadline is today or within reminder_days
        period = previous_period(period_of(today))
        deadline = deadline_of(period, day)
        if 0 <= (deadline - today).days <= reminder_days:
            accepted = _accepted_units(settings, period)
            for unit_code, (name, _) in sorted(_units_in_force(settings, period).items()):
                if unit_code in accepted:
                    continue
                addresses = registry.get(unit_code)
                if not addresses:
                    summary.units_without_address += 1
                    continue
                summary.reminders += _queue(
                    con,
                    f"reminder:{unit_code}:{period}",
                    "reminder",
                    addresses,
                    f"[Hội LHPN QN] Nhắc gửi báo cáo tháng {period} (hạn {deadline:%d/%m/%Y})",
                    [
                        f"Kính gửi {name} ({unit_code}),",
                        f"Hệ thống chưa nhận được báo cáo tháng {period} của đơn vị. Hạn gửi là ngày {deadline:%d/%m/%Y} "
                        f"(còn {(deadline - today).days} ngày).",
                        "Việc cần làm: gửi tệp báo cáo theo mẫu (XLSX, CSV hoặc JSON) đến địa chỉ này. Nếu đơn vị vừa gửi, "
                        "xin bỏ qua thư này.",
                    ],
                    mailbox.from_address,
                )
        # chase lists: the latest period whose deadline has passed
        chased = period if today > deadline else previous_period(period)
        chased_deadline = deadline_of(chased, day)
        units = _units_in_force(settings, chased)
        by_scope: dict[str, list[tuple]] = {}
        for row in _missing_or_late(settings, chased, units):
            by_scope.setdefault(chase_scope(chased, row[2], province), []).append(row)
        for scope, rows in sorted(by_scope.items()):
            officers = registry.get(scope)
            if not officers:
                continue
            lines = [
                f"- {code} {name}: " + ("chưa gửi" if status == "missing" else f"gửi muộn {int(days_late)} ngày")
                for code, name, _, status, days_late in rows
            ]
            summary.chase_lists += _queue(
                con,
                f"chase:{scope}:{chased}",
                "chase_list",
                officers,
                f"[Hội LHPN QN] Đơn vị chưa gửi hoặc gửi muộn báo cáo tháng {chased} ({len(rows)} đơn vị)",
                [
                    f"Hạn gửi báo cáo tháng {chased} là ngày {chased_deadline:%d/%m/%Y}. Các đơn vị sau chưa gửi "
                    f"hoặc gửi muộn ({len(rows)} đơn vị):",
                    "\n".join(lines),
                    "Việc cần làm: đề nghị đồng chí đôn đốc các đơn vị gửi báo cáo.",
                ],
                mailbox.from_address,
            )
    sent = ReplySummary()
    send_pending(settings, mailbox, sent)
    summary.sent, summary.failed = sent.sent, sent.failed
    log.info("mailbox reminders: %s", summary.as_dict())
    return summary
