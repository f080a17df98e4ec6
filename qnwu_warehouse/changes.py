"""What changed in the working marts since the live published version.

A new month on five years of history changes one month of the facts and three period buckets of
the roll-ups; checking and copying all sixty months again cost more than six times the first
month (docs/benchmarks.md). The quality gate therefore validates, and publish copies, only the
rows of the large marts that belong to a changed report or a changed period bucket; the small
marts are checked and copied whole, and the reconciliation suites still check whole history.

A report changed when its current version (submission_id, file_hash) in the working warehouse is
not the one the live version published, or when it was published and is gone. Its month, quarter
and year are the changed period buckets.

Everything is checked and copied whole when there is no live version, when it predates this
bookkeeping, or when the rules that made it differ from today's: the dbt project, the seeds, the
expectations or the small-cell threshold (their fingerprint is stored with each version). A seed
or model change followed by `dbt build --full-refresh` therefore republishes everything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from qnwu_warehouse.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR, Settings

# How a change reaches each large mart. Every row of these facts belongs to one report
# (submission_id); every row of these roll-ups to one period bucket (period_grain, period_label).
CHANGED_BY_REPORT = ("fct_indicator_values", "fct_club_snapshots", "fct_beneficiaries", "fct_funds",
                     "fct_activities")
CHANGED_BY_PERIOD_BUCKET = ("agg_indicators_by_period", "agg_clubs_by_period")


def rules_fingerprint(settings: Settings) -> str:
    """A hash of everything, besides the reports, that decides what the marts and the gate hold."""
    digest = hashlib.sha256()
    files = [DBT_PROJECT_DIR / "dbt_project.yml", *sorted((DBT_PROJECT_DIR / "models").rglob("*")),
             *sorted((DBT_PROJECT_DIR / "macros").rglob("*")), *sorted(settings.seeds_dir.glob("*.csv")),
             *sorted(EXPECTATIONS_DIR.glob("*.yml"))]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"small_cell_threshold={settings.small_cell_threshold}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ChangeSet:
    """Either everything (`whole`, with the reason) or the changed reports and period buckets, held
    in the temporary tables changed_reports(submission_id) and changed_buckets(period_grain,
    period_label) of the connection it was computed on."""
    whole: bool
    reason: str
    reports: int = 0
    buckets: int = 0

    def row_filter(self, table: str, qualifier: str = "") -> str:
        """A WHERE condition keeping the rows of `table` that changed ('' when all of them count)."""
        name = table.rsplit(".", 1)[-1]
        prefix = f"{qualifier}." if qualifier else ""
        if self.whole:
            return ""
        if name in CHANGED_BY_REPORT:
            return f"{prefix}submission_id in (select submission_id from changed_reports)"
        if name in CHANGED_BY_PERIOD_BUCKET:
            return (f"({prefix}period_grain, {prefix}period_label) in "
                    "(select period_grain, period_label from changed_buckets)")
        return ""

    def as_dict(self) -> dict[str, object]:
        return {"whole": self.whole, "reason": self.reason, "changed_reports": self.reports,
                "changed_period_buckets": self.buckets}


def _quoted(catalog: str) -> str:
    """A catalog name as SQL: published files are named after their run id, which may hold '-'."""
    return '"' + catalog.replace('"', '""') + '"'


def live_fingerprint(con, published: str) -> str | None:
    """The rules fingerprint stored with the published version attached as `published`, if any."""
    has_column = con.execute(
        "select count(*) from duckdb_columns() where database_name = ? and schema_name = 'meta' "
        "and table_name = 'publication' and column_name = 'rules_fingerprint'", [published]).fetchone()[0]
    if not has_column:
        return None
    return con.execute(f"select rules_fingerprint from {_quoted(published)}.meta.publication").fetchone()[0]


def changes_since(con, settings: Settings, working: str, published: str | None) -> ChangeSet:
    """The change set between the working marts (catalog `working`) and the published version
    (catalog `published`, or None when nothing is published yet), on connection `con`."""
    if published is None:
        return ChangeSet(True, "nothing published yet")
    fingerprint = live_fingerprint(con, published)
    if fingerprint is None:
        return ChangeSet(True, "the live version does not record the rules it was made with")
    if fingerprint != rules_fingerprint(settings):
        return ChangeSet(True, "the dbt project, seeds, expectations or small-cell threshold changed since "
                               "the live version")
    working, published = _quoted(working), _quoted(published)
    con.execute(f"""create or replace temp table changed_report_versions as
        (select submission_id, file_hash, period from {working}.intermediate.int_submissions_current_placed
         except
         select submission_id, file_hash, period from {published}.meta.published_submissions)
        union all
        (select submission_id, file_hash, period from {published}.meta.published_submissions
         except
         select submission_id, file_hash, period from {working}.intermediate.int_submissions_current_placed)""")
    con.execute("create or replace temp table changed_reports as "
                "select distinct submission_id from changed_report_versions")
    con.execute(f"""create or replace temp table changed_buckets as
        with months as (
            select distinct periods.period, periods.quarter_label, periods.report_year
            from changed_report_versions
            inner join {working}.marts.dim_periods as periods on changed_report_versions.period = periods.period
        )
        select distinct 'month' as period_grain, period as period_label from months
        union select distinct 'quarter', quarter_label from months
        union select distinct 'year', cast(report_year as varchar) from months""")
    reports = con.execute("select count(*) from changed_reports").fetchone()[0]
    buckets = con.execute("select count(*) from changed_buckets").fetchone()[0]
    return ChangeSet(False, "reports changed since the live version", reports, buckets)

