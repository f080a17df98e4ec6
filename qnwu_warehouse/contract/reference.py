"""Reference data as the Python side sees it, read from the dbt seeds.

The seeds in ``seeds/`` are the one place where units, indicators and club types are defined;
dbt loads them into the warehouse and the contract checks read the very same files here, so a
new indicator or unit is added once and both sides agree.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from qnwu_warehouse.settings import SEEDS_DIR


@dataclass(frozen=True)
class UnitVersion:
    unit_code: str
    unit_name: str
    unit_level: str
    district_code: str
    valid_from: date
    valid_to: date | None  # exclusive; None = still valid

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class Indicator:
    code: str
    fact: str
    time_aggregation: str
    allowed_categories: frozenset[str]
    max_value: int | None = None  # the largest one unit can report in a month (indicators.csv)
    at_most: str | None = None  # an indicator this one cannot exceed in the same report and category


@dataclass(frozen=True)
class UnitChange:
    change_date: date
    old_unit_code: str
    new_unit_code: str  # '' when the seeds name no successor
    new_unit_name: str


@dataclass(frozen=True)
class ReferenceData:
    units: dict[str, tuple[UnitVersion, ...]]  # unit_code -> its versions (codes are reused)
    indicators: dict[str, Indicator]
    club_types: frozenset[str]
    changes: tuple[UnitChange, ...] = ()

    def successor_of(self, unit_code: str, day: date) -> UnitChange | None:
        """The change, on or before `day`, that ended `unit_code` and names its successor, if any."""
        ended = [c for c in self.changes if c.old_unit_code == unit_code and c.change_date <= day and c.new_unit_code]
        return max(ended, key=lambda c: c.change_date) if ended else None

    def grassroots_unit_on(self, unit_code: str, day: date) -> UnitVersion | None:
        for version in self.units.get(unit_code, ()):
            if version.unit_level == "grassroots" and version.is_valid_on(day):
                return version
        return None

    def grassroots_units_on(self, day: date) -> list[UnitVersion]:
        return sorted(
            (v for versions in self.units.values() for v in versions if v.unit_level == "grassroots" and v.is_valid_on(day)),
            key=lambda v: v.unit_code,
        )


def _read_seed(seeds_dir: Path, name: str) -> list[dict[str, str]]:
    with (seeds_dir / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _date_or_none(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@cache
def load_reference(seeds_dir: Path = SEEDS_DIR) -> ReferenceData:
    units: dict[str, list[UnitVersion]] = {}
    for row in _read_seed(seeds_dir, "units"):
        units.setdefault(row["unit_code"], []).append(
            UnitVersion(
                unit_code=row["unit_code"],
                unit_name=row["unit_name"],
                unit_level=row["unit_level"],
                district_code=row["district_code"],
                valid_from=date.fromisoformat(row["valid_from"]),
                valid_to=_date_or_none(row["valid_to"]),
            )
        )
    indicators = {
        row["indicator_code"]: Indicator(
            code=row["indicator_code"],
            fact=row["fact"],
            time_aggregation=row["time_aggregation"],
            allowed_categories=frozenset(row["allowed_categories"].split("|")),
            max_value=int(row["max_value"]) if row.get("max_value") else None,
            at_most=row.get("at_most_indicator_code") or None,
        )
        for row in _read_seed(seeds_dir, "indicators")
    }
    club_types = frozenset(row["club_type_code"] for row in _read_seed(seeds_dir, "club_types"))
    changes = tuple(
        UnitChange(
            date.fromisoformat(row["change_date"]),
            row["old_unit_code"],
            row.get("new_unit_code") or "",
            row.get("new_unit_name") or "",
        )
        for row in _read_seed(seeds_dir, "unit_changes")
        if row.get("change_date")
    )
    return ReferenceData(
        units={code: tuple(versions) for code, versions in units.items()},
        indicators=indicators,
        club_types=club_types,
        changes=changes,
    )
