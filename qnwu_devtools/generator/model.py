"""What the generator plans with: units, clubs, the plan of one unit-month's values, the report of
a run, and the small arithmetic it shares (exact apportioning, weighted sampling, seeded streams)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from random import Random

from qnwu_devtools.generator.calibration import DISTRICT_PROFILES


# ------------------------------------------------------------------------------------------------
@dataclass
class GenerationReport:
    out_dir: Path
    files_per_format: dict[str, int]
    submissions: int  # unit x month reports (current versions) written
    resubmissions: int  # unit-months with a corrected _v2 file
    late: int  # unit-months whose first file came after the 10th of the next month
    faults: int  # fault files written (0 without --faults)
    synthetic_units: list[dict[str, str]] = field(default_factory=list)  # rows in the seeds/units.csv layout
    expected_outcomes: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def files(self) -> int:
        """Every file written into out_dir (submissions, first versions, faults), not counting expected_outcomes.csv."""
        return sum(self.files_per_format.values()) + self.faults

    files_total = files  # the name cli.py uses

    def summary(self) -> str:
        formats = ", ".join(f"{fmt} {count}" for fmt, count in sorted(self.files_per_format.items()))
        return (
            f"{self.out_dir}: {self.submissions} submissions ({formats}), {self.resubmissions} resubmissions, "
            f"{self.late} late, {self.faults} fault files, {len(self.synthetic_units)} synthetic units"
        )


@dataclass
class Unit:
    version_id: str
    code: str
    name: str
    unit_type: str
    district: str  # district short name (inherited through mergers once districts are gone)
    district_code: str
    district_name: str
    valid_from: date
    valid_to: date | None
    weight: float = 1.0
    minority: float = 0.1
    synthetic: bool = False

    def valid_in(self, year: int, month: int) -> bool:
        day = date(year, month, 1)
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    @property
    def level_word(self) -> str:
        return {"Phường": "phường", "Thị trấn": "thị trấn"}.get(self.unit_type, "xã")

    @property
    def short_name(self) -> str:
        for prefix in ("Thị trấn ", "Phường ", "Xã "):
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name


@dataclass
class Club:
    club_id: str
    club_type: str
    name: str
    members: int
    founded: tuple[int, int] | None = None  # (year, month) of status "new"; None = before the data
    dissolved: tuple[int, int] | None = None  # (year, month) of status "dissolved"
    start: tuple[int, int] | None = None  # first month listed by this unit (taken over in a merger)
    members_before: int | None = None  # members before members_change
    members_change: tuple[int, int] | None = None

    def listed(self, ym: tuple[int, int]) -> bool:
        begin = self.founded or self.start
        if begin is not None and ym < begin:
            return False
        return self.dissolved is None or ym <= self.dissolved

    def status(self, ym: tuple[int, int]) -> str:
        if self.founded == ym:
            return "new"
        if self.dissolved == ym:
            return "dissolved"
        return "active"

    def members_on(self, ym: tuple[int, int]) -> int:
        if self.members_change is not None and self.members_before is not None and ym < self.members_change:
            return self.members_before
        return self.members


@dataclass
class CellPlan:
    """What one unit reports for one month, before it becomes a file."""

    values: dict[tuple[str, str], int]
    fmt: str
    submitted_at: datetime
    late: bool
    reporter: str
    omit_zero_rows: bool
    resubmission: dict | None = None  # {"first_at": datetime, "kind": ..., ...}


# ------------------------------------------------------------------------------------------------
def apportion(total: int, weights: list[float]) -> list[int]:
    """Split a whole number exactly in proportion to weights (largest remainder, ties by position)."""
    if total < 0:
        raise ValueError("cannot apportion a negative total")
    scaled = [max(0, round(w * 1_000_000)) for w in weights]
    denominator = sum(scaled)
    if total == 0 or not scaled:
        return [0] * len(scaled)
    if denominator == 0:
        raise ValueError("cannot apportion over zero weights")
    shares = [total * w // denominator for w in scaled]
    remainders = [total * w % denominator for w in scaled]
    missing = total - sum(shares)
    for index in sorted(range(len(scaled)), key=lambda i: (-remainders[i], i))[:missing]:
        shares[index] += 1
    return shares


def weighted_sample(rng: Random, items: list, weights: list[float], k: int) -> list:
    """k distinct items, each drawn with probability proportional to its weight (Efraimidis–Spirakis)."""
    keyed = [(rng.random() ** (1.0 / w), index) for index, w in enumerate(weights) if w > 0]
    keyed.sort(reverse=True)
    return [items[index] for _key, index in keyed[:k]]


def seeded_stream(seed: int, *parts: object) -> Random:
    """An independent random stream per purpose (str seeds are hashed with SHA-512: stable)."""
    return Random(":".join([str(seed), *map(str, parts)]))


def short_district(district_name: str) -> str:
    for short in DISTRICT_PROFILES:
        if district_name.endswith(short):
            return short
    return ""
