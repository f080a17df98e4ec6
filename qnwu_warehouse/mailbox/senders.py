"""Who may report for a unit: the registry of each unit's sender addresses.

A CSV at QNWU_MAILBOX_SENDERS_FILE, operational configuration kept out of git and out of the
marts, with a header `unit_code,email` and one row per address (a unit may have several; an
address may report for several units). A district's or the province's code lists its officers,
who get the chase lists (reminders.py). Addresses are compared case
insensitively. A report file that came by mail from an address not registered for the unit it
claims is rejected SENDER_NOT_REGISTERED by ingest (quarantined with the reason), and the unit's
registered addresses are told (replies.py).

That the From address is the sender's own is for the mail server to verify (SPF, DKIM, DMARC:
docs/mailbox.md); this check only decides whether that address may report for that unit.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from qnwu_warehouse.contract.rules import Location, Problem
from qnwu_warehouse.settings import ConfigError, Settings

ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")


def normalise(address: str) -> str:
    return address.strip().lower()


def load_registry(path: Path) -> dict[str, set[str]]:
    """unit_code -> registered addresses (lower case). A malformed file stops with one line naming
    the file, row and field and saying what to do."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"sender registry {path}: cannot be read ({error}); save it as UTF-8 CSV (unit_code,email)."
        ) from None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or not {"unit_code", "email"} <= {name.strip() for name in reader.fieldnames}:
        raise ConfigError(f"sender registry {path}: row 1 must be the header 'unit_code,email' (found {reader.fieldnames}).")
    registry: dict[str, set[str]] = {}
    for number, row in enumerate(reader, start=2):
        row = {(key or "").strip(): (value or "").strip() for key, value in row.items() if key}
        unit, address = row.get("unit_code", ""), row.get("email", "")
        if not unit and not address:
            continue
        if not re.fullmatch(r"\d{2,5}", unit):
            raise ConfigError(
                f"sender registry {path}: row {number}, field unit_code {unit!r} is not a unit code (2 to 5 digits); "
                "fix or delete the row."
            )
        if not ADDRESS.fullmatch(address):
            raise ConfigError(
                f"sender registry {path}: row {number}, field email {address!r} is not an e-mail address; "
                "fix or delete the row."
            )
        registry.setdefault(unit, set()).add(normalise(address))
    return registry


class SenderCheck:
    """Used by ingest on the files the mailbox landed (paths under mailbox/): turns an accepted
    outcome into a rejection when its sender is not registered for its unit."""

    def __init__(self, settings: Settings):
        from qnwu_warehouse.mailbox import store

        self.settings = settings
        self.store = store
        self.registry: dict[str, set[str]] | None = None
        self.registry_error: str | None = None
        path = (os.environ.get("QNWU_MAILBOX_SENDERS_FILE") or "").strip()
        try:
            if not path:
                raise ConfigError("QNWU_MAILBOX_SENDERS_FILE is not set")
            self.registry = load_registry(Path(path).expanduser())
        except ConfigError as error:
            self.registry_error = str(error)

    @staticmethod
    def applies_to(source_path: str) -> bool:
        return source_path.startswith("mailbox/")

    def problem_for(self, source_path: str, unit_code: str) -> Problem | None:
        with self.store.connect(self.settings) as con:
            sender = self.store.sender_of_landing_path(con, source_path)
        if self.registry is None:
            return Problem("SENDER_NOT_REGISTERED", Location("(file)"), f"{sender or '?'} ({self.registry_error})")
        if sender and sender in self.registry.get(unit_code, set()):
            return None
        return Problem("SENDER_NOT_REGISTERED", Location("(file)"), f"{sender or '(không rõ / unknown)'} → {unit_code}")

    def apply(self, outcome) -> None:
        if outcome.outcome != "accepted" or not self.applies_to(outcome.source_path):
            return
        unit_code = outcome.submission.unit_code
        problem = self.problem_for(outcome.source_path, unit_code)
        if problem is None:
            return
        outcome.outcome = "rejected"
        outcome.submission = None
        outcome.problems = (*outcome.problems, problem)
        outcome.claimed_unit_code = outcome.claimed_unit_code or unit_code
