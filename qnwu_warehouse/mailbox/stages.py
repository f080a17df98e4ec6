"""The qnwu_mailbox DAG's stages, as its tasks call them: settings from the environment, a small
JSON-able dict back for XCom (like orchestration/pipeline.py)."""

from __future__ import annotations

from qnwu_warehouse.mailbox.senders import load_registry
from qnwu_warehouse.settings import MailboxSettings, Settings


def _settings() -> tuple[Settings, MailboxSettings]:
    settings = Settings.from_env()
    settings.ensure_data_dir()
    mailbox = MailboxSettings.from_env()
    load_registry(mailbox.senders_file)  # a malformed registry stops here with its one line, before any mail is taken
    return settings, mailbox


def intake_stage() -> dict[str, int]:
    from qnwu_warehouse.mailbox.intake import intake, landing_root

    settings, mailbox = _settings()
    landing_root(settings)
    return intake(settings, mailbox).as_dict()


def reminder_stage(moment: str | None = None) -> dict[str, int]:
    """`moment`: when the run is for (ISO 8601 with its offset; now by default). Its day in Viet Nam
    decides which deadline is near or past."""
    from datetime import datetime

    from qnwu_warehouse.contract.rules import day_in_vietnam
    from qnwu_warehouse.mailbox.reminders import reminder_stage as reminders

    settings, mailbox = _settings()
    day = day_in_vietnam(datetime.fromisoformat(moment) if moment else None)
    return reminders(settings, mailbox, day, mailbox.reminder_days).as_dict()


def reply_stage() -> dict[str, int]:
    from qnwu_warehouse.mailbox.replies import reply_stage as replies

    settings, mailbox = _settings()
    return replies(settings, mailbox).as_dict()
