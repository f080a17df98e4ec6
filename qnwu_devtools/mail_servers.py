"""Real mail servers on localhost for the mailbox's tests and benchmark (issue 17).

A throw-away Dovecot (Debian's dovecot-imapd, unprivileged, its own config, users and Maildirs on
a free localhost port) holds the union's mailbox; an aiosmtpd server takes the replies, notes when
each arrived, and delivers it into a Maildir of the same Dovecot, where it can be read back over
IMAP. Used by tests/test_mailbox.py and `qnwu bench mailbox` (qnwu_devtools/mailbox_bench.py).
"""

from __future__ import annotations

import email
import imaplib
import json
import mailbox
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import make_msgid
from pathlib import Path

from qnwu_devtools.child_environment import without_settings

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "secret-for-tests"
FROM_ADDRESS = "baocao@hoilhpn.test"


def dovecot_installed() -> bool:
    return Path(DOVECOT).exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """Dovecot as an unprivileged process (user nobody when run as root), all its state in one
    temporary folder; every user's Maildir is <home>/mail/<user>."""

    USERS = ("inbox", "inbox2", "a", "b", "c")

    def __init__(self, home: Path, users: tuple[str, ...] = USERS):
        self.home = home
        self.users = users
        self.port = free_port()
        self.as_nobody = os.geteuid() == 0
        user = "nobody" if self.as_nobody else pwd.getpwuid(os.geteuid()).pw_name
        group = "nogroup" if self.as_nobody else user
        (home / "base").mkdir()
        (home / "mail").mkdir()
        (home / "users").write_text("".join(f"{name}:{{PLAIN}}{PASSWORD}\n" for name in users))
        (home / "dovecot.conf").write_text(
            f"""protocols = imap
listen = 127.0.0.1
base_dir = {home}/base
state_dir = {home}/base
log_path = {home}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{home}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {home}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={home}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        for name in users:
            mailbox.Maildir(str(self.maildir(name)), create=True)
        self.own()
        command = [DOVECOT, "-F", "-c", str(home / "dovecot.conf")]
        if self.as_nobody:
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (home / "dovecot.log").read_text() if (home / "dovecot.log").exists() else ""
                    raise RuntimeError(f"dovecot did not start: {self.process.stdout.read().decode()} {log}") from None
                time.sleep(0.1)

    def maildir(self, user: str) -> Path:
        return self.home / "mail" / user

    def _chown(self, path: str | Path) -> None:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def own(self) -> None:
        """Every file under the home belongs to the user Dovecot runs as."""
        if not self.as_nobody:
            return
        for root, folders, files in os.walk(self.home):
            for name in [*folders, *files]:
                self._chown(os.path.join(root, name))
        self._chown(self.home)

    def deliver(self, user: str, message: bytes) -> None:
        """Into the user's Maildir (new/), the file owned by the user Dovecot runs as."""
        key = mailbox.Maildir(str(self.maildir(user)), create=False).add(message)
        if self.as_nobody:
            self._chown(self.maildir(user) / "new" / key)

    def imap(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(user, PASSWORD)
        return client

    def messages(self, user: str) -> list[EmailMessage]:
        """Every message of a user's INBOX, read over IMAP."""
        client = self.imap(user)
        try:
            client.select("INBOX", readonly=True)
            _, data = client.uid("SEARCH", None, "ALL")
            found = []
            for uid in (data[0] or b"").split():
                _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next(item[1] for item in fetched if isinstance(item, tuple))
                found.append(email.message_from_bytes(raw, policy=policy.default))
            return found
        finally:
            client.logout()

    def count_flagged(self, user: str, keyword: str = "$QnwuProcessed") -> int:
        client = self.imap(user)
        try:
            client.select("INBOX", readonly=True)
            _, data = client.uid("SEARCH", None, "KEYWORD", keyword)
            return len((data[0] or b"").split())
        finally:
            client.logout()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class DeliverReplies:
    """aiosmtpd handler: each message it takes is delivered into the Maildir of user "b" for
    recipients @b.test, "c" for @c.test, else of user "a" (where it is read back over IMAP).
    `arrivals` keeps, for each message taken, the wall-clock time it arrived and its headers'
    Message-ID, In-Reply-To and recipients (what the benchmark measures latencies with)."""

    def __init__(self, dovecot: Dovecot):
        self.dovecot = dovecot
        self.arrivals: list[dict] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        arrived = time.time()
        content = envelope.original_content or envelope.content
        headers = BytesHeaderParser(policy=policy.default).parsebytes(content)
        users = {rcpt.lower().rsplit("@", 1)[1].split(".")[0] for rcpt in envelope.rcpt_tos}
        users = {user if user in ("b", "c") else "a" for user in users}
        for user in users:
            self.dovecot.deliver(user, content)
        with self.lock:
            self.arrivals.append(
                {
                    "at": arrived,
                    "message_id": str(headers["Message-ID"] or ""),
                    "in_reply_to": str(headers["In-Reply-To"] or ""),
                    "to": list(envelope.rcpt_tos),
                }
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on a free localhost port, delivering what it takes into the Dovecot's Maildirs."""

    def __init__(self, dovecot: Dovecot):
        from aiosmtpd.controller import Controller

        self.handler = DeliverReplies(dovecot)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())
        self.controller.start()
        self.port = self.controller.port

    def stop(self) -> None:
        self.controller.stop()


def new_message(
    sender: str, subject: str, text: str = "Kính gửi Hội, đơn vị gửi báo cáo tháng.", domain: str = "donvi.test"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = FROM_ADDRESS
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    return message


def attach(message: EmailMessage, name: str, content: bytes) -> None:
    kinds = {
        ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ".csv": ("text", "csv"),
        ".json": ("application", "json"),
        ".zip": ("application", "zip"),
    }
    maintype, subtype = kinds.get(Path(name).suffix.lower(), ("application", "octet-stream"))
    message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)


def environment(data_dir: Path, dovecot: Dovecot, smtp_port: int, inbox: str, senders: Path, **extra: str) -> dict:
    """The environment of a mailbox run against these servers: the Airflow connections as
    AIRFLOW_CONN_... variables, the data directory, the sender registry; QNWU_ and AIRFLOW
    variables of the calling environment are left out (qnwu_devtools/child_environment.py)."""
    env = without_settings()
    env.update(
        {
            "QNWU_DATA_DIR": str(data_dir),
            "QNWU_LANDING_SETTLE_SECONDS": "0",
            "QNWU_INGEST_WORKERS": "1",
            "QNWU_MAILBOX_FROM": FROM_ADDRESS,
            "QNWU_MAILBOX_SENDERS_FILE": str(senders),
            "AIRFLOW_CONN_QNWU_MAILBOX_IMAP": json.dumps(
                {
                    "conn_type": "imap",
                    "host": "127.0.0.1",
                    "port": dovecot.port,
                    "login": inbox,
                    "password": PASSWORD,
                    "extra": {"use_ssl": False},
                }
            ),
            "AIRFLOW_CONN_QNWU_MAILBOX_SMTP": json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "extra": {"disable_ssl": True, "disable_tls": True, "from_email": FROM_ADDRESS, "retry_limit": 0},
                }
            ),
            **extra,
        }
    )
    return env
