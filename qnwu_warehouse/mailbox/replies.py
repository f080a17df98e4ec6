"""One answer per file, in the sender's thread, exactly once.

After each ingest, every file the mailbox landed that now has a ledger row (raw.received_files,
by its landing path) gets an outbox row keyed `file:<message key>:<position>`: accepted (unit,
period, version, what was counted), rejected (each reason in Vietnamese with file, sheet, row and
column, what to do, and the blank XLSX template when the layout was wrong) or duplicate. A
message with no report file gets one `no-file:<message key>` row. A file refused because its
sender is not registered for its unit also tells that unit's registered addresses
(`notice:...`). The outbox key is the primary key, so no file is answered twice however often
this runs; a row is marked sent right after the SMTP server took it (a crash in between can send
that one reply again, with the same Message-ID, which mail clients show once).
Replies go out through Airflow's SmtpHook, marked Auto-Submitted: auto-replied (RFC 3834).
"""

from __future__ import annotations

import hashlib
import html
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from qnwu_warehouse.mailbox import store
from qnwu_warehouse.mailbox.senders import load_registry
from qnwu_warehouse.settings import MailboxSettings, Settings

log = logging.getLogger(__name__)

# Reasons that mean the file is not laid out as the template: the blank template goes with the reply.
LAYOUT_REASONS = {
    "FILE_FORMAT_UNSUPPORTED",
    "FILE_TYPE_MISMATCH",
    "FILE_CORRUPT",
    "FILE_EMPTY",
    "FILE_UNREADABLE",
    "FILE_ENCODING_NOT_UTF8",
    "SECTION_MISSING",
    "COLUMN_MISSING",
    "HEADER_FIELD_MISSING",
    "TEMPLATE_VERSION_UNSUPPORTED",
}
TEMPLATE_NAME = "mau-bao-cao-hoi-lhpn-quang-ninh.xlsx"
MAX_REASONS_IN_REPLY = 30


@dataclass
class ReplySummary:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    waiting_for_ingest: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{html.escape(text).replace(chr(10), '<br>')}</p>\n" for text in paragraphs)
    return f'<html><head><meta charset="utf-8"></head><body>\n{body}</body></html>'


def _reply_id(key: str, settings_from: str) -> str:
    domain = settings_from.rsplit("@", 1)[-1]
    return f"<qnwu-{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _records(cursor) -> list[dict]:
    """Rows as dicts, with SQL nulls as None (not pandas' NaN)."""
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _ledger(settings: Settings, paths: list[str]) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """The ledger rows of the landed files, by landing path, and the reasons, by file hash."""
    if not paths or not settings.working_warehouse.exists():
        return {}, {}
    from qnwu_warehouse.warehouse import working_connection

    with working_connection(settings) as con:
        if not con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'received_files'"
        ).fetchone()[0]:
            return {}, {}
        frame = con.execute(
            """with versions as (
                   select file_hash, unit_code, period,
                          row_number() over (partition by unit_code, period order by submitted_at, loaded_at, file_hash)
                              as version
                   from raw.submissions),
               firsts as (
                   select file_hash, min_by(outcome, received_at) as first_outcome from raw.received_files
                   where outcome <> 'duplicate' group by file_hash)
               select f.source_path, f.file_hash, f.outcome, f.duplicate_of_hash, f.claimed_unit_code,
                      f.claimed_period, f.warning_count, v.unit_code, v.period, v.version,
                      (select count(*) from raw.submission_values sv where sv.file_hash = f.file_hash) as n_values,
                      (select coalesce(sum(sv.value), 0) from raw.submission_values sv where sv.file_hash = f.file_hash)
                          as total_value,
                      (select count(*) from raw.submission_clubs sc where sc.file_hash = f.file_hash) as n_clubs,
                      firsts.first_outcome
               from raw.received_files f
               left join versions v using (file_hash)
               left join firsts on firsts.file_hash = coalesce(f.duplicate_of_hash, f.file_hash)
               where f.source_path in (select unnest(?::varchar[]))""",
            [paths],
        )
        rows = {row["source_path"]: row for row in _records(frame)}
        hashes = {row["file_hash"] for row in rows.values()} | {row["duplicate_of_hash"] for row in rows.values()}
        problems: dict[str, list[dict]] = {}
        for row in _records(
            con.execute(
                """select file_hash, reason_code, severity, message_vi, message_en from raw.submission_problems
               where file_hash in (select unnest(?::varchar[])) order by severity, source_row nulls first""",
                [sorted(h for h in hashes if isinstance(h, str))],
            )
        ):
            problems.setdefault(row["file_hash"], []).append(row)
    return rows, problems


