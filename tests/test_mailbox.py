"""Issue 17: reports pulled from the union's mailbox and answered within minutes, for real.

A throw-away Dovecot (Debian's dovecot-imapd, unprivileged, its own config, users and Maildirs on
a free localhost port) holds the union's mailbox; an aiosmtpd server takes the replies and
delivers them into a Maildir of the same Dovecot, which the test reads back over IMAP (both from
qnwu_devtools/mail_servers.py, which `qnwu bench mailbox` uses too). The DAG
qnwu_mailbox runs through Airflow (dag.test(), in a subprocess as `qnwu run` does), with its IMAP
and SMTP connections from AIRFLOW_CONN_... variables. Run with `pytest -s` to see the replies.
"""

from __future__ import annotations

import email
import hashlib
import html
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

import duckdb
import pytest
from support import build_warehouse

from qnwu_devtools.mail_servers import (
    FROM_ADDRESS,
    Dovecot,
    SmtpServer,
    attach,
    dovecot_installed,
    environment,
    new_message,
)

pytestmark = pytest.mark.slow

if not dovecot_installed():
    pytest.skip("dovecot is not installed: run bin/setup (it installs dovecot-imapd)", allow_module_level=True)


@pytest.fixture(scope="module")
def dovecot():
    home = Path(tempfile.mkdtemp(prefix="qnwu-dovecot-"))
    home.chmod(0o755)
    server = Dovecot(home)
    yield server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def smtp_port(dovecot):
    server = SmtpServer(dovecot)
    yield server.port
    server.stop()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """Real report files from the generator: XLSX of 5 units (January), CSV of one unit for 20 months,
    CSV of 30 units for 2 months (the kill -9 run)."""
    out = {}
    for name, args in {
        "xlsx": ["--units", "5", "--months", "1", "--mix", "xlsx=1.0"],
        "months": ["--units", "1", "--months", "20", "--mix", "csv=1.0"],
        "many": ["--units", "30", "--months", "2", "--mix", "csv=1.0"],
    }.items():
        folder = tmp_path_factory.mktemp(name)
        done = subprocess.run(
            [sys.executable, "-m", "qnwu_warehouse.cli", "generate", str(folder), *args], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        out[name] = folder
    return out


def units_of(folder: Path) -> list[str]:
    return sorted({p.name.split("_")[0] for p in folder.iterdir() if not p.name.startswith(".")})


def run_mailbox_dag(env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "qnwu_warehouse.mailbox"], env=env, capture_output=True, text=True, timeout=900
    )
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:])
    return done


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html", "plain"))
    body = part.get_content() if part is not None else ""
    body = re.sub(r"<br>", "\n", body)
    body = re.sub(r"</p>", "\n", body)
    body = re.sub(r"<[^>]+>", "", body)
    return re.sub(r"\n{2,}", "\n", html.unescape(body)).strip()


def ledger(data_dir: Path) -> dict[str, dict]:
    with duckdb.connect(str(data_dir / "warehouse" / "working.duckdb"), read_only=True) as con:
        frame = con.execute(
            "select source_path, outcome, file_hash from raw.received_files where source_path like 'mailbox/%'"
        ).df()
    rows: dict[str, dict] = {}
    for row in frame.to_dict("records"):
        assert row["source_path"] not in rows, f"{row['source_path']} has two ledger rows"
        rows[row["source_path"]] = row
    return rows


