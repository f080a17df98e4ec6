"""Synthetic but realistic unit submissions, calibrated to the 2023 article.

``generate(out_dir)`` writes one file per grassroots unit and month (XLSX, CSV or JSON, in the
layouts of :mod:`qnwu_warehouse.contract.files`), as the 177 cơ sở Hội of Quảng Ninh would send
them. For the real 177 units and the twelve months of 2023 the province totals computed from the
current version (latest ``submitted_at``) of every unit x month, flows summed over the year and
stocks taken at December, are exactly the figures of the article (:data:`CALIBRATION_2023`).

Realism: urban districts (Hạ Long, Cẩm Phả, Uông Bí) are busier, activity follows the calendar
(Tết, 8/3, the June month of action for children, 20/10), about 8% of reports arrive after the
10th of the following month, a few units send a corrected version (``_v2``) of a report whose
first version had a wrong value, clubs and models are founded and dissolved during the year, and
every time is Vietnam time (+07:00).

Everything is planned from seeded ``random.Random`` streams (one per purpose and year, so a
subset of units or months is a slice of the full data set) and iterated in sorted order; the same
arguments give the same bytes. ``faults=True`` adds realistic bad files and ``expected_outcomes.csv``.

Command line: ``python -m qnwu_devtools.generator OUT_DIR [--year 2023] [--seed 20231] [--months 12]
[--units N] [--mix xlsx=0.4,csv=0.3,json=0.3] [--faults] [--synthetic-units-csv PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random

from qnwu_warehouse.contract.files import (
    STATUS_WORDS_VI,
    club_type_catalogue,
    indicator_catalogue,
    write_csv,
    write_json,
    write_xlsx,
)
from qnwu_warehouse.contract.rules import CONTRACT_VERSION, VIETNAM_TIME
from qnwu_warehouse.settings import SEEDS_DIR

# ------------------------------------------------------------------------------------------------
# The calibration table: every province figure of the 2023 article that unit reports carry, for the
# real 177 grassroots units and the twelve months of 2023. The comment on each line names the
# figure_id of /work/shared/domain/reference_figures_2023.csv (comparator in brackets) it comes
# from; "invented" marks plausible values for what the article does not say.
# ------------------------------------------------------------------------------------------------
CALIBRATION_2023: dict[str, dict] = {
    # Flow indicators: (indicator_code, category) -> province total over the twelve months.
    "flows": {
        ("news_items", "total"): 712,  # news_items (> 700): "trên 700 tin, bài"
        ("news_reportages", "total"): 5,  # news_reports (= 5)
        ("child_training_classes", "total"): 102,  # child_training_classes (= 102)
        ("child_training_attendances", "total"): 8_940,  # child_training_attendances (~< 9000)
        ("gender_contest_entries", "total"): 496,  # contest_entries (= 496)
        ("godmother_children_new", "female"): 108,  # godmother_children_2023 (= 211) = 108 + 103
        ("godmother_children_new", "male"): 103,  # godmother_children_2023 (= 211)
        ("household_economy_women_supported", "kinh"): 1_912,  # women_household_support (= 2997)
        ("household_economy_women_supported", "ethnic_minority"): 1_085,  # women_household_support: 1912+1085
        ("poor_members_helped", "total"): 1_846,  # invented
        ("women_entrepreneurs_supported", "total"): 853,  # invented (the 2024 target is >= 1,000)
        ("violence_victims_identified", "domestic_violence"): 41,  # invented
        ("violence_victims_identified", "trafficking_returnee"): 7,  # invented
        ("violence_victims_supported", "domestic_violence"): 39,  # invented (<= identified)
        ("violence_victims_supported", "trafficking_returnee"): 7,  # invented
        ("godmother_funds_vnd", "total"): 1_046_500_000,  # godmother_funds_vnd_2023 (> 1e9): "trên 1 tỷ đồng"
        ("waste_to_money_funds_vnd", "total"): 1_123_460_000,  # waste_to_money_funds_vnd (> 1.1e9)
        # border_econ_funds_vnd (= 100,000,000, Bình Liêu + Hải Hà only): 10 models x 10,000,000 VND,
        # disbursed to the unit of each border_econ_model in the month it is founded (see "clubs").
        ("border_econ_funds_vnd", "total"): 100_000_000,
    },
    # Stock indicators (time_aggregation 'last'): province total at December.
    "stocks": {
        ("poor_members_total", "total"): 1_562,  # invented (declining from ~2,100 in January)
    },
    # Club registers: "december" = listed at December (none is dissolved in December, so all are
    # maintained), "new" = listed with status new during 2023 (none of them dissolves in 2023),
    # "dissolved" = invented dissolutions during 2023 of clubs founded before 2023.
    "clubs": {
        # sport_culture_clubs_new (= 68) = 27 + 3 + 38; sport_movement_units (= 177): every unit keeps
        # at least one sport/culture club.
        "air_volleyball": {"december": 513, "new": 27, "dissolved": 5},  # air_volleyball_clubs (= 513)
        "women_football": {"december": 40, "new": 3, "dissolved": 1},  # women_football_clubs (= 40)
        "folk_dance": {"december": 854, "new": 38, "dissolved": 9},  # folk_dance_clubs (= 854)
        "friendly_club": {"december": 4, "new": 0, "dissolved": 0},  # friendly_clubs (= 4)
        "child_rights_club": {"december": 4, "new": 0, "dissolved": 0},  # child_rights_clubs (= 4)
        "early_childhood_model": {"december": 3, "new": 0, "dissolved": 0},  # early_childhood_models (= 3)
        "knit_for_children": {"december": 1, "new": 1, "dissolved": 0},  # knit_for_children_models_new (= 1)
        "change_leader_club": {"december": 10, "new": 10, "dissolved": 0},  # change_leader_clubs_new (= 10)
        # waste_models (= 1992) = 1,380 + 612; waste_to_money_models_new (= 224)
        "waste_sorting_model": {"december": 1_380, "new": 41, "dissolved": 12},  # new/dissolved invented
        "waste_to_money_model": {"december": 612, "new": 224, "dissolved": 0},
        "livestock_model": {"december": 9, "new": 9, "dissolved": 0},  # livestock_models (= 9)
        "border_econ_model": {"december": 10, "new": 10, "dissolved": 0},  # border_econ_models_funded (= 10)
    },
    "members": {
        "waste_models_december": 203_417,  # waste_model_members (> 200,000): "hơn 200.000 thành viên"
        "knit_for_children": 14,  # knit_for_children_members (= 14)
        "change_leader_club": (15, 30),  # change_leader_club_members_min (>= 15) / _max (<= 30)
        "livestock_model": 1,  # livestock_model_members (= 9): one member per model
        "border_econ_funds_per_model_vnd": 10_000_000,  # border_econ_funds_vnd / border_econ_models_funded
    },
    # Where the article places clubs and models: district short name -> number of clubs.
    "placements": {
        "friendly_club": {"Hạ Long": 2, "Cẩm Phả": 1, "Uông Bí": 1},  # friendly_clubs
        "child_rights_club": {"Cẩm Phả": 2, "Đông Triều": 2},  # child_rights_clubs
        "early_childhood_model": {"Ba Chẽ": 1, "Quảng Yên": 1, "Uông Bí": 1},  # early_childhood_models
        # knit_for_children_models_new: the one new model is in Phường Quang Trung, TP Uông Bí.
        "knit_for_children": {"unit_name": "Phường Quang Trung", "district": "Uông Bí", "month": 10},
        # change_leader_clubs_new: 10 clubs in exactly 7 communes (xã) of these five districts; the
        # article's photo shows the club of Trường TH-THCS Đại Dực 2 (xã Đại Dực, Tiên Yên).
        "change_leader_club": {
            "communes": 7,
            "districts": ("Hạ Long", "Móng Cái", "Bình Liêu", "Ba Chẽ", "Tiên Yên"),
            "must_include": "Xã Đại Dực",
        },
        "livestock_model": ("Bình Liêu",),  # livestock_models
        "border_econ_model": ("Bình Liêu", "Hải Hà"),  # border_econ_models_funded
        # waste_model_units (= 149 of 177, 84.1%): units holding waste models at December.
        "waste_model_units": 149,
    },
}
CALIBRATION_YEAR = 2023
CALIBRATION_UNIT_COUNT = 177

# Later years (or another population) scale the table by their size and this yearly growth.
GROWTH_PER_YEAR = 1.05
POOR_DECLINE_PER_YEAR = 0.88  # members of poor households on the register, year on year
LATE_SHARE = 0.08  # reports received after the 10th of the following month
RESUBMISSION_SHARE = 0.015  # unit-months with a corrected second version
# Unit-months for which no report comes at all, after the calibration year (2023 stays exactly as
# the article counts it), so completeness below 100% is exercised. Never December (the year's
# registers), never a month in which the unit founds or dissolves a club (the club counts of the
# article's kind), and never the month before or of a unit change: the hand-over registers are sent,
# so the conservation check across changes (expectations/unit_changes.yml) can be shown exactly.
MISSING_SHARE = 0.015
DEADLINE_DAY = 10
MAX_MONTHS = 60
MAX_UNITS = 10_000
DEFAULT_MIX = {"xlsx": 0.4, "csv": 0.3, "json": 0.3}

# District short name -> (busyness, share of ethnic-minority women). Hạ Long, Cẩm Phả, Uông Bí are
# the busy cities; Bình Liêu, Ba Chẽ, Tiên Yên are mostly ethnic-minority mountain districts.
DISTRICT_PROFILES = {
    "Hạ Long": (1.8, 0.08),
    "Cẩm Phả": (1.6, 0.06),
    "Uông Bí": (1.5, 0.05),
    "Móng Cái": (1.3, 0.15),
    "Đông Triều": (1.2, 0.04),
    "Quảng Yên": (1.2, 0.03),
    "Vân Đồn": (0.9, 0.2),
    "Tiên Yên": (0.8, 0.55),
    "Hải Hà": (0.8, 0.3),
    "Đầm Hà": (0.75, 0.4),
    "Bình Liêu": (0.7, 0.95),
    "Ba Chẽ": (0.6, 0.8),
    "Cô Tô": (0.5, 0.05),
}
UNIT_TYPE_FACTOR = {"Phường": 1.2, "Thị trấn": 1.1, "Xã": 0.85}

# Month weights (January .. December).
SEASONS = {
    "activity": (0.6, 0.7, 1.3, 1.0, 1.0, 1.4, 0.9, 0.9, 1.0, 1.3, 1.0, 1.1),  # 8/3, 1/6, 20/10
    "children": (0.5, 0.6, 0.9, 1.0, 1.5, 1.8, 1.0, 0.9, 1.1, 0.9, 0.8, 0.8),  # June: month for children
    "support": (1.4, 0.9, 1.0, 0.9, 0.9, 1.1, 0.9, 1.0, 1.2, 1.0, 1.0, 1.3),  # before Tết, school year
    "contest": (0, 0, 0, 0, 0, 0, 0, 0.8, 1.5, 1.0, 0, 0),  # the 2023 media contest
    "flat": (1.0,) * 12,
    "founding": (0.4, 0.7, 1.4, 1.2, 1.0, 0.9, 0.8, 0.8, 1.0, 1.4, 1.0, 0.6),
}
# Indicator -> (season, how units differ): "busy" urban-weighted, "poor" rural/ethnic-weighted.
FLOW_PROFILES = {
    "news_items": ("activity", "busy"),
    "news_reportages": ("children", "busy"),
    "child_training_classes": ("children", "busy"),
    "gender_contest_entries": ("contest", "minority"),
    "godmother_children_new": ("support", "flat"),
    "household_economy_women_supported": ("support", "flat"),
    "poor_members_helped": ("support", "poor"),
    "women_entrepreneurs_supported": ("activity", "busy"),
    "violence_victims_identified": ("flat", "flat"),
}
# Flows that are derived from others rather than apportioned on their own.
DERIVED_FLOWS = {
    "child_training_attendances",
    "violence_victims_supported",
    "godmother_funds_vnd",
    "waste_to_money_funds_vnd",
    "border_econ_funds_vnd",
}
MONEY_STEP = {"godmother_funds_vnd": 500_000, "waste_to_money_funds_vnd": 10_000}

SPORT_TYPES = ("air_volleyball", "women_football", "folk_dance")
WASTE_TYPES = ("waste_sorting_model", "waste_to_money_model")
SPECIAL_TYPES = ("friendly_club", "child_rights_club", "early_childhood_model", "knit_for_children", "change_leader_club")
MEMBER_RANGES = {
    "air_volleyball": (10, 24),
    "women_football": (12, 25),
    "folk_dance": (15, 60),
    "friendly_club": (15, 30),
    "child_rights_club": (15, 35),
    "early_childhood_model": (20, 40),
    "change_leader_club": (15, 30),
    "knit_for_children": (14, 14),
    "waste_sorting_model": (30, 220),
    "waste_to_money_model": (30, 180),
    "livestock_model": (1, 1),
    "border_econ_model": (5, 12),
}
VILLAGES = (
    "Đồng Tâm",
    "Tân Tiến",
    "Bắc Sơn",
    "Nam Sơn",
    "Đông Sơn",
    "Tân Lập",
    "Hợp Thành",
    "Thống Nhất",
    "Quyết Tiến",
    "Bình Minh",
    "Khe Tâm",
    "Nà Pá",
    "Pắc Pộc",
    "Khe Vang",
    "Đồng Văn",
    "Tân Hợp",
    "Hải Tiến",
    "Trung Lương",
    "Làng Cổng",
    "Khe Lìa",
    "Đồng Mạ",
    "Cái Rồng",
)
REPORTER_TITLES = ("Chủ tịch Hội LHPN {level}", "Phó Chủ tịch Hội LHPN {level}", "Cán bộ văn phòng Hội LHPN {level}")

SYNTHETIC_CODE_PREFIX = "9"
UNIT_COLUMNS = (
    "unit_version_id",
    "unit_code",
    "unit_name",
    "unit_level",
    "unit_type",
    "parent_unit_code",
    "district_code",
    "district_name",
    "valid_from",
    "valid_to",
)
# A dot-file: the landing zone ignores dot-files, so the answer key is never ingested as a report.
EXPECTED_OUTCOMES_FILE = ".expected_outcomes.csv"


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


def _stream(seed: int, *parts: object) -> Random:
    """An independent random stream per purpose (str seeds are hashed with SHA-512: stable)."""
    return Random(":".join([str(seed), *map(str, parts)]))


def _short_district(district_name: str) -> str:
    for short in DISTRICT_PROFILES:
        if district_name.endswith(short):
            return short
    return ""


# --- units --------------------------------------------------------------------------------------
def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_real_units(seed: int, seeds_dir: Path = SEEDS_DIR) -> list[Unit]:
    """Every grassroots unit version of seeds/units.csv with its weight; mergers inherit weights."""
    rows = [row for row in _read_csv(seeds_dir / "units.csv") if row["unit_level"] == "grassroots"]
    changes = _read_csv(seeds_dir / "unit_changes.csv") if (seeds_dir / "unit_changes.csv").exists() else []
    rng = _stream(seed, "unit-profiles")
    rows.sort(key=lambda row: (row["valid_from"], row["unit_code"]))
    units: list[Unit] = []
    by_code: dict[str, list[Unit]] = {}
    for row in rows:
        unit = Unit(
            version_id=row["unit_version_id"],
            code=row["unit_code"],
            name=row["unit_name"],
            unit_type=row["unit_type"],
            district=_short_district(row["district_name"]),
            district_code=row["district_code"],
            district_name=row["district_name"],
            valid_from=date.fromisoformat(row["valid_from"]),
            valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
        )
        noise = rng.uniform(0.6, 1.4)
        predecessors = _predecessors(unit, by_code, changes)
        if predecessors:
            unit.weight = sum(share * old.weight for old, share in predecessors)
            unit.minority = sum(share * old.minority * old.weight for old, share in predecessors) / max(unit.weight, 1e-9)
            main = max(predecessors, key=lambda pair: pair[1] * pair[0].weight)[0]
            unit.district = unit.district or main.district
        else:
            busy, minority = DISTRICT_PROFILES.get(unit.district, (1.0, 0.1))
            unit.weight = busy * UNIT_TYPE_FACTOR.get(unit.unit_type, 1.0) * noise
            unit.minority = min(0.98, minority * rng.uniform(0.6, 1.4))
        units.append(unit)
        by_code.setdefault(unit.code, []).append(unit)
    return units


def _predecessors(unit: Unit, by_code: dict[str, list[Unit]], changes: list[dict[str, str]]):
    """(old unit version, share of it) that became this unit on its valid_from."""
    day = unit.valid_from.isoformat()
    found = []
    for change in changes:
        if change["change_date"] == day and change["new_unit_code"] == unit.code:
            successors = sum(
                1
                for other in changes
                if other["change_date"] == day
                and other["old_unit_code"] == change["old_unit_code"]
                and other["new_unit_code"]
            )
            for old in by_code.get(change["old_unit_code"], []):
                if old.valid_to == unit.valid_from:
                    found.append((old, 1.0 / max(successors, 1)))
    if not found:
        found = [(old, 1.0) for old in by_code.get(unit.code, []) if old.valid_to == unit.valid_from]
    return found


def successors_of(units: list[Unit], changes: list[dict[str, str]]) -> dict[str, list[Unit]]:
    """old version_id -> the unit versions that took it over (same code continues, or unit_changes)."""
    by_code: dict[str, list[Unit]] = {}
    for unit in units:
        by_code.setdefault(unit.code, []).append(unit)
    result: dict[str, list[Unit]] = {}
    for unit in units:
        if unit.valid_to is None:
            continue
        day = unit.valid_to.isoformat()
        targets = {
            change["new_unit_code"]
            for change in changes
            if change["change_date"] == day and change["old_unit_code"] == unit.code and change["new_unit_code"]
        }
        if not targets:
            targets = {unit.code}
        found = [other for code in sorted(targets) for other in by_code.get(code, []) if other.valid_from == unit.valid_to]
        if found:
            result[unit.version_id] = found
    return result


def synthetic_units(count: int, year: int, seed: int, template: list[Unit]) -> list[Unit]:
    """Clearly synthetic extra units (codes 9xxxx, names 'Đơn vị giả lập ...') spread over districts."""
    rng = _stream(seed, "synthetic-units")
    districts = sorted({(u.district, u.district_code, u.district_name) for u in template if u.district_code})
    counts = [sum(1 for u in template if u.district_code == code) for _d, code, _n in districts]
    result = []
    for index in range(count):
        district, district_code, district_name = rng.choices(districts, weights=counts)[0]
        unit_type = rng.choices(("Xã", "Phường", "Thị trấn"), weights=(55, 40, 5))[0]
        code = f"{SYNTHETIC_CODE_PREFIX}{index:04d}"
        busy, minority = DISTRICT_PROFILES.get(district, (1.0, 0.1))
        result.append(
            Unit(
                version_id=f"{code}@{year}-01-01",
                code=code,
                name=f"Đơn vị giả lập {code} ({district})",
                unit_type=unit_type,
                district=district,
                district_code=district_code,
                district_name=district_name,
                valid_from=date(year, 1, 1),
                valid_to=None,
                weight=busy * UNIT_TYPE_FACTOR[unit_type] * rng.uniform(0.6, 1.4),
                minority=min(0.98, minority * rng.uniform(0.6, 1.4)),
                synthetic=True,
            )
        )
    return result


def synthetic_unit_rows(units: list[Unit]) -> list[dict[str, str]]:
    return [
        {
            "unit_version_id": u.version_id,
            "unit_code": u.code,
            "unit_name": u.name,
            "unit_level": "grassroots",
            "unit_type": u.unit_type,
            "parent_unit_code": u.district_code,
            "district_code": u.district_code,
            "district_name": u.district_name,
            "valid_from": u.valid_from.isoformat(),
            "valid_to": "",
        }
        for u in units
    ]


# --- planning -------------------------------------------------------------------------------------
class Population:
    """One set of units (the real ones, or the synthetic ones) planned year by year."""

    def __init__(
        self,
        name: str,
        units: list[Unit],
        seed: int,
        first_year: int,
        reference_mass: float,
        calibrated: bool,
        successors: dict[str, list[Unit]],
        mix: dict[str, float],
    ):
        self.name = name
        self.units = sorted(units, key=lambda u: (u.code, u.valid_from))
        self.seed = seed
        self.first_year = first_year
        self.reference_mass = reference_mass
        self.calibrated = calibrated
        self.successors = successors
        self.mix = mix
        self.clubs: dict[str, list[Club]] = {u.version_id: [] for u in self.units}
        self.counters: dict[tuple[str, str], int] = {}
        self.poor_stock: dict[str, int] = {}
        self.waste_units: set[str] = set()
        self._factors: dict[int, float] = {}
        profile_rng = _stream(seed, name, "unit-habits")
        formats = sorted(mix)
        self.preferred_format = {
            u.version_id: profile_rng.choices(formats, weights=[mix[f] for f in formats])[0] for u in self.units
        }
        self.omits_zero_rows = {u.version_id: profile_rng.random() < 0.2 for u in self.units}
        self.reporter_choice = {u.version_id: profile_rng.randrange(len(REPORTER_TITLES)) for u in self.units}
        # (year, month) of every unit change and the month before it: their reports are always sent
        self.change_months = {
            ym
            for u in self.units
            if u.valid_to is not None
            for ym in (
                (u.valid_to.year, u.valid_to.month),
                (u.valid_to.year, u.valid_to.month - 1) if u.valid_to.month > 1 else (u.valid_to.year - 1, 12),
            )
        }

    # cells ----------------------------------------------------------------------------------
    def cells(self, year: int) -> list[tuple[Unit, int]]:
        return [(u, m) for u in self.units for m in range(1, 13) if u.valid_in(year, m)]

    def factor(self, year: int) -> float:
        """How much bigger than the calibrated 2023 population this one is in ``year`` (1.0 exactly there)."""
        if self.calibrated and year == CALIBRATION_YEAR:
            return 1.0
        if year not in self._factors:
            mass = sum(u.weight for u, _m in self.cells(year)) / 12
            self._factors[year] = mass / self.reference_mass * GROWTH_PER_YEAR ** (year - CALIBRATION_YEAR)
        return self._factors[year]

    def scaled(self, value: int, year: int, step: int = 1) -> int:
        factor = self.factor(year)
        if factor == 1.0:
            return value
        return round(value * factor / step) * step

    # clubs ----------------------------------------------------------------------------------
    def _new_club(
        self, rng: Random, unit: Unit, club_type: str, members: int | None = None, name: str | None = None, **when
    ) -> Club:
        prefix = "CLB" if club_type in SPORT_TYPES or club_type.endswith("_club") else "MH"
        key = (unit.version_id, prefix)
        taken = {c.club_id for c in self.clubs[unit.version_id]}
        club_id = ""
        while not club_id or club_id in taken:  # ids taken over in a merger are kept
            self.counters[key] = self.counters.get(key, 0) + 1
            club_id = f"{prefix}-{self.counters[key]:03d}"
        if members is None:
            low, high = MEMBER_RANGES[club_type]
            members = rng.randint(low, high)
        club = Club(club_id, club_type, name or self._club_name(unit, club_type), members, **when)
        self.clubs[unit.version_id].append(club)
        return club

    def _club_name(self, unit: Unit, club_type: str) -> str:
        names = {code: name for code, name, _group in club_type_catalogue()}
        key = (unit.version_id, "name:" + club_type)
        self.counters[key] = self.counters.get(key, 0) + 1
        number = self.counters[key]
        if unit.unit_type == "Xã":
            village = VILLAGES[(number - 1 + len(unit.code)) % len(VILLAGES)]
            rounds = (number - 1) // len(VILLAGES)
            place = f"thôn {village}" + (f" {rounds + 1}" if rounds else "")
        else:
            place = f"khu {number}" if number % 3 else f"tổ {number}"
        base = names.get(club_type, club_type)
        if club_type in WASTE_TYPES or club_type == "border_econ_model":
            return f"{base} chi hội {place}"
        if club_type == "livestock_model":
            animal = ("nuôi gà", "nuôi lợn", "nuôi ngan")[number % 3]
            return f"Mô hình {animal} hộ hội viên {place}"
        return f"{base} {place}"

    def plan_year(self, year: int) -> dict[tuple[str, int], CellPlan]:
        cells = self.cells(year)
        if not cells:
            return {}
        self._plan_clubs(year, cells)
        self._take_over_clubs(year)
        unreported = self._unreported(year, cells)
        cells = [cell for index, cell in enumerate(cells) if index not in unreported]
        values = self._plan_values(year, cells)
        return self._plan_submissions(year, cells, values)

    def _unreported(self, year: int, cells: list[tuple[Unit, int]]) -> set[int]:
        """The cells with no report at all (MISSING_SHARE); their flows are spread over the others."""
        if year <= CALIBRATION_YEAR:
            return set()
        candidates = [
            index
            for index, (unit, month) in enumerate(cells)
            if month != 12
            and (year, month) not in self.change_months
            and not any(
                club.founded == (year, month) or club.dissolved == (year, month) for club in self.clubs[unit.version_id]
            )
        ]
        rng = _stream(self.seed, self.name, "unreported", year)
        return set(rng.sample(candidates, min(len(candidates), round(MISSING_SHARE * len(cells)))))

    def _hand_on(self, unit: Unit, into: dict[str, list[float]], *amounts: float) -> None:
        """What a unit that ends holds (a register, people counted since January) goes to the units
        that take it over, in equal shares, as its clubs do (`_take_over_clubs`)."""
        takers = self.successors.get(unit.version_id, [])
        for taker in takers:
            held = into.setdefault(taker.version_id, [0.0] * len(amounts))
            for position, amount in enumerate(amounts):
                held[position] += amount / len(takers)

    def _take_over_clubs(self, year: int) -> None:
        """Clubs of a unit that ends (merger, new code) move to the unit(s) that take it over."""
        for unit in self.units:
            if unit.valid_to is None or unit.valid_to.year != year or unit.version_id not in self.successors:
                continue
            start = (unit.valid_to.year, unit.valid_to.month)
            takers = [t for t in self.successors[unit.version_id] if t.version_id in self.clubs]
            if not takers:
                continue
            if unit.version_id in self.waste_units:
                self.waste_units.update(t.version_id for t in takers)
            last = (start[0], start[1] - 1) if start[1] > 1 else (start[0] - 1, 12)
            for index, club in enumerate(list(self.clubs[unit.version_id])):
                if not club.listed(last) or club.dissolved is not None:
                    continue
                taker = takers[index % len(takers)]
                taken = {c.club_id for c in self.clubs[taker.version_id]}
                club_id = club.club_id if taker.code == unit.code else f"{unit.code}/{club.club_id}"
                if club_id in taken:
                    club_id = f"{unit.code}/{club.club_id}"
                self.clubs[taker.version_id].append(Club(club_id, club.club_type, club.name, club.members, start=start))

    def _plan_clubs(self, year: int, cells: list[tuple[Unit, int]]) -> None:
        rng = _stream(self.seed, self.name, "clubs", year)
        table = CALIBRATION_2023["clubs"]
        first = year == self.first_year
        units_jan = [u for u in self.units if u.valid_in(year, 1)]
        if first:
            self._open_registers(rng, year, units_jan)
        generic = SPORT_TYPES + WASTE_TYPES
        # New clubs and models, on (unit, month) cells weighted by size and the founding season.
        for club_type in generic:
            count = self.scaled(table[club_type]["new"], year)
            eligible = [(u, m) for u, m in cells if club_type in SPORT_TYPES or u.version_id in self.waste_units]
            if not eligible or count == 0:
                continue
            weights = [u.weight * SEASONS["founding"][m - 1] * rng.lognormvariate(0, 0.5) for u, m in eligible]
            for (unit, month), number in zip(eligible, apportion(count, weights), strict=True):
                for _ in range(number):
                    self._new_club(rng, unit, club_type, founded=(year, month))
        if not self.name.startswith("synthetic"):
            self._recurring_models(rng, year, cells)
            if first and self.calibrated and year == CALIBRATION_YEAR:
                self._article_clubs(rng, year, cells)
        # Dissolutions among clubs founded before this year, never below one sport club per unit or one
        # waste model per waste unit, never in December (so December lists what is maintained).
        for club_type in generic:
            count = self.scaled(table[club_type]["dissolved"], year)
            candidates = [
                (u, c)
                for u in self.units
                for c in self.clubs[u.version_id]
                if c.club_type == club_type
                and c.dissolved is None
                and (c.founded or c.start or (0, 0)) < (year, 1)
                and c.listed((year, 1))
            ]
            rng.shuffle(candidates)
            done = 0
            for unit, club in candidates:
                if done >= count:
                    break
                months = [m for m in range(2, 12) if unit.valid_in(year, m)]
                group = SPORT_TYPES if club_type in SPORT_TYPES else WASTE_TYPES
                alive = sum(
                    1
                    for c in self.clubs[unit.version_id]
                    if c.club_type in group and c.dissolved is None and c.listed((year, 1))
                )
                if not months or alive < 2:
                    continue
                club.dissolved = (year, rng.choice(months))
                done += 1
        if first and self.calibrated and year == CALIBRATION_YEAR:
            self._calibrate_waste_members(rng, year)

    def _open_registers(self, rng: Random, year: int, units: list[Unit]) -> None:
        """Clubs that exist before the first month: December stock - new + dissolved of the table."""
        table = CALIBRATION_2023["clubs"]
        if not units:
            return
        opening = {
            t: self.scaled(table[t]["december"] - table[t]["new"] + table[t]["dissolved"], year)
            for t in SPORT_TYPES + WASTE_TYPES
        }
        share = CALIBRATION_2023["placements"]["waste_model_units"] / CALIBRATION_UNIT_COUNT
        waste_count = min(len(units), round(len(units) * share))
        # Units without waste models are the smaller, remoter ones more often.
        self.waste_units = {u.version_id for u in weighted_sample(rng, units, [u.weight for u in units], waste_count)}
        waste_units = [u for u in units if u.version_id in self.waste_units]
        weights = [u.weight * rng.lognormvariate(0, 0.35) for u in units]
        plan: dict[str, list[int]] = {}
        # Every unit runs at least one folk-dance club: the movement reaches 177/177 units.
        plan["folk_dance"] = [1 + n for n in apportion(max(0, opening["folk_dance"] - len(units)), weights)]
        plan["air_volleyball"] = apportion(opening["air_volleyball"], [w * rng.uniform(0.5, 1.5) for w in weights])
        plan["women_football"] = apportion(opening["women_football"], [w**2 for w in weights])
        waste_weights = [u.weight * rng.lognormvariate(0, 0.5) for u in waste_units]
        plan["waste_sorting_model"] = [
            1 + n for n in apportion(max(0, opening["waste_sorting_model"] - len(waste_units)), waste_weights)
        ]
        plan["waste_to_money_model"] = apportion(
            opening["waste_to_money_model"], [w * rng.uniform(0.3, 1.7) for w in waste_weights]
        )
        for club_type in SPORT_TYPES:
            for unit, number in zip(units, plan[club_type], strict=True):
                for _ in range(number):
                    self._new_opening_club(rng, unit, club_type, year)
        for club_type in WASTE_TYPES:
            for unit, number in zip(waste_units, plan[club_type], strict=True):
                for _ in range(number):
                    self._new_opening_club(rng, unit, club_type, year)
        if not self.name.startswith("synthetic") and self.calibrated and year == CALIBRATION_YEAR:
            self._article_opening(rng, units)

    def _new_opening_club(
        self, rng: Random, unit: Unit, club_type: str, year: int, members: int | None = None, name: str | None = None
    ) -> Club:
        club = self._new_club(rng, unit, club_type, members=members, name=name)
        if club_type in SPORT_TYPES + WASTE_TYPES and rng.random() < 0.3 and club.members > 3:
            club.members_before = club.members - rng.randint(1, 3)
            club.members_change = (year, rng.randint(2, 12))
        return club

    def _units_in(self, units: list[Unit], districts, unit_type: str | None = None) -> list[Unit]:
        return [u for u in units if u.district in districts and (unit_type is None or u.unit_type == unit_type)]

    def _article_opening(self, rng: Random, units: list[Unit]) -> None:
        """Children's clubs and models the article says are maintained (they exist before 2023)."""
        places = CALIBRATION_2023["placements"]
        for club_type in ("friendly_club", "child_rights_club", "early_childhood_model"):
            for district, count in places[club_type].items():
                pool = self._units_in(units, (district,), None)
                if club_type != "early_childhood_model":  # children's clubs meet in towns
                    pool = [u for u in pool if u.unit_type != "Xã"] or pool
                for unit in rng.sample(pool, min(count, len(pool))):
                    self._new_club(rng, unit, club_type, name=self._special_name(unit, club_type))

    def _special_name(self, unit: Unit, club_type: str, index: int = 0) -> str:
        short = unit.short_name
        if club_type == "friendly_club":
            return f"CLB Thân thiện {short}"
        if club_type == "child_rights_club":
            return f"CLB Quyền trẻ em Trường THCS {short}"
        if club_type == "early_childhood_model":
            return f"Mô hình Chăm sóc và giáo dục phát triển toàn diện trẻ thơ {short}"
        if club_type == "change_leader_club":
            school = ("Trường TH-THCS", "Trường THCS", "Trường TH")[index % 3]
            suffix = " 2" if short == "Đại Dực" and index == 0 else ""  # the club in the article's photo
            return f"CLB Thủ lĩnh của sự thay đổi {school} {short}{suffix}"
        return f"{club_type} {short}"

    def _article_clubs(self, rng: Random, year: int, cells: list[tuple[Unit, int]]) -> None:
        """The new children's clubs and models of 2023, where the article puts them."""
        places = CALIBRATION_2023["placements"]
        members = CALIBRATION_2023["members"]
        units = sorted({u.version_id: u for u, _m in cells}.values(), key=lambda u: u.code)
        knit = places["knit_for_children"]
        for unit in units:
            if unit.name == knit["unit_name"] and unit.district == knit["district"]:
                self._new_club(
                    rng,
                    unit,
                    "knit_for_children",
                    members=members["knit_for_children"],
                    name="Mô hình Đan áo cho em khu 5B",
                    founded=(year, knit["month"]),
                )
        leader = places["change_leader_club"]
        communes = self._units_in(units, leader["districts"], "Xã")
        chosen: list[Unit] = [u for u in communes if u.name == leader["must_include"]]
        for district in leader["districts"]:  # one commune in each district, then the rest anywhere
            if not any(u.district == district for u in chosen):
                pool = [u for u in communes if u.district == district]
                chosen += rng.sample(pool, 1) if pool else []
        rest = [u for u in communes if u not in chosen]
        chosen += rng.sample(rest, max(0, min(len(rest), leader["communes"] - len(chosen))))
        chosen.sort(key=lambda u: u.code)
        count = CALIBRATION_2023["clubs"]["change_leader_club"]["new"]
        per_commune = [1] * len(chosen)
        for index in rng.sample(range(len(chosen)), max(0, count - len(chosen))):
            per_commune[index] += 1
        low, high = members["change_leader_club"]
        for unit, number in zip(chosen, per_commune, strict=True):
            for index in range(number):
                self._new_club(
                    rng,
                    unit,
                    "change_leader_club",
                    members=rng.randint(low, high),
                    name=self._special_name(unit, "change_leader_club", index),
                    founded=(year, rng.randint(3, 11)),
                )

    def _recurring_models(self, rng: Random, year: int, cells: list[tuple[Unit, int]]) -> None:
        """Border-women programme: livestock models (Bình Liêu) and Red Cross funded models."""
        places = CALIBRATION_2023["placements"]
        table = CALIBRATION_2023["clubs"]
        for club_type in ("livestock_model", "border_econ_model"):
            count = table[club_type]["new"] if year == CALIBRATION_YEAR else self.scaled(table[club_type]["new"], year)
            eligible = [(u, m) for u, m in cells if u.district in places[club_type] and 3 <= m <= 11]
            if not eligible or not count:
                continue
            members = CALIBRATION_2023["members"]["livestock_model"] if club_type == "livestock_model" else None
            weights = [rng.lognormvariate(0, 0.6) for _ in eligible]
            for (unit, month), number in zip(eligible, apportion(count, weights), strict=True):
                for _ in range(number):
                    self._new_club(rng, unit, club_type, members=members, founded=(year, month))

    def _calibrate_waste_members(self, rng: Random, year: int) -> None:
        """Members of the waste models maintained at December add up to the table's total."""
        december = (year, 12)
        alive = [
            c
            for u in self.units
            for c in self.clubs[u.version_id]
            if c.club_type in WASTE_TYPES and c.listed(december) and c.dissolved is None
        ]
        total = CALIBRATION_2023["members"]["waste_models_december"]
        floor = 20
        shares = apportion(total - floor * len(alive), [rng.lognormvariate(0, 0.6) for _ in alive])
        for club, extra in zip(alive, shares, strict=True):
            club.members = floor + extra
            if club.members_before is not None:
                club.members_before = max(1, club.members - rng.randint(1, 3))

    def _listed_count(self, unit: Unit, club_type: str, ym: tuple[int, int]) -> int:
        return sum(1 for c in self.clubs[unit.version_id] if c.club_type == club_type and c.listed(ym))

    # values ---------------------------------------------------------------------------------
    def _plan_values(self, year: int, cells: list[tuple[Unit, int]]) -> list[dict[tuple[str, str], int]]:
        rng = _stream(self.seed, self.name, "values", year)
        flows = CALIBRATION_2023["flows"]
        values: list[dict[tuple[str, str], int]] = [{} for _ in cells]

        def spread(key: tuple[str, str], total: int, weights: list[float], step: int = 1) -> None:
            if not any(weights):
                weights = [1.0] * len(weights)
            for row, amount in zip(values, apportion(total // step, weights), strict=True):
                row[key] = amount * step

        for (code, category), target in flows.items():
            if code in DERIVED_FLOWS:
                continue
            season, kind = FLOW_PROFILES[code]
            sizes = []
            for unit, _month in cells:
                size = {
                    "busy": unit.weight,
                    "flat": unit.weight**0.5,
                    "poor": 0.15 + unit.minority,
                    "minority": unit.weight * (0.3 + unit.minority),
                }[kind]
                if category == "ethnic_minority":
                    size *= unit.minority
                elif category == "kinh":
                    size *= 1 - unit.minority
                sizes.append(size)
            # each month gets its season's share of the year whatever the number of units: 54 merged
            # communes do what 171 did (sizes that are not linear in a unit's weight would otherwise
            # drop the flows at the 2025-07-01 merger)
            month_size: dict[int, float] = {}
            for (_unit, month), size in zip(cells, sizes, strict=True):
                month_size[month] = month_size.get(month, 0.0) + size
            weights = [
                size / month_size[month] * SEASONS[season][month - 1] * rng.lognormvariate(0, 0.8)
                for (_unit, month), size in zip(cells, sizes, strict=True)
            ]
            spread((code, category), self.scaled(target, year), weights)
        # Attendances come with the classes held.
        classes = [row[("child_training_classes", "total")] for row in values]
        attendances = self.scaled(flows[("child_training_attendances", "total")], year)
        if sum(classes):
            spread(("child_training_attendances", "total"), attendances, [n * rng.uniform(0.7, 1.3) for n in classes])
        else:
            spread(("child_training_attendances", "total"), 0, [1.0] * len(cells))
        # Victims supported: those identified, a few of them not (yet) supported.
        for category in ("domestic_violence", "trafficking_returnee"):
            identified = [row[("violence_victims_identified", category)] for row in values]
            supported = list(identified)
            gap = sum(identified) - min(sum(identified), self.scaled(flows[("violence_victims_supported", category)], year))
            positions = [i for i, n in enumerate(supported) for _ in range(n)]
            for index in rng.sample(positions, min(gap, len(positions))):
                supported[index] -= 1
            for row, number in zip(values, supported, strict=True):
                row[("violence_victims_supported", category)] = number
        # Godmother funds follow the children sponsored; waste money follows the waste-to-money models.
        children = [row[("godmother_children_new", "female")] + row[("godmother_children_new", "male")] for row in values]
        step = MONEY_STEP["godmother_funds_vnd"]
        spread(
            ("godmother_funds_vnd", "total"),
            self.scaled(flows[("godmother_funds_vnd", "total")], year, step),
            [(u.weight * 0.3 + 3 * n) * rng.lognormvariate(0, 0.5) for (u, _m), n in zip(cells, children, strict=True)],
            step,
        )
        step = MONEY_STEP["waste_to_money_funds_vnd"]
        models = [self._listed_count(u, "waste_to_money_model", (year, m)) for u, m in cells]
        total = self.scaled(flows[("waste_to_money_funds_vnd", "total")], year, step)
        weights = [n * rng.lognormvariate(0, 0.5) for n in models]
        spread(
            ("waste_to_money_funds_vnd", "total"),
            total if sum(weights) else 0,
            weights if sum(weights) else [1.0] * len(cells),
            step,
        )
        # Red Cross money: a fixed amount to each border-women economic model in its founding month.
        per_model = CALIBRATION_2023["members"]["border_econ_funds_per_model_vnd"]
        for row, (unit, month) in zip(values, cells, strict=True):
            founded = sum(
                1 for c in self.clubs[unit.version_id] if c.club_type == "border_econ_model" and c.founded == (year, month)
            )
            row[("border_econ_funds_vnd", "total")] = founded * per_model
        self._plan_poor_stock(rng, year, cells, values)
        self._plan_distinct_since_january(year, cells, values)
        return values

    def _plan_distinct_since_january(self, year: int, cells, values) -> None:
        """The ytd_distinct indicators (seeds/indicators.csv): distinct people since 1 January, from
        the month's person-times. A person helped in several months counts once, so the figure grows
        slower than the months' sum and never above it.

        - poor_members_helped_ytd: of the members on the register at month end, those helped at
          least once this year. It follows the share of the year's help given so far up to the
          unit's coverage (82-100%), so it is never above the register.
        - women_entrepreneurs_supported_ytd: the women supported so far (75-95% of the
          person-times are first supports). A unit formed during the year carries the figures of
          the units it was formed from, as it carries their clubs.
        """
        by_unit: dict[str, list[int]] = {}
        for index, (unit, _month) in enumerate(cells):
            by_unit.setdefault(unit.version_id, []).append(index)
        units = sorted({u.version_id: u for u, _m in cells}.values(), key=lambda u: (u.valid_from, u.code))
        carried: dict[str, list[float]] = {}  # version_id -> [help given, women supported] so far
        for unit in units:
            indices = sorted(by_unit[unit.version_id], key=lambda i: cells[i][1])
            profile = _stream(self.seed, self.name, "distinct", unit.version_id, year)
            coverage, first_supports = profile.uniform(0.82, 1.0), profile.uniform(0.75, 0.95)
            helped_so_far, supported = carried.get(unit.version_id, (0.0, 0.0))
            # the help this unit will have given by December, its months so far extrapolated to the end
            # of the year (a unit that ends in June has half of it done), plus what it carries
            own_help = sum(values[i][("poor_members_helped", "total")] for i in indices)
            year_help = helped_so_far + own_help * (13 - cells[indices[0]][1]) / len(indices) or 1
            for i in indices:
                helped_so_far += values[i][("poor_members_helped", "total")]
                register = values[i][("poor_members_total", "total")]
                values[i][("poor_members_helped_ytd", "total")] = min(
                    register, round(helped_so_far), round(register * coverage * min(1.0, helped_so_far / year_help))
                )
                supported += first_supports * values[i][("women_entrepreneurs_supported", "total")]
                values[i][("women_entrepreneurs_supported_ytd", "total")] = round(supported)
            if unit.valid_to is not None and unit.valid_to.year == year:
                self._hand_on(unit, carried, helped_so_far, supported)

    def _plan_poor_stock(self, rng: Random, year: int, cells, values) -> None:
        """Members of poor households on the register: declines through the year to the December total."""
        key = ("poor_members_total", "total")
        december_units = sorted({u.version_id: u for u, m in cells if m == 12}.values(), key=lambda u: u.code)
        # Poverty falls over the years while activity grows: undo the growth, then decline.
        target = round(
            self.scaled(CALIBRATION_2023["stocks"][key], year)
            * (POOR_DECLINE_PER_YEAR / GROWTH_PER_YEAR) ** (year - CALIBRATION_YEAR)
        )
        weights = [(0.1 + u.minority) * rng.lognormvariate(0, 0.5) for u in december_units]
        december = dict(zip((u.version_id for u in december_units), apportion(target, weights), strict=True))
        first_month = {}
        for unit, month in cells:
            first_month[unit.version_id] = min(month, first_month.get(unit.version_id, 12))
        handed_on: dict[str, list[float]] = {}  # a unit formed this year starts with its predecessors' register
        # units that end this year first, so what they hand on is known when their successors start
        for index in sorted(range(len(cells)), key=lambda i: (cells[i][0].valid_from, cells[i][0].code, cells[i][1])):
            row, (unit, month) = values[index], cells[index]
            end = december.get(unit.version_id)
            start = self.poor_stock.get(unit.version_id)
            if start is None and unit.version_id in handed_on:
                start = round(handed_on[unit.version_id][0])
                self.poor_stock[unit.version_id] = start
            if start is None:
                base = end if end is not None else round(target / max(1, len(december_units)))
                start = base + round(base * _stream(self.seed, self.name, "poor", unit.version_id).uniform(0.15, 0.5))
                self.poor_stock[unit.version_id] = start
            begin = first_month[unit.version_id]
            if end is None:  # a unit that ends before December declines as the province does
                end = round(start * POOR_DECLINE_PER_YEAR)
            elif unit.version_id in handed_on and begin > 1:
                # formed this year from its predecessors' registers: it goes on declining from
                # them at the province's pace, not towards a share of the province's December
                # total drawn at random (which fell 38 -> 24 in two months after a merger)
                end = round(start * POOR_DECLINE_PER_YEAR ** ((13 - begin) / 12))
            # from the register it started the year (or its first month) with, to December's
            row[key] = start + round((end - start) * (month - begin + 1) / (13 - begin))
            if unit.valid_to is not None and (unit.valid_to.year, unit.valid_to.month) == (year, month + 1):
                self._hand_on(unit, handed_on, row[key])
        for unit_id, end in december.items():
            self.poor_stock[unit_id] = end

    # submissions ----------------------------------------------------------------------------
    def _plan_submissions(self, year: int, cells, values) -> dict[tuple[str, int], CellPlan]:
        rng = _stream(self.seed, self.name, "submissions", year)
        late = set(rng.sample(range(len(cells)), round(LATE_SHARE * len(cells))))
        resubmitted = set(rng.sample(range(len(cells)), round(RESUBMISSION_SHARE * len(cells))))
        formats = sorted(self.mix)
        plans: dict[tuple[str, int], CellPlan] = {}
        for index, ((unit, month), row) in enumerate(zip(cells, values, strict=True)):
            fmt = self.preferred_format[unit.version_id]
            if rng.random() < 0.1:
                fmt = rng.choices(formats, weights=[self.mix[f] for f in formats])[0]
            first_at = _submission_time(rng, year, month, index in late)
            title = self.reporter_choice[unit.version_id]
            if rng.random() < 0.08:
                title = (title + 1) % len(REPORTER_TITLES)
            plan = CellPlan(
                values=row,
                fmt=fmt,
                submitted_at=first_at,
                late=index in late,
                reporter=REPORTER_TITLES[title].format(level=unit.level_word),
                omit_zero_rows=self.omits_zero_rows[unit.version_id],
            )
            if index in resubmitted:
                plan.resubmission = {
                    "first_at": first_at,
                    "kind": rng.choice(("value", "value", "club")),
                    "pick": rng.random(),
                }
                plan.submitted_at = first_at + timedelta(
                    days=rng.randint(1, 6), hours=rng.randint(0, 5), minutes=rng.randint(0, 59)
                )
            plans[(unit.version_id, month)] = plan
        return plans

    def submission(self, unit: Unit, year: int, month: int, plan: CellPlan) -> dict:
        """The corrected (current) report of one unit and month as a submission dict."""
        ym = (year, month)
        rows = [
            {"indicator_code": code, "category": category, "value": plan.values.get((code, category), 0)}
            for code, category, _label, _unit in indicator_catalogue()
        ]
        if plan.omit_zero_rows and plan.fmt != "xlsx":
            rows = [row for row in rows if row["value"]]
        clubs = []
        for club in self.clubs[unit.version_id]:
            if club.listed(ym):
                status = club.status(ym)
                clubs.append(
                    {
                        "club_id": club.club_id,
                        "club_type": club.club_type,
                        "club_name": club.name,
                        "status": STATUS_WORDS_VI[status] if plan.fmt == "xlsx" else status,
                        "members": club.members_on(ym),
                    }
                )
        return {
            "header": {
                "unit_code": unit.code,
                "period": f"{year:04d}-{month:02d}",
                "submitted_at": plan.submitted_at.isoformat(),
                "reporter": plan.reporter,
                "template_version": CONTRACT_VERSION,
            },
            "values": rows,
            "clubs": clubs,
        }


def _submission_time(rng: Random, year: int, month: int, late: bool) -> datetime:
    """When the report arrives: usually in the first days of the next month, before the 10th."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    if late:
        if rng.random() < 0.85:
            day = date(next_year, next_month, rng.randint(DEADLINE_DAY + 1, 28))
        else:
            after_year, after_month = (next_year + 1, 1) if next_month == 12 else (next_year, next_month + 1)
            day = date(after_year, after_month, rng.randint(1, 20))
    elif rng.random() < 0.15:
        last = (date(next_year, next_month, 1) - timedelta(days=1)).day
        day = date(year, month, rng.randint(last - 5, last))
    else:
        day = date(next_year, next_month, rng.choices(range(1, DEADLINE_DAY + 1), weights=(3, 5, 8, 9, 9, 9, 8, 6, 4, 3))[0])
    if rng.random() < 0.08:
        hour = rng.randint(19, 22)
    else:
        hour = rng.choices(range(7, 18), weights=(3, 8, 9, 9, 6, 2, 5, 8, 8, 7, 4))[0]
    return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), tzinfo=VIETNAM_TIME)


def _first_version(submission: dict, plan: CellPlan) -> dict:
    """The earlier, wrong version of a resubmitted report: a typo in one value, or a club forgotten."""
    wrong = {
        "header": dict(submission["header"]),
        "values": [dict(r) for r in submission["values"]],
        "clubs": [dict(c) for c in submission["clubs"]],
    }
    wrong["header"]["submitted_at"] = plan.resubmission["first_at"].isoformat()
    pick = plan.resubmission["pick"]
    if plan.resubmission["kind"] == "club" and wrong["clubs"]:
        wrong["clubs"].pop(int(pick * len(wrong["clubs"])))
        return wrong
    rows = [r for r in wrong["values"] if r["value"]] or wrong["values"]
    if rows:
        row = rows[int(pick * len(rows))]
        row["value"] = row["value"] * 10 if row["value"] else 5  # an extra zero typed
    elif wrong["clubs"]:
        wrong["clubs"].pop()
    return wrong


# --- faults -------------------------------------------------------------------------------------
_FAKE_PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n% Scanned report\ntrailer\n"
    b"<< /Root 1 0 R >>\n%%EOF\n"
)
_FAKE_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)


@dataclass
class _Written:
    name: str
    fmt: str
    submission: dict
    content: bytes


class _Reservoir:
    """A fixed-size, seeded sample of the written reports that faults are made from."""

    def __init__(self, rng: Random, size: int):
        self.rng, self.size, self.seen, self.items = rng, size, 0, []

    def offer(self, item: _Written) -> None:
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            slot = self.rng.randrange(self.seen + 1)
            if slot < self.size:
                self.items[slot] = item
        self.seen += 1


def _dotted(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def _shift(submission: dict, **delta) -> dict:
    copy = {
        "header": dict(submission["header"]),
        "values": [dict(r) for r in submission["values"]],
        "clubs": [dict(c) for c in submission["clubs"]],
    }
    moment = datetime.fromisoformat(copy["header"]["submitted_at"]) + timedelta(**delta)
    copy["header"]["submitted_at"] = moment.isoformat()
    return copy


def _row(submission: dict, code: str | None = None, minimum: int = 1) -> dict:
    """The value row of indicator ``code`` (or the largest value >= minimum), added if the report lacks it."""
    rows = submission["values"]
    if code is not None:
        found = [r for r in rows if r["indicator_code"] == code and r["category"] == "total"]
    else:
        found = sorted(
            (r for r in rows if isinstance(r["value"], int) and r["value"] >= minimum),
            key=lambda r: (-r["value"], r["indicator_code"], r["category"]),
        )
    if found:
        return found[0]
    row = {"indicator_code": code or "news_items", "category": "total", "value": 0}
    rows.append(row)
    return row


def _make_faults(
    rng: Random,
    general: list[_Written],
    future_ready: list[_Written],
    money: list[_Written],
    known_codes: set[str],
    year: int,
) -> list[tuple[str, bytes, str, str]]:
    """(file name, bytes, expected outcome, reason code) of each fault file."""
    if not general:
        return []
    bases = list(general)
    rng.shuffle(bases)
    taken: set[str] = set()

    def base(pool: list[_Written] | None = None) -> _Written:
        for item in (pool or []) + bases:
            if item.name not in taken:
                taken.add(item.name)
                return item
        return bases[0]

    faults: list[tuple[str, bytes, str, str]] = []
    # Rejected files: a first attempt, sent a few hours before the good file.
    item = base()
    sub = _shift(item.submission, hours=-3)
    code = sub["header"]["unit_code"]
    candidates = [code[:-1] + digit for digit in "7319024568"] + [code + "9"]
    bad = next(c for c in candidates if c not in known_codes)  # a mistyped last digit
    sub["header"]["unit_code"] = bad
    faults.append((f"{bad}_{sub['header']['period']}.csv", write_csv(sub), "rejected", "UNIT_UNKNOWN"))

    item = base(future_ready)
    sub = _shift(item.submission, hours=-2)
    period = sub["header"]["period"]
    future = f"{int(period[:4]) + 9}{period[4:]}"  # "2023" typed as "2032"
    sub["header"]["period"] = future
    faults.append((f"{sub['header']['unit_code']}_{future}.xlsx", write_xlsx(sub), "rejected", "PERIOD_IN_FUTURE"))

    item = base()
    sub = _shift(item.submission, hours=-5)
    row = _row(sub)
    row["value"] = f"-{row['value'] or 3}"
    faults.append((f"{_stem(item.name)}_nhap.csv", write_csv(sub), "rejected", "VALUE_NEGATIVE"))

    item = base()
    sub = _shift(item.submission, hours=-4)
    _row(sub, "child_training_attendances")["value"] = 12.5
    faults.append((f"{_stem(item.name)}_nhap.xlsx", write_xlsx(sub), "rejected", "VALUE_FRACTIONAL"))

    item = base()
    sub = _shift(item.submission, hours=-6)
    _row(sub, "news_items")["value"] = "khoảng 20"
    faults.append((f"{_stem(item.name)}_ban-nhap.xlsx", write_xlsx(sub), "rejected", "VALUE_NOT_A_NUMBER"))

    item = base()
    sub = _shift(item.submission, hours=-2)
    sub["values"].append({"indicator_code": "tin_bai_tuyen_truyen", "category": "total", "value": 4})
    faults.append((f"{_stem(item.name)}_nhap.json", write_json(sub), "rejected", "INDICATOR_UNKNOWN"))

    item = base()
    sub = _shift(item.submission, hours=-1)
    faults.append(
        (f"{_stem(item.name)}_thieu-trang.xlsx", write_xlsx(sub, omit_sheets=("clubs",)), "rejected", "SECTION_MISSING")
    )

    item = base()
    sub = _shift(item.submission, hours=-1)
    faults.append(
        (
            f"{_stem(item.name)}_sua-cot.xlsx",
            write_xlsx(sub, value_headings={"value": "Số liệu"}),
            "rejected",
            "COLUMN_MISSING",
        )
    )

    item = base(money)
    sub = _shift(item.submission, hours=-2)
    row = _row(sub, minimum=1000)
    row["value"] = f"{max(int(row['value']), 1_100_000):,}"  # "1,100,000": English grouping
    faults.append((f"{_stem(item.name)}_nhap-tien.csv", write_csv(sub), "rejected", "VALUE_AMBIGUOUS"))

    # The same file sent twice, and renamed: byte-identical to an accepted file; names sort after it.
    item = base()
    faults.append((f"{_stem(item.name)}_ban-sao.{item.fmt}", item.content, "duplicate", ""))
    item = base()
    unit, period = item.submission["header"]["unit_code"], item.submission["header"]["period"]
    faults.append((f"Bao cao thang {period[5:]}-{period[:4]} {unit}.{item.fmt}", item.content, "duplicate", ""))

    # Accepted re-encodings of a real report, resent a day later with the very same values.
    item = base()
    faults.append(
        (
            f"{_stem(item.name)}_gui-lai.csv",
            write_csv(_shift(item.submission, days=1, hours=2), unicode_form="NFD"),
            "accepted",
            "",
        )
    )
    item = base()
    faults.append(
        (
            f"{_stem(item.name)}_gui-lai.xlsx",
            write_xlsx(_shift(item.submission, days=1, hours=1), unicode_form="NFD"),
            "accepted",
            "",
        )
    )
    for fmt in ("xlsx", "csv"):
        item = base(money)
        sub = _shift(item.submission, days=2)
        for row in sub["values"]:
            row["value"] = _dotted(row["value"])
        for club in sub["clubs"]:
            club["members"] = _dotted(club["members"])
        writer = write_xlsx if fmt == "xlsx" else write_csv
        faults.append((f"{_stem(item.name)}_gui-lai-so.{fmt}", writer(sub), "accepted", ""))

    # Files that cannot be read at all.
    item = base()
    faults.append((f"{_stem(item.name)}_loi.xlsx", b"", "rejected", "FILE_EMPTY"))
    item = base()
    content = write_xlsx(item.submission)
    faults.append((f"{_stem(item.name)}_tai-loi.xlsx", content[: len(content) * 3 // 5], "rejected", "FILE_CORRUPT"))
    item = base()
    faults.append((f"{_stem(item.name)}_scan.xlsx", _FAKE_PDF, "rejected", "FILE_TYPE_MISMATCH"))
    item = base()
    faults.append((f"{_stem(item.name)}_anh.xlsx", _FAKE_PNG, "rejected", "FILE_TYPE_MISMATCH"))
    item = base()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("word/document.xml", date_time=(year, 1, 1, 0, 0, 0))
        archive.writestr(info, "<w:document>Báo cáo tháng</w:document>")
    faults.append((f"{_stem(item.name)}.docx", buffer.getvalue(), "rejected", "FILE_FORMAT_UNSUPPORTED"))
    return faults


# --- generate -----------------------------------------------------------------------------------
def _window(year: int, months: int) -> list[tuple[int, int]]:
    return [(year + (index // 12), index % 12 + 1) for index in range(months)]


def _check_mix(mix: dict[str, float]) -> dict[str, float]:
    unknown = set(mix) - set(DEFAULT_MIX)
    if unknown or not mix or any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"format mix must give non-negative shares of xlsx, csv, json, not {mix!r}")
    total = sum(mix.values())
    return {fmt: share / total for fmt, share in sorted(mix.items()) if share > 0}


def generate(
    out_dir: Path,
    *,
    year: int = CALIBRATION_YEAR,
    seed: int = 20231,
    months: int = 12,
    units: int | None = None,
    formats: dict[str, float] | None = None,
    faults: bool = False,
    write_file: Callable[[str, bytes], None] | None = None,
) -> GenerationReport:
    """Write the submissions of ``units`` grassroots units for ``months`` months from January of ``year``.

    ``write_file(name, content)``, if given, receives every file instead of ``out_dir``: the
    benchmark loads years of history straight into the raw layer without a file per report."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be 1..{MAX_MONTHS}, not {months}")
    if units is not None and not 1 <= units <= MAX_UNITS:
        raise ValueError(f"units must be 1..{MAX_UNITS}, not {units}")
    mix = _check_mix(dict(formats or DEFAULT_MIX))
    out_dir = Path(out_dir)
    if write_file is None:
        out_dir.mkdir(parents=True, exist_ok=True)

        def write_file(name: str, content: bytes) -> None:
            (out_dir / name).write_bytes(content)

    window = _window(year, months)
    years = sorted({y for y, _m in window})

    real = load_real_units(seed)
    changes = _read_csv(SEEDS_DIR / "unit_changes.csv") if (SEEDS_DIR / "unit_changes.csv").exists() else []
    successors = successors_of(real, changes)
    reference_units = [u for u in real if u.valid_in(CALIBRATION_YEAR, 1)]
    reference_mass = sum(u.weight for u in real for m in range(1, 13) if u.valid_in(CALIBRATION_YEAR, m)) / 12
    first_month_units = [u for u in real if u.valid_in(*window[0])]
    if not first_month_units and not units:
        raise ValueError(f"no grassroots unit is valid in {window[0][0]}-{window[0][1]:02d}")

    # Which real units are written: all of them, or a seeded spread-out subset (a slice of the full set).
    selected = {u.version_id for u in real}
    synthetic: list[Unit] = []
    if units is not None and units < len(first_month_units):
        chosen = _stream(seed, "subset").sample(sorted(u.version_id for u in first_month_units), units)
        selected = set(chosen)
        for unit in sorted(real, key=lambda u: u.valid_from):
            for taker in successors.get(unit.version_id, []):
                if unit.version_id in selected:
                    selected.add(taker.version_id)
    elif units is not None and units > len(first_month_units):
        synthetic = synthetic_units(units - len(first_month_units), year, seed, reference_units)

    populations = [Population("real", real, seed, year, reference_mass, calibrated=True, successors=successors, mix=mix)]
    if synthetic:
        populations.append(
            Population("synthetic", synthetic, seed, year, reference_mass, calibrated=False, successors={}, mix=mix)
        )

    files_per_format = dict.fromkeys(mix, 0)
    outcomes: list[tuple[str, str, str]] = []
    submissions = resubmissions = late = 0
    fault_rng = _stream(seed, "faults")
    general, future_ready, money = (_Reservoir(fault_rng, 24), _Reservoir(fault_rng, 2), _Reservoir(fault_rng, 4))
    known_codes = {u.code for u in real} | {u.code for u in synthetic}
    open_codes = {u.code for u in real if u.valid_to is None}

    for plan_year in years:
        for population in populations:
            plans = population.plan_year(plan_year)
            for unit in population.units:
                if unit.version_id not in selected and not unit.synthetic:
                    continue
                for month in range(1, 13):
                    plan = plans.get((unit.version_id, month))
                    if plan is None or (plan_year, month) not in window:
                        continue
                    submission = population.submission(unit, plan_year, month, plan)
                    stem = f"{unit.code}_{plan_year:04d}-{month:02d}"
                    submissions += 1
                    late += plan.late
                    writer = {"xlsx": write_xlsx, "csv": write_csv, "json": write_json}[plan.fmt]
                    if plan.resubmission is not None:
                        resubmissions += 1
                        first = f"{stem}.{plan.fmt}"
                        write_file(first, writer(_first_version(submission, plan)))
                        outcomes.append((first, "accepted", ""))
                        files_per_format[plan.fmt] += 1
                        name = f"{stem}_v2.{plan.fmt}"
                    else:
                        name = f"{stem}.{plan.fmt}"
                    content = writer(submission)
                    write_file(name, content)
                    outcomes.append((name, "accepted", ""))
                    files_per_format[plan.fmt] += 1
                    if faults and plan.resubmission is None:
                        item = _Written(name, plan.fmt, submission, content)
                        general.offer(item)
                        if unit.code in open_codes:
                            future_ready.offer(item)
                        if any(isinstance(r["value"], int) and r["value"] >= 1000 for r in submission["values"]):
                            money.offer(item)

    fault_files = (
        _make_faults(fault_rng, general.items, future_ready.items, money.items, known_codes, year) if faults else []
    )
    for name, content, outcome, reason in fault_files:
        write_file(name, content)
        outcomes.append((name, outcome, reason))
    if faults:
        buffer = io.StringIO()
        writer_csv = csv.writer(buffer, lineterminator="\n")
        writer_csv.writerow(("file_name", "expected_outcome", "reason_code"))
        writer_csv.writerows(sorted(outcomes))
        write_file(EXPECTED_OUTCOMES_FILE, buffer.getvalue().encode("utf-8"))
    return GenerationReport(
        out_dir=out_dir,
        files_per_format=files_per_format,
        submissions=submissions,
        resubmissions=resubmissions,
        late=late,
        faults=len(fault_files),
        synthetic_units=synthetic_unit_rows(synthetic),
        expected_outcomes=sorted(outcomes),
    )


# --- command line -------------------------------------------------------------------------------
def _parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        fmt, _, share = part.partition("=")
        try:
            mix[fmt.strip().lower()] = float(share)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--mix wants xlsx=0.4,csv=0.3,json=0.3, not {text!r}") from None
    try:
        return _check_mix(mix)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bounded(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, not {text!r}")
        return value

    return parse


def build_parser(prog: str = "qnwu generate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Write synthetic monthly submissions of the grassroots units (calibrated to the 2023 article "
            "for the real 177 units and 12 months of 2023)."
        ),
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the submission files into")
    parser.add_argument(
        "--year", type=_bounded(2023, 2100), default=CALIBRATION_YEAR, help="first year (January) of the data (default 2023)"
    )
    parser.add_argument("--seed", type=int, default=20231, help="random seed (default 20231)")
    parser.add_argument(
        "--months",
        type=_bounded(1, MAX_MONTHS),
        default=12,
        help=f"number of months from January of --year (1..{MAX_MONTHS}, default 12)",
    )
    parser.add_argument(
        "--units",
        type=_bounded(1, MAX_UNITS),
        default=None,
        help=f"number of units (default: the real ones; beyond them synthetic 9xxxx units, up to {MAX_UNITS})",
    )
    parser.add_argument(
        "--mix", type=_parse_mix, default=dict(DEFAULT_MIX), help="share of each format, e.g. xlsx=0.4,csv=0.3,json=0.3"
    )
    parser.add_argument("--faults", action="store_true", help="also write realistic bad files and expected_outcomes.csv")
    parser.add_argument(
        "--synthetic-units-csv",
        type=Path,
        default=None,
        help="write the synthetic unit rows (seeds/units.csv layout) to this file",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    report = generate(
        args.out_dir,
        year=args.year,
        seed=args.seed,
        months=args.months,
        units=args.units,
        formats=args.mix,
        faults=args.faults,
    )
    if args.synthetic_units_csv is not None:
        args.synthetic_units_csv.parent.mkdir(parents=True, exist_ok=True)
        with args.synthetic_units_csv.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=UNIT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(report.synthetic_units)
    print(f"{report.summary()} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