def _file_reply(
    attachment, ledger_row: dict | None, problems: dict[str, list[dict]]
) -> tuple[str, list[str], bool, list[dict]]:
    """(kind, paragraphs, attach the template, the reasons) of the answer to one file."""
    name = attachment["file_name"]
    if attachment["landing_path"]:  # reasons name the file as landed (NN-name); the sender knows it by its own name
        landed = attachment["landing_path"].rsplit("/", 1)[-1]
        problems = {
            file_hash: [{**r, "message_vi": r["message_vi"].replace(f"tệp {landed}", f"tệp {name}", 1)} for r in rows]
            for file_hash, rows in problems.items()
        }
    note = [attachment["intake_note_vi"]] if attachment["intake_note_vi"] else []
    if ledger_row is None:  # not landed: refused by the mailbox itself
        return (
            "rejected",
            [
                f"Tệp '{name}': CHƯA NHẬN báo cáo (not accepted).",
                "Lý do:\n- " + "\n- ".join(note),
                "Việc cần làm: gửi lại tệp báo cáo (XLSX, CSV hoặc JSON) trong một thư khác.",
            ],
            False,
            [],
        )
    outcome = ledger_row["outcome"]
    if outcome == "accepted":
        version = int(ledger_row["version"] or 1)
        return (
            "accepted",
            [
                f"Tệp '{name}': ĐÃ NHẬN báo cáo (accepted).",
                f"Đơn vị: {ledger_row['unit_code']}\nKỳ báo cáo: {ledger_row['period']}\n"
                f"Lần gửi (phiên bản): {version}" + (" (thay thế các lần gửi trước)" if version > 1 else ""),
                f"Đã ghi nhận: {int(ledger_row['n_values'])} số liệu chỉ tiêu (tổng {int(ledger_row['total_value']):,}), "
                f"{int(ledger_row['n_clubs'])} câu lạc bộ/mô hình; {int(ledger_row['warning_count'] or 0)} cảnh báo.",
                "Cảm ơn đơn vị. Nếu cần sửa, hãy gửi lại cả tệp đã sửa: bản gửi sau sẽ thay thế bản này.",
            ],
            False,
            problems.get(ledger_row["file_hash"], []),
        )
    if outcome == "duplicate":
        first = ledger_row["first_outcome"]
        earlier = {"accepted": "đã được nhận", "rejected": "đã bị từ chối"}.get(first, "đã được xử lý")
        paragraphs = [
            f"Tệp '{name}': TRÙNG (duplicate) — tệp có nội dung giống hệt đã được gửi trước đó và {earlier}; "
            "không tính lại lần này.",
        ]
        reasons = problems.get(ledger_row["duplicate_of_hash"] or "", [])
        if first == "rejected" and reasons:
            paragraphs.append("Lý do lần trước:\n- " + "\n- ".join(r["message_vi"] for r in reasons[:MAX_REASONS_IN_REPLY]))
            paragraphs.append("Việc cần làm: sửa tệp theo các lý do trên rồi gửi lại.")
        return "duplicate", paragraphs, False, reasons
    reasons = [r for r in problems.get(ledger_row["file_hash"], []) if r["severity"] == "error"] or problems.get(
        ledger_row["file_hash"], []
    )
    lines = note + [r["message_vi"] for r in reasons[:MAX_REASONS_IN_REPLY]]
    if len(reasons) > MAX_REASONS_IN_REPLY:
        lines.append(f"... và {len(reasons) - MAX_REASONS_IN_REPLY} lỗi khác.")
    layout = any(r["reason_code"] in LAYOUT_REASONS for r in reasons)
    todo = "Việc cần làm: sửa các lỗi trên trong tệp rồi gửi lại cả tệp (trả lời thư này)."
    if layout:
        todo += f" Tệp không đúng mẫu: mẫu báo cáo trống được đính kèm ({TEMPLATE_NAME}); hãy điền số liệu vào mẫu."
    if any(r["reason_code"] == "SENDER_NOT_REGISTERED" for r in reasons):
        todo = "Việc cần làm: gửi báo cáo từ địa chỉ thư đã đăng ký của đơn vị (đơn vị đã được thông báo)."
    unit = ledger_row["claimed_unit_code"]
    return (
        "rejected",
        [
            f"Tệp '{name}': CHƯA NHẬN báo cáo (rejected)"
            + (f" — đơn vị {unit}, kỳ {ledger_row['claimed_period']}" if isinstance(unit, str) else "")
            + ".",
            "Lý do:\n- " + "\n- ".join(lines),
            todo,
        ],
        layout,
        reasons,
    )


