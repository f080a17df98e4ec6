"""What a message is and what it carries, read without trusting it.

`read_message` parses the raw bytes leniently (Python's email package records malformed MIME as
defects instead of failing), recognises auto-replies and bounces (RFC 3834), and takes out every
report attachment: XLSX, CSV and JSON files, also inside ZIPs and inside forwarded messages
(message/rfc822). A ZIP is unpacked only within the contract's limits (members, sizes, ratio); one
that is not (a ZIP bomb, a nested or damaged ZIP) is kept whole with a note saying why, so that it
still gets a ledger row and an answer.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from pathlib import PurePosixPath

from qnwu_warehouse.contract.limits import Limits

REPORT_SUFFIXES = (".xlsx", ".csv", ".json")
# Attachments without a name, recognised by their type.
SUFFIX_OF_TYPE = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "text/csv": ".csv",
    "application/json": ".json",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
}
# A member can shrink at most this much in a ZIP: far beyond it is a bomb, not a report.
MAX_ZIP_RATIO = 200


@dataclass
class Attachment:
    file_name: str  # as the sender named it
    content: bytes | None  # None: not landed (see the notes)
    note_vi: str | None = None
    note_en: str | None = None

    @property
    def content_hash(self) -> str | None:
        return None if self.content is None else hashlib.sha256(self.content).hexdigest()


@dataclass
class ReadMessage:
    message_id: str
    message_key: str
    sender: str  # lower case; '' when there is none
    subject: str
    sent_date: str
    references: str  # the References to give a reply: the message's own, then its Message-ID
    auto_reply_reason: str | None
    attachments: list[Attachment] = field(default_factory=list)
    # why the mail server's own Authentication-Results do not vouch for the From address (DMARC)
    unauthenticated: str | None = None
    ignored: list[str] = field(default_factory=list)  # parts that are not reports (images, PDFs ...)
    defects: list[str] = field(default_factory=list)


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot even decode is as good as absent
        return ""
    return "" if value is None else " ".join(str(value).split())


def message_key(message_id: str, raw: bytes) -> str:
    """The message's identity: its Message-ID and its bytes (a re-sent edited message is new)."""
    return hashlib.sha256(message_id.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(raw).digest()).hexdigest()[
        :32
    ]


def auto_reply_reason(message: EmailMessage, sender: str) -> str | None:
    """Why the message must get no answer (RFC 3834 and the usual list and bounce marks), or None."""
    auto_submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if _header(message, "List-Id"):
        return "List-Id"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return "X-Autoreply"
    return_path = _header(message, "Return-Path")
    if return_path.strip() == "<>":
        return "null Return-Path"
    if not sender:
        return "no sender"
    if sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return f"sender {sender}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    return None


def authentication_failure(message: EmailMessage, authserv_id: str) -> str | None:
    """None when an Authentication-Results header (RFC 8601) of the deployment's own mail server
    (its authserv-id) says dmarc=pass; else why not. Headers of other servers are not believed:
    anyone can write one (the server must strip incoming ones with its id: docs/mailbox.md)."""
    try:
        headers = [str(value) for value in message.get_all("Authentication-Results") or ()]
    except Exception:
        headers = []
    own = [h for h in headers if h.split(";", 1)[0].strip().split()[:1] == [authserv_id]]
    if not own:
        return f"no Authentication-Results of {authserv_id}"
    verdicts = re.findall(r"\bdmarc\s*=\s*([a-z]+)", " ".join(own).lower())
    if "pass" in verdicts:
        return None
    return f"dmarc={verdicts[0] if verdicts else 'none'} ({authserv_id})"


def safe_file_name(name: str, position: int) -> str:
    """A landing file name for an attachment: its own name (NFC, no folders, no control or odd
    characters, not hidden or temporary-looking), numbered by its place in the message."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1])
    name = re.sub(r"[^\w .()\-]", "_", name.strip(" .~$")).strip(" .")
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        stem, suffix = name, ""
    return f"{position:02d}-{stem[:80] or 'tep'}{suffix}"


def _unpack_zip(name: str, content: bytes, limits: Limits, room: int) -> tuple[list[Attachment], str | None, str | None]:
    """The reports inside a ZIP, or ([], note_vi, note_en) when it must be kept whole."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        return [], f"tệp ZIP bị hỏng, không giải nén được ({error})", f"the ZIP is damaged and cannot be unpacked ({error})"
    if not members:
        return [], "tệp ZIP không chứa tệp nào", "the ZIP holds no file"
    if len(members) > room:
        return (
            [],
            f"tệp ZIP chứa {len(members)} tệp, quá số tệp nhận được trong một thư ({room})",
            f"the ZIP holds {len(members)} files, more than one message may carry ({room})",
        )
    found: list[Attachment] = []
    unpacked = 0
    for info in members:
        suffix = PurePosixPath(info.filename).suffix.lower()
        if suffix not in REPORT_SUFFIXES:
            return (
                [],
                f"tệp ZIP chứa '{info.filename[:80]}', không phải XLSX, CSV hay JSON (không nhận ZIP lồng nhau)",
                f"the ZIP holds '{info.filename[:80]}', which is not XLSX, CSV or JSON (no nested ZIPs)",
            )
        declared_ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_file_bytes or declared_ratio > MAX_ZIP_RATIO:
            return (
                [],
                f"tệp ZIP giải nén ra quá lớn ('{info.filename[:80]}': {info.file_size:,} byte): ZIP bomb",
                f"the ZIP unpacks too large ('{info.filename[:80]}': {info.file_size:,} bytes): a ZIP bomb",
            )
        try:
            with archive.open(info) as member:
                data = member.read(limits.max_file_bytes + 1)  # the header may lie: read no more than the limit
        except (zipfile.BadZipFile, RuntimeError, ValueError, OSError, EOFError, NotImplementedError) as error:
            return [], f"tệp ZIP bị hỏng ({error})", f"the ZIP is damaged ({error})"
        unpacked += len(data)
        if len(data) > limits.max_file_bytes or unpacked > limits.max_unpacked_bytes:
            return (
                [],
                "tệp ZIP giải nén ra quá lớn: ZIP bomb",
                "the ZIP unpacks to more than the limits allow: a ZIP bomb",
            )
        found.append(Attachment(f"{PurePosixPath(name).stem}-{PurePosixPath(info.filename).name}", data))
    return found, None, None


