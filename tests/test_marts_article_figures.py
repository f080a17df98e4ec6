"""The article's 2023 figures, computed by SQL on the marts from unit-level reports.

The demo data (the generator's 177 units x 12 months, with its fault files) goes through the real
ingestion and a real `dbt build` (conftest.province_2023, built once per run and shared with
test_disclosure.py); each figure of ../shared/domain/reference_figures_2023.csv that
unit reports can carry is then one query on the marts, checked against the article's value and
comparator. Nothing here knows the generator's calibration.
"""

from __future__ import annotations

import duckdb
import pytest
from article_figures import FIGURE_SQL, NOT_FROM_UNIT_REPORTS, figures, meets

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def marts(province_2023):
    connection = duckdb.connect(str(province_2023 / "warehouse" / "working.duckdb"), read_only=True)
    yield connection
    connection.close()


def test_every_figure_is_computed_or_explained():
    assert set(FIGURE_SQL) | set(NOT_FROM_UNIT_REPORTS) == set(figures())
    assert not set(FIGURE_SQL) & set(NOT_FROM_UNIT_REPORTS)


@pytest.mark.parametrize("figure_id", sorted(FIGURE_SQL))
def test_article_figure_from_the_marts(marts, figure_id):
    figure = figures()[figure_id]
    computed = marts.execute(FIGURE_SQL[figure_id]).fetchone()[0]
    assert computed is not None, f"{figure_id}: the marts hold no rows for it"
    assert meets(float(computed), float(figure["value"]), figure["comparator"]), (
        f"{figure_id}: marts give {computed}, the article says {figure['comparator']} {figure['value']}"
    )


def test_target_progress_is_computed_for_2023(marts):
    rows = dict(
        marts.execute(
            "select target_code, numerator_value from marts.agg_target_progress where report_year_label = '2023'"
        ).fetchall()
    )
    assert set(rows) == {"poor_members_helped_pct", "women_entrepreneurs_supported", "violence_victims_supported_pct"}
    assert all(value and value > 0 for value in rows.values())


def test_completeness_never_exceeds_100_percent(marts):
    worst = marts.execute(
        "select max(completeness_pct), max(timeliness_pct), min(completeness_pct) from marts.agg_reporting_completeness"
    ).fetchone()
    assert worst[0] <= 100 and worst[1] <= 100 and worst[2] > 0
    province_year = marts.execute("""select reports_expected, reports_received from marts.agg_reporting_completeness
                                     where period_grain = 'year' and period_label = '2023'
                                       and scope_level = 'province'""").fetchone()
    assert province_year == (177 * 12, 177 * 12)
