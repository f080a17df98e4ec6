"""New messages from the reporting mailbox into the landing zone, each exactly once.

For each message not yet flagged processed on the server (IMAP keyword $QnwuProcessed):
1. fetch it without marking it read (BODY.PEEK[]); its key is its Message-ID and the SHA-256 of
   its bytes, so the same message fetched again after a crash is recognised;
2. write its report files into a hidden folder of the landing zone (mailbox/.incoming-<key>/,
   which ingest skips as still arriving), fsync each file and the folder;
3. record the message and its files in the mailbox store (one SQLite transaction, fsynced);
4. rename the folder to mailbox/<key>/ (atomic; ingest now sees the files) and fsync its parent;
5. only then flag the message processed (and \\Seen) on the server.
A crash before 3 leaves an unreferenced hidden folder, rewritten by the next run; after 3 the next
run finishes 4 and 5 without writing anything again. No message is lost (it stays unflagged until
its files are durable) and none lands twice (the key is recorded before the files become visible).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from qnwu_warehouse.mailbox import store
from qnwu_warehouse.mailbox.parsing import ReadMessage, read_message, safe_file_name, unreadable_message
from qnwu_warehouse.settings import ConfigError, MailboxSettings, Settings

log = logging.getLogger(__name__)

PROCESSED_FLAG = "$QnwuProcessed"
LANDING_FOLDER = "mailbox"


@dataclass
class IntakeSummary:
    messages_seen: int = 0
    messages_landed: int = 0
    files_landed: int = 0
    no_attachment: int = 0
    auto_replies: int = 0
    unauthenticated: int = 0  # refused: the mail server did not vouch for the sender (DMARC)
    already_taken: int = 0  # recorded by an earlier run that stopped before flagging

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, content: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def landing_root(settings: Settings) -> Path:
    if not settings.is_local_landing:
        raise ConfigError(
            f"QNWU_LANDING_URL={settings.landing_url} is not a local folder: the mailbox lands files with fsync and an "
            "atomic rename, so it needs the landing on a local disk."
        )
    root = settings.local_landing_path / LANDING_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    return root


def _publish_folder(root: Path, key: str) -> None:
    """Step 4: the hidden folder becomes visible to ingest (or is a leftover of a finished one)."""
    incoming, final = root / f".incoming-{key}", root / key
    if incoming.exists():
        if final.exists():
            shutil.rmtree(incoming)
        else:
            os.replace(incoming, final)
        _fsync_dir(root)


def land_message(settings: Settings, con, root: Path, read: ReadMessage) -> str:
    """Steps 2 to 4 for one parsed message; returns its status (or 'already' if it was taken before)."""
    key = read.message_key
    if con.execute("select 1 from messages where message_key = ?", [key]).fetchone():
        _publish_folder(root, key)
        return "already"
    if read.auto_reply_reason:
        status = "auto_reply"
    elif read.unauthenticated:
        status = "unauthenticated"  # not answered either: the From address may be forged
    elif any(attachment.content is not None for attachment in read.attachments):
        status = "landed"
    else:
        status = "no_attachment"
    rows = []
    incoming = root / f".incoming-{key}"
    if status == "landed":
        if incoming.exists():
            shutil.rmtree(incoming)  # a crash's leftover: written again from the message
        incoming.mkdir()
    for position, attachment in enumerate(read.attachments, start=1):
        landing_path = None
        if attachment.content is not None:
            name = safe_file_name(attachment.file_name, position)
            _write_durably(incoming / name, attachment.content)
            landing_path = f"{LANDING_FOLDER}/{key}/{name}"
        rows.append(
            (
                key,
                position,
                attachment.file_name,
                landing_path,
                attachment.content_hash,
                None if attachment.content is None else len(attachment.content),
                attachment.note_vi,
                attachment.note_en,
            )
        )
    if status == "landed":
        _fsync_dir(incoming)
    note = (
        read.auto_reply_reason or read.unauthenticated or (("ignored: " + ", ".join(read.ignored)) if read.ignored else None)
    )
    if read.defects:
        note = f"{note or ''} MIME defects: {', '.join(sorted(set(read.defects)))}".strip()
    con.execute("begin immediate")
    try:
        con.execute(
            "insert into messages values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                read.message_id,
                read.sender,
                read.subject[:500],
                read.sent_date,
                read.references,
                status,
                note,
                store.now(),
            ],
        )
        con.executemany("insert into attachments values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    if status == "landed":
        _publish_folder(root, key)
    return status


def _fetched_bytes(data) -> bytes | None:
    for item in data or ():
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def intake(settings: Settings, mailbox: MailboxSettings) -> IntakeSummary:
    """Steps 1 to 5 for every new message in the mailbox folder (at most QNWU_MAILBOX_MAX_MESSAGES)."""
    from airflow.providers.imap.hooks.imap import ImapHook

    summary = IntakeSummary()
    root = landing_root(settings)
    with store.connect(settings) as con, ImapHook(imap_conn_id=mailbox.imap_conn_id) as hook:
        client = hook.mail_client
        status, _ = client.select(f'"{mailbox.folder}"')
        if status != "OK":
            raise ConfigError(
                f"the mailbox has no folder {mailbox.folder!r}: set QNWU_MAILBOX_FOLDER to the folder reports arrive in."
            )
        status, data = client.uid("SEARCH", None, "UNKEYWORD", PROCESSED_FLAG)
        uids = (data[0] or b"").split()[: mailbox.max_messages] if status == "OK" else []
        for uid in uids:
            summary.messages_seen += 1
            # a message over the size limit is never fetched whole: its headers are enough to answer it
            status, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
            size = re.search(rb"RFC822\.SIZE (\d+)", b" ".join(d for d in data or () if isinstance(d, bytes)))
            too_large = (
                int(size.group(1)) if status == "OK" and size and int(size.group(1)) > mailbox.max_message_bytes else 0
            )
            status, data = client.uid("FETCH", uid, "(BODY.PEEK[HEADER])" if too_large else "(BODY.PEEK[])")
            raw = _fetched_bytes(data) if status == "OK" else None
            if raw is None:
                log.warning("message uid %s could not be fetched (%s); it is tried again next run", uid, status)
                continue
            try:
                read = read_message(raw, settings.limits, mailbox.max_attachments, mailbox.authserv_id)
            except Exception as error:  # no message may stop the intake: it is answered as having no usable file
                log.warning("message uid %s could not be parsed (%s): answered as having no usable attachment", uid, error)
                read = unreadable_message(raw, error)
            if too_large:
                read.attachments, read.ignored = [], []
                read.defects.append(f"message too large: {too_large:,} bytes > {mailbox.max_message_bytes:,}")
            outcome = land_message(settings, con, root, read)
            if outcome == "already":
                summary.already_taken += 1
            elif outcome == "landed":
                summary.messages_landed += 1
                summary.files_landed += sum(a.content is not None for a in read.attachments)
            elif outcome == "no_attachment":
                summary.no_attachment += 1
            elif outcome == "unauthenticated":
                summary.unauthenticated += 1
                log.warning("message %s from %s refused: %s", read.message_id, read.sender, read.unauthenticated)
            else:
                summary.auto_replies += 1
            # step 5: only now is the message done on the server
            client.uid("STORE", uid, "+FLAGS", f"({PROCESSED_FLAG} \\Seen)")
        client.close()
    log.info("mailbox intake: %s", summary.as_dict())
    return summary
