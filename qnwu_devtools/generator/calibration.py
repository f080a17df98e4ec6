"""The calibration table and the generator's constants: every figure the 2023 article gives,
and the plausible values chosen for what it does not say."""

from __future__ import annotations

from pathlib import Path

import yaml


# The calibration table: the 2023 article's figures, as data (calibration_2023.yml, one comment per
# figure naming its figure_id). Flow and stock keys are "indicator_code/category" there, and
# (indicator_code, category) here; lists become tuples.
def _load_calibration(path: Path) -> dict[str, dict]:
    table = yaml.safe_load(path.read_text(encoding="utf-8"))

    def frozen(value):
        if isinstance(value, dict):
            return {key: frozen(item) for key, item in value.items()}
        return tuple(value) if isinstance(value, list) else value

    table = frozen(table)
    for section in ("flows", "stocks"):
        table[section] = {tuple(key.split("/")): total for key, total in table[section].items()}
    return table


CALIBRATION_2023: dict[str, dict] = _load_calibration(Path(__file__).with_name("calibration_2023.yml"))
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
# A dot-file: the landing zone ignores dot-files, so the answer key is never ingested as a report.
EXPECTED_OUTCOMES_FILE = ".expected_outcomes.csv"
