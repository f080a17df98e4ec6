"""The calibration table and the generator's constants: every figure the 2023 article gives,
and the plausible values chosen for what it does not say."""

from __future__ import annotations

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