def read_message(raw: bytes, limits: Limits, max_attachments: int, authserv_id: str | None = None) -> ReadMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    message_id = _header(message, "Message-ID") or f"<no-message-id-{hashlib.sha256(raw).hexdigest()[:24]}@qnwu.invalid>"
    senders = [address for _, address in getaddresses([_header(message, "From")]) if address]
    sender = (senders[0] if senders else parseaddr(_header(message, "Sender"))[1]).strip().lower()
    if sender in ("<>", "@"):
        sender = ""
    references = " ".join(part for part in (_header(message, "References"), message_id) if part)
    read = ReadMessage(
        message_id=message_id,
        message_key=message_key(message_id, raw),
        sender=sender,
        subject=_header(message, "Subject"),
        sent_date=_header(message, "Date"),
        references=references[-900:],
        auto_reply_reason=auto_reply_reason(message, sender),
        defects=[type(defect).__name__ for defect in message.defects],
    )
    if read.auto_reply_reason:
        return read
    if authserv_id:
        read.unauthenticated = authentication_failure(message, authserv_id)
        if read.unauthenticated:
            return read
    for part in message.walk():
        if part.is_multipart():
            continue
        read.defects.extend(type(defect).__name__ for defect in part.defects)
        try:
            file_name = part.get_filename()
        except Exception:
            file_name = None
        content_type = part.get_content_type()
        if not file_name:
            if content_type not in SUFFIX_OF_TYPE:
                continue  # the message's text, or an unnamed inline part
            file_name = f"tep-dinh-kem{SUFFIX_OF_TYPE[content_type]}"
        file_name = " ".join(str(file_name).split())
        suffix = PurePosixPath(file_name).suffix.lower()
        if suffix not in REPORT_SUFFIXES + (".zip",):
            read.ignored.append(file_name)
            continue
        try:
            content = part.get_payload(decode=True) or b""
        except Exception:  # damaged transfer encoding: what can be decoded goes on, ingest judges it
            content = part.get_payload(decode=False).encode("utf-8", "surrogateescape")
        room = max_attachments - len(read.attachments)
        if room <= 0:
            read.attachments.append(
                Attachment(
                    file_name,
                    None,
                    f"thư có quá nhiều tệp đính kèm (nhận tối đa {max_attachments} tệp một thư); "
                    "hãy gửi tệp này trong thư khác",
                    f"the message has too many attachments (at most {max_attachments} are taken); send this file again "
                    "in another message",
                )
            )
            continue
        if suffix == ".zip":
            members, note_vi, note_en = _unpack_zip(file_name, content, limits, room)
            if note_vi is None:
                read.attachments.extend(members)
            else:
                read.attachments.append(Attachment(file_name, content, note_vi, note_en))
            continue
        read.attachments.append(Attachment(file_name, content))
    return read


def unreadable_message(raw: bytes, error: Exception) -> ReadMessage:
    """What is known of a message the parser failed on: its identity and, if a From line can be
    found, its sender, who is told that no usable file came through."""
    found = re.search(rb"^From:[^\r\n]*?([\w.+-]+@[\w.-]+)", raw[:65536], re.MULTILINE | re.IGNORECASE)
    sender = found.group(1).decode("ascii", "replace").lower() if found else ""
    message_id = f"<unparsed-{hashlib.sha256(raw).hexdigest()[:24]}@qnwu.invalid>"
    return ReadMessage(
        message_id=message_id,
        message_key=message_key(message_id, raw),
        sender=sender,
        subject="",
        sent_date="",
        references=message_id,
        auto_reply_reason=None if sender else "no sender",
        defects=[f"unparsed: {type(error).__name__}"],
    )