def _queue(
    con, key: str, message, kind: str, recipient: str, subject: str, paragraphs: list[str], template: bool, sender: str
):
    footer = "Thư này được gửi tự động bởi hệ thống nhận báo cáo của Hội LHPN tỉnh Quảng Ninh; xin đừng trả lời thư tự động."
    con.execute(
        "insert or ignore into outbox (idempotency_key, message_key, kind, recipient, subject, body_html, in_reply_to, "
        "references_header, reply_message_id, attach_template, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            key,
            message["message_key"],
            kind,
            recipient,
            subject,
            _html([*paragraphs, footer]),
            message["message_id"],
            message["references_header"],
            _reply_id(key, sender),
            int(template),
            store.now(),
        ],
    )


def queue_replies(settings: Settings, mailbox: MailboxSettings) -> ReplySummary:
    """Outbox rows for every file (and file-less message) that has its outcome and no answer yet."""
    summary = ReplySummary()
    with store.connect(settings) as con:
        messages = {
            row["message_key"]: row
            for row in con.execute("select * from messages where status in ('landed', 'no_attachment')").fetchall()
        }
        attachments = [
            row
            for row in con.execute("select * from attachments order by message_key, position").fetchall()
            if row["message_key"] in messages
        ]
        ledger, problems = _ledger(settings, [a["landing_path"] for a in attachments if a["landing_path"]])
        registry = None
        for message in messages.values():
            subject = message["subject"] or "báo cáo"
            if message["status"] == "no_attachment":
                note = message["note"] or ""
                ignored = note.split("ignored: ", 1)[1].split(" MIME defects")[0] if "ignored: " in note else ""
                paragraphs = [
                    "Thư của đơn vị không có tệp báo cáo dùng được (no usable attachment): hệ thống chỉ nhận tệp XLSX, "
                    "CSV hoặc JSON (có thể nén trong ZIP) đính kèm thư.",
                ]
                if ignored:
                    paragraphs.append(f"Các tệp đính kèm không được nhận: {ignored}.")
                if "message too large: " in note:
                    size = note.split("message too large: ", 1)[1].split(" bytes", 1)[0]
                    paragraphs[0] = (
                        f"Thư của đơn vị quá lớn ({size} byte) nên không được mở (message too large). Một báo cáo "
                        "tháng chỉ vài chục KB: hãy gửi tệp báo cáo (XLSX, CSV hoặc JSON), không kèm ảnh hay tệp khác."
                    )
                paragraphs.append("Việc cần làm: đính kèm tệp báo cáo theo mẫu (được gửi kèm thư này) rồi gửi lại.")
                _queue(
                    con,
                    f"no-file:{message['message_key']}",
                    message,
                    "no_attachment",
                    message["sender"],
                    f"Re: {subject} [Không có tệp báo cáo]",
                    paragraphs,
                    True,
                    mailbox.from_address,
                )
                summary.queued += con.execute("select changes()").fetchone()[0]
        for attachment in attachments:
            message = messages[attachment["message_key"]]
            key = f"file:{attachment['message_key']}:{attachment['position']}"
            if con.execute("select 1 from outbox where idempotency_key = ?", [key]).fetchone():
                continue
            row = ledger.get(attachment["landing_path"]) if attachment["landing_path"] else None
            if attachment["landing_path"] and row is None:
                summary.waiting_for_ingest += 1
                continue
            kind, paragraphs, template, reasons = _file_reply(attachment, row, problems)
            label = {"accepted": "Đã nhận", "rejected": "Chưa nhận", "duplicate": "Trùng"}[kind]
            con.execute("begin immediate")
            _queue(
                con,
                key,
                message,
                kind,
                message["sender"],
                f"Re: {message['subject'] or 'báo cáo'} [{label}: {attachment['file_name']}]",
                paragraphs,
                template,
                mailbox.from_address,
            )
            summary.queued += 1
            if any(r["reason_code"] == "SENDER_NOT_REGISTERED" for r in reasons) and row is not None:
                if registry is None:
                    registry = load_registry(mailbox.senders_file)
                unit = row["claimed_unit_code"] if isinstance(row["claimed_unit_code"], str) else ""
                for address in sorted(registry.get(unit, set()) - {message["sender"]}):
                    _queue(
                        con,
                        f"notice:{key}:{address}",
                        message,
                        "sender_notice",
                        address,
                        f"[Hội LHPN QN] Báo cáo của đơn vị {unit} gửi từ địa chỉ chưa đăng ký",
                        [
                            f"Hệ thống vừa nhận một tệp báo cáo ('{attachment['file_name']}') ghi là của đơn vị {unit}, "
                            f"gửi từ địa chỉ {message['sender']}, địa chỉ này chưa được đăng ký cho đơn vị.",
                            "Tệp không được nhận và được giữ lại. Nếu đúng là đơn vị gửi, hãy gửi lại từ địa chỉ đã "
                            "đăng ký này; nếu không, xin báo cán bộ quản lý số liệu.",
                        ],
                        False,
                        mailbox.from_address,
                    )
                    summary.queued += 1
            con.execute("commit")
    return summary


