"""The contract's size and length limits, apart from its rules so that settings.py can parse
their environment overrides without importing the contract (which reads settings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """How large and how long a submission may be. A monthly report of one unit is a few kilobytes
    with a few dozen rows; anything far beyond that is a mistake or an attack, and is refused with
    a reason instead of being read at any cost. The defaults are the contract's
    (docs/submission_contract.md); settings.py lets a deployment change them (QNWU_MAX_*)."""

    max_file_bytes: int = 10_000_000
    max_section_rows: int = 2_000
    max_problems_per_file: int = 50
    max_field_chars: int = 200
    # Unpacked size of an XLSX (a zip): beyond it the file is a zip bomb, not a report.
    max_unpacked_bytes: int = 100_000_000
    # The largest value any count or amount may take when an indicator names none (bigint in raw).
    max_value: int = 10**15


CONTRACT_LIMITS = Limits()
