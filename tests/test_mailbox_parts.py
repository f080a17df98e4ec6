"""The reporting mailbox's parts without a mail server (the whole path, with Dovecot, SMTP and
Airflow, is tests/test_mailbox.py): what a message is taken to be, the sender registry, the
settings, and landing a message exactly once across a crash."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from qnwu_warehouse.contract.limits import CONTRACT_LIMITS
from qnwu_warehouse.mailbox import store
from qnwu_warehouse.mailbox.intake import land_message
from qnwu_warehouse.mailbox.parsing import read_message, safe_file_name
from qnwu_warehouse.mailbox.senders import load_registry
from qnwu_warehouse.settings import ConfigError, MailboxSettings, Settings


def message(sender: str = "Don-Vi-06652@A.Test", **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "baocao@hoilhpn.test"
    m["Subject"] = "Báo cáo"
    m["Message-ID"] = "<m1@donvi.test>"
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content("Kính gửi")
    return m


def read(m: EmailMessage, max_attachments: int = 30):
    return read_message(m.as_bytes(), CONTRACT_LIMITS, max_attachments)


@pytest.mark.parametrize(
    "headers, auto",
    [
        ({}, None),
        ({"Auto_Submitted": "no"}, None),
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto_Submitted": "auto-generated; owner-email=x@y.z"}, "Auto-Submitted: auto-generated"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "junk"}, "Precedence: junk"),
        ({"List_Id": "<tin.hoilhpn.test>"}, "List-Id"),
        ({"Return_Path": "<>"}, "null Return-Path"),
    ],
)
def test_auto_replies_bounces_and_lists_are_recognised(headers, auto):
    assert read(message(**headers)).auto_reply_reason == auto


def test_a_mailer_daemon_or_a_missing_sender_gets_no_answer():
    assert read(message("MAILER-DAEMON@mail.test")).auto_reply_reason == "sender mailer-daemon@mail.test"
    m = message()
    del m["From"]
    assert read(m).auto_reply_reason == "no sender"


def test_sender_is_lower_case_and_rfc2231_names_are_decoded():
    m = message()
    m.add_attachment(b"a,b\n", maintype="text", subtype="csv", filename="Báo cáo tháng 1 – Hội LHPN.csv")
    m.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="chu-ky.pdf")
    got = read(m)
    assert got.sender == "don-vi-06652@a.test"
    assert [a.file_name for a in got.attachments] == ["Báo cáo tháng 1 – Hội LHPN.csv"]
    assert got.ignored == ["chu-ky.pdf"]
    assert got.references.endswith("<m1@donvi.test>")


def test_a_forwarded_message_is_opened():
    inner = message("thu-ky@a.test")
    inner.add_attachment(b"x", maintype="application", subtype="json", filename="06652_2023-01.json")
    outer = message()
    outer.add_attachment(inner)
    assert [a.file_name for a in read(outer).attachments] == ["06652_2023-01.json"]


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_zips_are_unpacked_within_the_limits_and_kept_whole_otherwise():
    m = message()
    m.add_attachment(zip_of({"a.csv": b"1", "b.json": b"{}"}), maintype="application", subtype="zip", filename="bc.zip")
    m.add_attachment(zip_of({"bom.csv": b"0" * 30_000_000}), maintype="application", subtype="zip", filename="bom.zip")
    m.add_attachment(zip_of({"in.zip": b"PK"}), maintype="application", subtype="zip", filename="long.zip")
    m.add_attachment(b"not a zip", maintype="application", subtype="zip", filename="hong.zip")
    got = read(m)
    names = [(a.file_name, a.content is not None, (a.note_en or "")[:21]) for a in got.attachments]
    assert names == [
        ("bc-a.csv", True, ""),
        ("bc-b.json", True, ""),
        ("bom.zip", True, "the ZIP unpacks too l"),
        ("long.zip", True, "the ZIP holds 'in.zip"),
        ("hong.zip", True, "the ZIP is damaged an"),
    ]


def test_attachments_beyond_the_limit_are_answered_not_landed():
    m = message()
    for number in range(5):
        m.add_attachment(b"x", maintype="text", subtype="csv", filename=f"{number}.csv")
    got = read(m, max_attachments=3)
    assert [a.content is not None for a in got.attachments] == [True, True, True, False, False]
    assert "too many attachments" in got.attachments[-1].note_en


@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd.csv", "01-passwd.csv"),
        ("C:\\Users\\x\\bao cao.XLSX", "01-bao cao.xlsx"),
        (".an.csv", "01-an.csv"),
        ("~$bao-cao.xlsx", "01-bao-cao.xlsx"),
        ("Báo cáo tháng 1 – Hội.xlsx", "01-Báo cáo tháng 1 _ Hội.xlsx"),
    ],
)
def test_landing_names_are_safe(name, safe):
    assert safe_file_name(name, 1) == safe


def test_the_registry_says_which_row_and_field_is_wrong(tmp_path: Path):
    registry = tmp_path / "senders.csv"
    registry.write_text("unit_code,email\n06652,Don-Vi@A.Test\n06652,khac@a.test\n06655,x@a.test\n")
    assert load_registry(registry) == {"06652": {"don-vi@a.test", "khac@a.test"}, "06655": {"x@a.test"}}
    registry.write_text("unit_code,email\n06652,a@b.test\n066520,c@d.test\n")
    with pytest.raises(ConfigError, match=r"row 3, field unit_code '066520' is not a unit code"):
        load_registry(registry)
    registry.write_text("unit_code,email\n06652,not-an-address\n")
    with pytest.raises(ConfigError, match=r"row 2, field email 'not-an-address' is not an e-mail address"):
        load_registry(registry)
    registry.write_text("unit,mail\n")
    with pytest.raises(ConfigError, match=r"row 1 must be the header 'unit_code,email'"):
        load_registry(registry)


def test_mailbox_settings_fail_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("QNWU_MAILBOX_FROM", raising=False)
    with pytest.raises(ConfigError, match=r"QNWU_MAILBOX_FROM='' is not an e-mail address"):
        MailboxSettings.from_env()
    monkeypatch.setenv("QNWU_MAILBOX_FROM", "baocao@hoilhpn.test")
    monkeypatch.setenv("QNWU_MAILBOX_SENDERS_FILE", str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match=r"missing.csv does not exist") as raised:
        MailboxSettings.from_env()
    assert "\n" not in str(raised.value)
    (tmp_path / "senders.csv").write_text("unit_code,email\n")
    monkeypatch.setenv("QNWU_MAILBOX_SENDERS_FILE", str(tmp_path / "senders.csv"))
    monkeypatch.setenv("QNWU_MAILBOX_MAX_MESSAGES", "0")
    with pytest.raises(ConfigError, match=r"QNWU_MAILBOX_MAX_MESSAGES='0' is not a whole number of 1 or more"):
        MailboxSettings.from_env()


def test_a_message_lands_once_across_a_crash(data_dir: Path):
    settings = Settings.from_env()
    root = settings.data_dir / "landing" / "mailbox"
    root.mkdir(parents=True)
    m = message()
    m.add_attachment(b"a,b\n", maintype="text", subtype="csv", filename="bc.csv")
    got = read(m)
    # a crash while writing: a hidden, half-written folder that ingest skips and nothing refers to
    (root / f".incoming-{got.message_key}").mkdir()
    (root / f".incoming-{got.message_key}" / "01-bc.csv").write_bytes(b"a,")
    with store.connect(settings) as con:
        assert land_message(settings, con, root, got) == "landed"
        assert land_message(settings, con, root, read(m)) == "already"
        rows = con.execute("select landing_path, content_hash from attachments").fetchall()
    assert [tuple(r) for r in rows] == [(f"mailbox/{got.message_key}/01-bc.csv", got.attachments[0].content_hash)]
    assert sorted(p.name for p in root.iterdir()) == [got.message_key]
    assert (root / got.message_key / "01-bc.csv").read_bytes() == b"a,b\n"


def test_deadlines_and_who_chases():
    from datetime import date

    from qnwu_warehouse.mailbox.reminders import chase_scope, deadline_day, deadline_of, previous_period

    assert deadline_day() == 10
    assert deadline_of("2023-01", 10) == date(2023, 2, 10)
    assert deadline_of("2023-12", 10) == date(2024, 1, 10)
    assert previous_period("2024-01") == "2023-12"
    assert chase_scope("2025-06", "193", "22") == "193"
    assert chase_scope("2025-07", "193", "22") == "22"  # the districts were abolished on 2025-07-01
    assert chase_scope("2024-03", None, "22") == "22"


def test_the_day_that_counts_is_viet_nams_and_a_time_without_a_zone_is_refused():
    from datetime import UTC, date, datetime, timedelta, timezone

    from qnwu_warehouse.contract.rules import day_in_vietnam

    assert day_in_vietnam(datetime(2023, 3, 6, 16, 59, 59, tzinfo=UTC)) == date(2023, 3, 6)  # 23:59:59 in Ha Long
    assert day_in_vietnam(datetime(2023, 3, 6, 17, 0, tzinfo=UTC)) == date(2023, 3, 7)
    assert day_in_vietnam(datetime(2023, 3, 7, 1, 0, tzinfo=timezone(timedelta(hours=9)))) == date(2023, 3, 6)
    now = datetime.now(UTC)
    assert day_in_vietnam() in {(now + timedelta(hours=7)).date(), (datetime.now(UTC) + timedelta(hours=7)).date()}
    with pytest.raises(ValueError, match="has no time zone"):
        day_in_vietnam(datetime(2023, 3, 6, 17, 0))


def test_a_bad_mailbox_setting_stops_the_run_with_one_line(tmp_path: Path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("QNWU_MAILBOX_")}
    env["QNWU_DATA_DIR"] = str(tmp_path)
    env["QNWU_MAILBOX_FROM"] = "baocao@hoilhpn.test"
    done = subprocess.run([sys.executable, "-m", "qnwu_warehouse.mailbox"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "qnwu mailbox: QNWU_MAILBOX_SENDERS_FILE is not set: point it at the CSV of registered sender addresses "
        "(unit_code,email; docs/mailbox.md)."
    ]


@pytest.mark.parametrize(
    "results, verdict",
    [
        (["mail.hoilhpn.test; spf=pass; dkim=pass; dmarc=pass header.from=a.test"], None),
        (["mail.hoilhpn.test 1; dmarc=fail header.from=a.test"], "dmarc=fail (mail.hoilhpn.test)"),
        (["attacker.test; dmarc=pass"], "no Authentication-Results of mail.hoilhpn.test"),
        ([], "no Authentication-Results of mail.hoilhpn.test"),
    ],
)
def test_only_the_own_servers_dmarc_pass_lets_a_message_in(results, verdict):
    m = message()
    for value in results:
        m["Authentication-Results"] = value
    m.add_attachment(b"a,b\n", maintype="text", subtype="csv", filename="bc.csv")
    got = read_message(m.as_bytes(), CONTRACT_LIMITS, 30, authserv_id="mail.hoilhpn.test")
    assert got.unauthenticated == verdict
    assert len(got.attachments) == (1 if verdict is None else 0)
    assert read_message(m.as_bytes(), CONTRACT_LIMITS, 30).unauthenticated is None  # not checked when unset
