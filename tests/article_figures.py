"""The article's 2023 figures as queries on the marts (tests/data/reference_figures_2023.csv gives
their values and comparators), shared by the tests of the marts and of the HTML report. Imported
as `from article_figures import ...` (pytest puts tests/ on the path)."""

from __future__ import annotations

import csv
from pathlib import Path

FIGURES = Path(__file__).parent / "data" / "reference_figures_2023.csv"
YEAR = "period_grain = 'year' and period_label = '2023'"


def _indicator(code: str) -> str:
    return (
        f"select sum(value) from marts.agg_indicators_by_period where {YEAR} and scope_level = 'province' "
        f"and indicator_code = '{code}'"
    )


def _clubs(measure: str, level: str, code: str, scope: str = "scope_level = 'province'") -> str:
    return (
        f"select sum({measure}) from marts.agg_clubs_by_period where {YEAR} and {scope} "
        f"and club_category_level = '{level}' and club_category_code = '{code}'"
    )


def _districts(*names: str) -> str:
    quoted = ", ".join(f"'{n}'" for n in names)
    return (
        f"scope_level = 'district' and scope_code in (select unit_code from marts.dim_units "
        f"where unit_level = 'district' and unit_name in ({quoted}))"
    )


QUANG_TRUNG = """(select unit_code from marts.dim_units
                  where unit_level = 'grassroots' and unit_name = 'Phường Quang Trung'
                    and district_name = 'Thành phố Uông Bí' and valid_from <= date '2023-12-01')"""
DECEMBER_CHANGE_LEADERS = """from marts.fct_club_snapshots where period = '2023-12'
                             and club_type_code = 'change_leader_club' and is_open_at_period_end"""

FIGURE_SQL = {
    "news_items": _indicator("news_items"),
    "news_reports": _indicator("news_reportages"),
    "child_training_classes": _indicator("child_training_classes"),
    "child_training_attendances": _indicator("child_training_attendances"),
    "contest_entries": _indicator("gender_contest_entries"),
    "godmother_children_2023": _indicator("godmother_children_new"),
    "godmother_funds_vnd_2023": "select sum(amount_vnd) from marts.fct_funds where period like '2023-%' "
    "and indicator_code = 'godmother_funds_vnd'",
    "women_household_support": _indicator("household_economy_women_supported"),
    "waste_to_money_funds_vnd": _indicator("waste_to_money_funds_vnd"),
    "border_econ_funds_vnd": f"select sum(value) from marts.agg_indicators_by_period where {YEAR} and "
    f"{_districts('Huyện Bình Liêu', 'Huyện Hải Hà')} and indicator_code = 'border_econ_funds_vnd'",
    "friendly_clubs": _clubs("clubs_open_at_period_end", "type", "friendly_club"),
    "child_rights_clubs": _clubs("clubs_open_at_period_end", "type", "child_rights_club"),
    "early_childhood_models": _clubs("clubs_open_at_period_end", "type", "early_childhood_model"),
    "knit_for_children_models_new": "select count(distinct club_id) from marts.fct_club_snapshots "
    f"where unit_code = {QUANG_TRUNG} and period like '2023-%' "
    "and club_type_code = 'knit_for_children' and is_new",
    "knit_for_children_members": "select sum(members) from marts.fct_club_snapshots "
    f"where unit_code = {QUANG_TRUNG} and period = '2023-12' "
    "and club_type_code = 'knit_for_children' and is_open_at_period_end",
    "change_leader_clubs_new": _clubs("clubs_new_in_period", "type", "change_leader_club"),
    "change_leader_club_members_min": f"select min(members) {DECEMBER_CHANGE_LEADERS}",
    "change_leader_club_members_max": f"select max(members) {DECEMBER_CHANGE_LEADERS}",
    "sport_movement_units": _clubs("units_with_open_clubs", "group", "sport_culture"),
    "sport_culture_clubs_new": _clubs("clubs_new_in_period", "group", "sport_culture"),
    "air_volleyball_clubs": _clubs("clubs_open_at_period_end", "type", "air_volleyball"),
    "women_football_clubs": _clubs("clubs_open_at_period_end", "type", "women_football"),
    "folk_dance_clubs": _clubs("clubs_open_at_period_end", "type", "folk_dance"),
    "border_econ_models_funded": _clubs(
        "clubs_open_at_period_end", "type", "border_econ_model", _districts("Huyện Bình Liêu", "Huyện Hải Hà")
    ),
    "livestock_models": _clubs("clubs_open_at_period_end", "type", "livestock_model", _districts("Huyện Bình Liêu")),
    "livestock_model_members": _clubs("members_at_period_end", "type", "livestock_model", _districts("Huyện Bình Liêu")),
    "waste_models": _clubs("clubs_open_at_period_end", "group", "environment"),
    "waste_model_members": _clubs("members_at_period_end", "group", "environment"),
    "waste_model_units": _clubs("units_with_open_clubs", "group", "environment"),
    # The article writes 149/177 as 84,1%: it cuts the second decimal off rather than rounding.
    "waste_model_units_pct": "select floor(10 * sum(units_with_open_clubs_pct)) / 10 from marts.agg_clubs_by_period "
    f"where {YEAR} and scope_level = 'province' and club_category_level = 'group' "
    "and club_category_code = 'environment'",
    "waste_to_money_models_new": _clubs("clubs_new_in_period", "type", "waste_to_money_model"),
}

# Figures monthly unit reports cannot carry, and why.
NOT_FROM_UNIT_REPORTS = {
    "contest_entries_sent_central": "a selection made by the province union, not reported by units",
    "contest_prizes": "awarded at the national round",
    "godmother_children_cumulative": "needs 2021-2022 reports, before the data the warehouse holds",
    "target_poor_members_helped_pct": "a 2024 target: seeds/targets.csv; progress in marts.agg_target_progress",
    "target_women_entrepreneurs": "a 2024 target: seeds/targets.csv; progress in marts.agg_target_progress",
    "target_gbv_victims_supported_pct": "a 2024 target: seeds/targets.csv; progress in marts.agg_target_progress",
}


def figures() -> dict[str, dict[str, str]]:
    with FIGURES.open(encoding="utf-8", newline="") as handle:
        return {row["figure_id"]: row for row in csv.DictReader(handle)}


def meets(computed: float, value: float, comparator: str) -> bool:
    return {
        "=": computed == value,
        ">": computed > value,
        ">=": computed >= value,
        "<=": computed <= value,
        "~<": 0.97 * value <= computed <= value,
    }[comparator]