def mailbox_rows(data_dir: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(data_dir / "mailbox" / "mailbox.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_reports_by_mail_are_landed_ingested_and_answered_once_each(dovecot, smtp_port, reports, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    xlsx = sorted(reports["xlsx"].iterdir())
    u1, u2, u3, u4, u5 = units_of(reports["xlsx"])
    months = sorted(reports["months"].iterdir())
    assert units_of(reports["months"]) == [u1] and len(months) == 20
    senders = tmp_path / "senders.csv"
    senders.write_text("unit_code,email\n" + "".join(f"{u},don-vi-{u}@a.test\n" for u in (u1, u2, u3, u4, u5)))

    def report(unit: str) -> Path:
        return next(p for p in xlsx if p.name.startswith(unit))

    from qnwu_warehouse.contract.files import blank_template_bytes

    sent: dict[str, tuple[str, int]] = {}  # Message-ID -> (what it is, replies expected)

    def post(message: EmailMessage | bytes, what: str, replies: int, dmarc: str = "pass") -> None:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        # what the deployment's mail server adds on arrival (QNWU_MAILBOX_AUTHSERV_ID is mx.hoilhpn.test)
        raw = f"Authentication-Results: mx.hoilhpn.test; spf={dmarc}; dmarc={dmarc}\r\n".encode() + raw
        message_id = email.message_from_bytes(raw, policy=policy.default)["Message-ID"]
        sent[message_id] = (what, replies)
        dovecot.deliver("inbox", raw)

    # 1. accepted, from the registered address in mixed case
    m = new_message(f"Hội LHPN {u1} <Don-Vi-{u1}@A.Test>", f"Báo cáo tháng 1/2023 đơn vị {u1}")
    attach(m, report(u1).name, report(u1).read_bytes())
    post(m, "accepted, sender in mixed case", 1)
    # 2. rejected: the blank template, unfilled (its layout is wrong for a report: the template goes back)
    m = new_message(f"don-vi-{u2}@a.test", "Báo cáo tháng")
    attach(m, "bao-cao-thang-1.xlsx", blank_template_bytes())
    post(m, "rejected: blank template", 1)
    # 3. rejected: a real report of u3 from an address not registered for it; u3's address is told
    m = new_message("nguoi-la@khac.test", f"Báo cáo hộ đơn vị {u3}")
    attach(m, report(u3).name, report(u3).read_bytes())
    post(m, "rejected: sender not registered (+1 notice to the unit)", 2)
    # 4. malformed MIME: no closing boundary, damaged base64, a header without a colon
    malformed = (
        f"From: don-vi-{u2}@a.test\r\nTo: {FROM_ADDRESS}\r\nSubject: bao cao loi MIME\r\n"
        f"Message-ID: <malformed-1@donvi.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XYZ"\r\nthis line is not a header\r\n\r\n'
        "--XYZ\r\nContent-Type: text/plain\r\n\r\nbao cao\r\n"
        '--XYZ\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename="bao-cao-loi.csv"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nZG9uX3ZpOjA2NjUy!!!***LCBrxhu\r\nAAA\r\n"
    ).encode()
    post(malformed, "malformed MIME", 1)
    # 5. an oversized attachment (QNWU_MAX_FILE_BYTES is 1,000,000 in this run)
    m = new_message(f"don-vi-{u4}@a.test", "Báo cáo rất lớn")
    attach(m, "bao-cao-lon.csv", b"unit_code,period\n" + b"06652,2023-01\n" * 90_000)
    post(m, "oversized attachment", 1)
    # 6. a ZIP bomb: one member of 60 MB of zeros, a few tens of KB packed
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bao-cao.csv", b"0" * 60_000_000)
    m = new_message(f"don-vi-{u4}@a.test", "Báo cáo nén")
    attach(m, "bao-cao-nen.zip", bomb.getvalue())
    post(m, f"ZIP bomb ({len(bomb.getvalue()):,} bytes)", 1)
    # 7. twenty attachments: u1's twenty months as CSV (its January a second time: version 2)
    m = new_message(f"don-vi-{u1}@a.test", "Báo cáo 20 tháng")
    for path in months:
        attach(m, path.name, path.read_bytes())
    post(m, "twenty attachments", 20)
    # 8. a forwarded message (message/rfc822) with u4's report inside
    inner = new_message(f"thu-ky-{u4}@a.test", f"Báo cáo {u4}")
    attach(inner, report(u4).name, report(u4).read_bytes())
    m = new_message(f"don-vi-{u4}@a.test", f"Fwd: Báo cáo {u4}", "Chuyển tiếp báo cáo của đơn vị.")
    m.add_attachment(inner)
    post(m, "forwarded message/rfc822", 1)
    # 9. a Vietnamese file name, RFC 2231 encoded
    m = new_message(f"don-vi-{u5}@a.test", "Báo cáo tháng 1")
    attach(m, "Báo cáo tháng 1 – Hội LHPN đơn vị.xlsx", report(u5).read_bytes())
    assert b"filename*0*=utf-8''B%C3%A1o" in m.as_bytes()  # RFC 2231, with continuations
    post(m, "Vietnamese RFC 2231 file name", 1)
    # 10. a ZIP of reports: u2's real report
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(report(u2).name, report(u2).read_bytes())
    m = new_message(f"don-vi-{u2}@a.test", "Báo cáo (nén ZIP)")
    attach(m, "bao-cao.zip", packed.getvalue())
    post(m, "ZIP of a report", 1)
    # 11. no usable attachment (a PDF)
    m = new_message(f"don-vi-{u3}@a.test", "Báo cáo bằng PDF")
    m.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="bao-cao.pdf")
    post(m, "no usable attachment", 1)
    # 12. an auto-reply and 13. a bounce: never answered
    m = new_message(f"don-vi-{u1}@a.test", "Trả lời tự động: vắng mặt")
    m["Auto-Submitted"] = "auto-replied"
    attach(m, report(u1).name, report(u1).read_bytes())
    post(m, "auto-reply", 0)
    m = new_message("MAILER-DAEMON@a.test", "Undelivered Mail Returned to Sender")
    post(m, "bounce", 0)
    # 14. a report in u1's name that the mail server's DMARC check failed (a forged From): not taken, not answered
    m = new_message(f"don-vi-{u1}@a.test", "Báo cáo (giả mạo)")
    attach(m, "gia-mao.csv", months[1].read_bytes())
    post(m, "forged sender (dmarc=fail)", 0, dmarc="fail")
    # 15. u5's report sent again under another name: the same bytes are a duplicate, answered as such
    m = new_message(f"DON-VI-{u5}@a.test", "Gửi lại báo cáo tháng 1")
    attach(m, "gui-lai.xlsx", report(u5).read_bytes())
    post(m, "the same report again (duplicate)", 1)
    # 16. a message over QNWU_MAILBOX_MAX_MESSAGE_BYTES (3,000,000 here): answered from its headers, never fetched whole
    m = new_message(f"don-vi-{u2}@a.test", "Báo cáo kèm ảnh")
    m.add_attachment(os.urandom(3_000_000), maintype="image", subtype="jpeg", filename="anh-hoi-nghi.jpg")
    attach(m, report(u2).name, report(u2).read_bytes())
    post(m, "message too large", 1)

    env = environment(
        data_dir,
        dovecot,
        smtp_port,
        "inbox",
        senders,
        QNWU_MAX_FILE_BYTES="1000000",
        QNWU_MAILBOX_AUTHSERV_ID="mx.hoilhpn.test",
        QNWU_MAILBOX_MAX_MESSAGE_BYTES="3000000",
    )
    started = time.monotonic()
    done = run_mailbox_dag(env)
    print(f"qnwu_mailbox run took {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]

    # every landed file has exactly one ledger row; every message is flagged processed
    landed = mailbox_rows(data_dir, "select * from attachments")
    rows = ledger(data_dir)
    assert {a["landing_path"] for a in landed if a["landing_path"]} == set(rows)
    assert dovecot.count_flagged("inbox") == len(sent)
    statuses = {row["message_id"]: row["status"] for row in mailbox_rows(data_dir, "select * from messages")}
    forged = next(k for k, v in sent.items() if v[0].startswith("forged"))
    assert statuses[forged] == "unauthenticated" and "gia-mao.csv" not in {a["file_name"] for a in landed}
    outcomes = {}
    for attachment in landed:
        row = rows.get(attachment["landing_path"])
        outcomes[attachment["file_name"]] = row["outcome"] if row else "not landed"
    print("ledger:", json.dumps(outcomes, ensure_ascii=False, indent=1))
    assert outcomes[report(u1).name] == "accepted"
    assert outcomes["bao-cao-thang-1.xlsx"] == "rejected"
    assert outcomes[report(u3).name] == "rejected"
    assert outcomes["bao-cao-loi.csv"] == "rejected"
    assert outcomes["bao-cao-lon.csv"] == "rejected"
    assert outcomes["bao-cao-nen.zip"] == "rejected"
    # u5's report came twice in one run: one copy is accepted, the other is its duplicate (which one
    # follows ingest's landing order, not the order the messages arrived in)
    assert sorted([outcomes["Báo cáo tháng 1 – Hội LHPN đơn vị.xlsx"], outcomes["gui-lai.xlsx"]]) == [
        "accepted",
        "duplicate",
    ]
    assert outcomes[f"bao-cao-{report(u2).name}"] == "accepted"
    assert [outcomes[p.name] for p in months] == ["accepted"] * 20

    # the replies, read back over IMAP: exactly the expected number per message, in its thread
    replies = dovecot.messages("a")
    by_thread: dict[str, list[EmailMessage]] = {}
    notices = []
    for reply in replies:
        assert reply["Auto-Submitted"] == "auto-replied"
        if reply["In-Reply-To"]:
            assert reply["In-Reply-To"] in reply["References"]
            by_thread.setdefault(reply["In-Reply-To"], []).append(reply)
        else:
            notices.append(reply)
    for message_id, (what, expected) in sent.items():
        got = by_thread.get(message_id, [])
        answered = len(got) + (sum(1 for n in notices if u3 in n["Subject"]) if "notice" in what else 0)
        print(f"{what}: {answered} replies (expected {expected})")
        assert answered == expected, what
    for message_id, (what, _) in sent.items():
        for reply in by_thread.get(message_id, [])[:1] if what != "twenty attachments" else by_thread[message_id][:2]:
            print(f"\n=== reply to: {what} ===\nSubject: {reply['Subject']}\nTo: {reply['To']}\n{text_of(reply)}")
            attached = [part.get_filename() for part in reply.iter_attachments()]
            if attached:
                print(f"[attached: {', '.join(attached)}]")
    for notice in notices:
        print(f"\n=== notice to the unit ===\nSubject: {notice['Subject']}\nTo: {notice['To']}\n{text_of(notice)}")
    accepted_reply = text_of(by_thread[next(k for k, v in sent.items() if v[0].startswith("accepted"))][0])
    assert f"Đơn vị: {u1}" in accepted_reply and "Kỳ báo cáo: 2023-01" in accepted_reply
    template_reply = by_thread[next(k for k, v in sent.items() if v[0] == "rejected: blank template")][0]
    assert "mau-bao-cao-hoi-lhpn-quang-ninh.xlsx" in [p.get_filename() for p in template_reply.iter_attachments()]
    assert "SENDER_NOT_REGISTERED" not in text_of(by_thread[next(k for k, v in sent.items() if "not registered" in v[0])][0])
    assert any(n["To"] == f"don-vi-{u3}@a.test" for n in notices)
    twice = [text_of(r) for k, v in sent.items() if v[0].startswith(("Vietnamese", "the same report")) for r in by_thread[k]]
    assert sum("ĐÃ NHẬN báo cáo" in t for t in twice) == 1
    assert sum("TRÙNG (duplicate)" in t and "đã được nhận" in t for t in twice) == 1
    too_large = text_of(by_thread[next(k for k, v in sent.items() if v[0] == "message too large")][0])
    assert "quá lớn" in too_large and report(u2).name not in {a["file_name"] for a in landed}
    # u1's January came twice (XLSX alone, CSV among the twenty): one of the two answers says version 2
    assert sum("Lần gửi (phiên bản): 2" in text_of(r) for r in replies) == 1


def test_kill_9_of_the_intake_mid_batch_loses_nothing_and_lands_and_answers_once(dovecot, smtp_port, reports, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    files = sorted(p for p in reports["many"].iterdir() if not p.name.startswith("."))
    assert len(files) == 60
    senders = tmp_path / "senders.csv"
    senders.write_text("unit_code,email\n" + "".join(f"{u},don-vi-{u}@b.test\n" for u in units_of(reports["many"])))
    ids = set()
    for path in files:
        unit = path.name.split("_")[0]
        message = new_message(f"don-vi-{unit}@b.test", f"Báo cáo {path.stem}")
        attach(message, path.name, path.read_bytes())
        ids.add(message["Message-ID"])
        dovecot.deliver("inbox2", message.as_bytes())
    env = environment(data_dir, dovecot, smtp_port, "inbox2", senders)

    # first run: killed with SIGKILL in the middle of a message (its files written in the hidden
    # .incoming- folder, not yet recorded or renamed) once 5 messages are landed, or else once 10 are
    landing = data_dir / "landing" / "mailbox"
    process = subprocess.Popen(
        [sys.executable, "-m", "qnwu_warehouse.mailbox"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        entries = [p.name for p in landing.iterdir()] if landing.is_dir() else []
        visible = sum(1 for name in entries if not name.startswith("."))
        half_written = [name for name in entries if name.startswith(".incoming-")]
        if (visible >= 5 and half_written) or visible >= 10:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.001)
    process.wait()
    folders = sum(1 for p in landing.iterdir() if not p.name.startswith(".")) if landing.is_dir() else 0
    leftovers = [p.name for p in landing.iterdir() if p.name.startswith(".incoming-")] if landing.is_dir() else []
    recorded = len(mailbox_rows(data_dir, "select * from messages"))
    flagged = dovecot.count_flagged("inbox2")
    print(
        f"\nkill -9 (exit {process.returncode}) after: {folders} message folders landed, {recorded} recorded, "
        f"{flagged} flagged processed on the server, of 60; {len(leftovers)} half-written message folder(s) left"
    )
    assert process.returncode == -signal.SIGKILL
    assert 0 < flagged < 60 and 0 < recorded < 60

    done = run_mailbox_dag(env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    rows = ledger(data_dir)
    landed = mailbox_rows(data_dir, "select * from attachments")
    # the answers to the 60 messages; on the days before a deadline the run's reminder task also
    # writes to the units (no In-Reply-To: not answers), which is all else the mailbox may hold
    received = dovecot.messages("b")
    replies = [r for r in received if r["In-Reply-To"]]
    assert all("Nhắc gửi báo cáo" in r["Subject"] for r in received if not r["In-Reply-To"])
    per_thread: dict[str, int] = {}
    for reply in replies:
        per_thread[reply["In-Reply-To"]] = per_thread.get(reply["In-Reply-To"], 0) + 1
    print(
        f"after the rerun: {len(mailbox_rows(data_dir, 'select * from messages'))} messages recorded, "
        f"{len(landed)} files landed, {len(rows)} ledger rows "
        f"({sum(r['outcome'] == 'accepted' for r in rows.values())} accepted, "
        f"{sum(r['outcome'] == 'duplicate' for r in rows.values())} duplicate), "
        f"{dovecot.count_flagged('inbox2')} flagged, {len(replies)} replies in {len(per_thread)} threads"
    )
    assert len(landed) == 60 and len(rows) == 60
    assert not [p for p in landing.iterdir() if p.name.startswith(".incoming-")]  # the half-written one was redone
    assert {r["outcome"] for r in rows.values()} == {"accepted"}
    assert len({r["file_hash"] for r in rows.values()}) == 60
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in files} == {r["file_hash"] for r in rows.values()}
    assert dovecot.count_flagged("inbox2") == 60
    assert set(per_thread) == ids and set(per_thread.values()) == {1}

    # and once more: nothing new is landed or sent
    done = run_mailbox_dag(env)
    assert done.returncode == 0
    assert len(dovecot.messages("b")) == len(received) and len(ledger(data_dir)) == 60


def test_reminders_before_the_deadline_and_chase_lists_after_it(dovecot, smtp_port, tmp_path, monkeypatch):
    from datetime import date

    from qnwu_warehouse.contract.reference import load_reference
    from qnwu_warehouse.mailbox import stages as mailbox_stages
    from qnwu_warehouse.mailbox.reminders import reminder_stage
    from qnwu_warehouse.settings import MailboxSettings, Settings

    data_dir = tmp_path / "data"
    landing = data_dir / "landing"

    def without_the_last_units_february(landing: Path) -> None:
        last = units_of(landing)[-1]
        next(p for p in landing.iterdir() if p.name.startswith(f"{last}_2023-02")).unlink()

    # the marts the reminders read, built and published by the pipeline's own stages (the runs
    # through Airflow are the other tests' subject)
    build_warehouse(data_dir, "reminders", publish=True, prepare_landing=without_the_last_units_february, units=6, months=2)
    units = units_of(landing)
    districts = {
        versions[0].unit_code: versions[0].district_code for versions in load_reference().units.values() if versions
    }
    officers = sorted({districts[u] for u in units})
    senders = tmp_path / "senders.csv"
    senders.write_text(
        "unit_code,email\n"
        + "".join(f"{u},don-vi-{u}@c.test\n" for u in units)
        + "".join(f"{d},can-bo-{d}@c.test\n" for d in officers)
    )
    env = environment(data_dir, dovecot, smtp_port, "inbox", senders)
    for name in ("QNWU_DATA_DIR", "QNWU_MAILBOX_FROM", "QNWU_MAILBOX_SENDERS_FILE", "AIRFLOW_CONN_QNWU_MAILBOX_SMTP"):
        monkeypatch.setenv(name, env[name])
    settings, mailbox = Settings.from_env(), MailboxSettings.from_env()

    # February is due on 10 March 2023 (reminders from 3 days before); January's deadline has passed.
    # Through the DAG task's own stage, which takes the run's time in UTC, as Airflow keeps it: the
    # day that counts is Viet Nam's (UTC+7), so 16:59:59 UTC on the 6th is still 4 days before the
    # deadline, and 17:00 UTC on the 6th is already 7 March, 3 days before
    early = mailbox_stages.reminder_stage(moment="2023-03-06T16:59:59+00:00")
    first = mailbox_stages.reminder_stage(moment="2023-03-06T17:00:00+00:00")
    again = reminder_stage(settings, mailbox, date(2023, 3, 9), reminder_days=3)
    print(f"\nruns: {early}, {first}, {again.as_dict()}")
    assert mailbox.reminder_days == 3
    assert early["reminders"] == 0 and early["chase_lists"] == early["sent"] == len(officers)
    assert first["reminders"] == first["sent"] == 1 and first["chase_lists"] == 0
    assert again.reminders == again.chase_lists == again.sent == 0  # once per unit (officer) and period
    received = dovecot.messages("c")
    reminders = [m for m in received if "Nhắc gửi báo cáo" in m["Subject"]]
    chases = [m for m in received if "chưa gửi hoặc gửi muộn" in m["Subject"]]
    assert len(received) == 1 + len(officers)
    assert [m["To"] for m in reminders] == [f"don-vi-{units[-1]}@c.test"]
    assert sorted(m["To"] for m in chases) == [f"can-bo-{d}@c.test" for d in officers]
    print(f"\n=== reminder ===\nSubject: {reminders[0]['Subject']}\nTo: {reminders[0]['To']}\n{text_of(reminders[0])}")
    chase = chases[0]
    lines = text_of(chase).splitlines()
    print(f"\n=== chase list ===\nSubject: {chase['Subject']}\nTo: {chase['To']}\n" + "\n".join(lines[:8]) + "\n…")
    # every unit reported January: those the lists name were late, none is "missing"
    listed = [line for c in chases for line in text_of(c).splitlines() if any(line.startswith(f"- {u} ") for u in units)]
    assert all("gửi muộn" in line for line in listed), listed
