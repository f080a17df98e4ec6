"""The mailbox's own state: which messages were taken, which files each landed as, and the outbox.

A small SQLite file under the data directory (mailbox/mailbox.sqlite), written with
synchronous=FULL so that a committed row survives a crash: a message is flagged processed on the
server only after its row is committed, and a reply is sent only from an outbox row whose key
(the message and the file) makes a second reply for the same file impossible.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from qnwu_warehouse.settings import Settings

SCHEMA = """
create table if not exists messages (
    message_key text primary key,      -- sha256 of the Message-ID and of the message's bytes
    message_id text not null,
    sender text,                       -- the From address, lower case ('' when there is none)
    subject text,
    sent_date text,
    references_header text,
    status text not null,              -- landed | no_attachment | auto_reply | unauthenticated
    note text,
    received_at text not null
);
create table if not exists attachments (
    message_key text not null references messages (message_key),
    position integer not null,
    file_name text not null,           -- as the sender named it (RFC 2231 decoded)
    landing_path text,                 -- relative to the landing root; null when it was not landed
    content_hash text,
    size_bytes integer,
    intake_note_vi text,               -- what the mailbox itself found (a ZIP it could not unpack ...)
    intake_note_en text,
    primary key (message_key, position)
);
create unique index if not exists attachments_landing_path on attachments (landing_path);
create table if not exists outbox (
    idempotency_key text primary key,  -- reply:<message key>:<position>, no-file:<message key>, ...
    message_key text,
    kind text not null,                -- accepted | rejected | duplicate | no_attachment | sender_notice
    recipient text not null,
    subject text not null,
    body_html text not null,
    in_reply_to text,
    references_header text,
    reply_message_id text not null,
    attach_template integer not null default 0,
    status text not null default 'pending',   -- pending | sent
    created_at text not null,
    sent_at text
);
"""


def database_path(settings: Settings) -> Path:
    return settings.data_dir / "mailbox" / "mailbox.sqlite"


@contextmanager
def connect(settings: Settings):
    path = database_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        con.execute("pragma journal_mode = wal")
        con.execute("pragma synchronous = full")
        con.executescript(SCHEMA)
        yield con
    finally:
        con.close()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sender_of_landing_path(con: sqlite3.Connection, landing_path: str) -> str | None:
    row = con.execute(
        "select m.sender from attachments a join messages m using (message_key) where a.landing_path = ?",
        [landing_path],
    ).fetchone()
    return None if row is None else row["sender"]