def template_file(settings: Settings) -> Path:
    from qnwu_warehouse.contract.files import write_blank_template

    path = settings.data_dir / "mailbox" / TEMPLATE_NAME
    if not path.exists():
        write_blank_template(path)
    return path


def send_pending(settings: Settings, mailbox: MailboxSettings, summary: ReplySummary) -> None:
    """Every pending outbox row, through Airflow's SmtpHook; a refused one stays pending for the next run."""
    with store.connect(settings) as con:
        pending = con.execute(
            "select * from outbox where status = 'pending' order by created_at, idempotency_key"
        ).fetchall()
        if not pending:
            return
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=mailbox.smtp_conn_id) as hook:
            for row in pending:
                headers = {
                    "Message-ID": row["reply_message_id"],
                    "Auto-Submitted": "auto-replied",
                    "X-Auto-Response-Suppress": "All",
                }
                if row["in_reply_to"] and row["kind"] != "sender_notice":  # a notice starts its own thread
                    headers["In-Reply-To"] = row["in_reply_to"]
                    headers["References"] = row["references_header"]
                try:
                    hook.send_email_smtp(
                        to=row["recipient"],
                        subject=row["subject"],
                        html_content=row["body_html"],
                        from_email=mailbox.from_address,
                        files=[str(template_file(settings))] if row["attach_template"] else None,
                        custom_headers=headers,
                    )
                except Exception as error:  # one refused recipient must not hold back the others
                    summary.failed += 1
                    log.warning(
                        "reply %s to %s not sent (%s); it stays in the outbox",
                        row["idempotency_key"],
                        row["recipient"],
                        error,
                    )
                    continue
                con.execute(
                    "update outbox set status = 'sent', sent_at = ? where idempotency_key = ?",
                    [store.now(), row["idempotency_key"]],
                )
                summary.sent += 1


def reply_stage(settings: Settings, mailbox: MailboxSettings) -> ReplySummary:
    summary = queue_replies(settings, mailbox)
    send_pending(settings, mailbox, summary)
    log.info("mailbox replies: %s", summary.as_dict())
    return summary
