"""What changed in the working marts since the live published version.

A new month on five years of history changes one month of the facts and three period buckets of
the roll-ups; checking and copying all sixty months again cost more than six times the first
month (docs/benchmarks.md). The quality gate therefore validates, and publish copies, only the
rows of the large marts that belong to a changed report or a changed period bucket; the small
marts are checked and copied whole, and two reconciliation suites still check all of history.

A report changed when its current version (submission_id, file_hash) in the working warehouse is
not the one the live version published, or when it was published and is gone. Its month, quarter
and year are the changed period buckets.

Everything is checked and copied whole when there is no live version, when it predates this
bookkeeping, or when the rules that made it differ from today's: the dbt project, the seeds, the
expectations or the small-cell threshold (their fingerprint is stored with each version). A seed
or model change followed by `qnwu rebuild` therefore republishes everything. A change made to
the working marts outside any load (a repair by hand) is not a changed report: run with
QNWU_REVALIDATE_ALL=true then. The whole-history reconciliations (reconcile_raw_to_facts,
reconcile_submissions_to_facts) catch facts that no longer match raw on the next full sweep
(at least every QNWU_FULL_SWEEP_HOURS; quality.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from qnwu_warehouse.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR, Settings, revalidate_all
from qnwu_warehouse.warehouse import quoted_identifier

# How a change reaches a row. Each row of a table of kind
# - "report" belongs to one report (submission_id, which is unit_code:period) and carries its
#   month (period);
# - "period_bucket" to one month, quarter or year (period_grain, period_label);
# - "month" to one month (period, YYYY-MM: a month's expected reports change with its reports);
# - "file" to one received file (file_hash): a file changed when it was received since, or when
#   its report changed (a new version supersedes the old file).
# Each mart says its kind in its own properties (`config: meta: changed_by`, dbt_project/models/
# marts/*/_*__models.yml), which the dbt tests' row filter reads too (macros/new_rows_under_test.sql);
# here it is read from the manifest of the build the gate and publish work on. A suite of
# expectations/ may say which kind its rows are (changed_by), so that it too checks only the
# changed rows.
CHANGED_BY_KINDS = ("report", "period_bucket", "month", "file")


def models_meta(settings: Settings) -> list[tuple[str, dict]]:
    """Each model's relation name (alias, else model name) and `config: meta`, from the manifest of
    the last dbt build or parse. A mart and its published relation share a name."""
    manifest_path = settings.dbt_target_dir / "manifest.json"
    try:
        nodes = json.loads(manifest_path.read_text(encoding="utf-8"))["nodes"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        raise FileNotFoundError(
            f"{manifest_path}: no readable dbt manifest, so which rows of a mart a change reaches is unknown; "
            "run `qnwu build` first."
        ) from None
    return [
        (node.get("alias") or node["name"], node.get("config", {}).get("meta") or {})
        for node in nodes.values()
        if node.get("resource_type") == "model"
    ]


def mart_changed_by(meta: list[tuple[str, dict]]) -> dict[str, str]:
    """{mart name: its changed_by kind}, from the models' meta (models_meta)."""
    kinds = {}
    for relation, model_meta in meta:
        kind = model_meta.get("changed_by")
        if kind is not None:
            if kind not in CHANGED_BY_KINDS:
                raise ValueError(f"model {relation}: meta changed_by must be one of {CHANGED_BY_KINDS}, got {kind!r}")
            kinds[relation] = kind
    return kinds


def hidden_cell_keys(meta: list[tuple[str, dict]]) -> dict[str, str]:
    """{published relation: the column holding its cells' ids}, for the relations in which hidden
    cells are blanked (`config: meta: hidden_cell_key`, read by the macro with_suppression too)."""
    return {relation: model_meta["hidden_cell_key"] for relation, model_meta in meta if model_meta.get("hidden_cell_key")}


@dataclass(frozen=True)
class PublishedView:
    """A published relation that the published file holds as a view of another one (`of`): its rows
    are those of `of` that `where` keeps (dbt_project/macros/disclosure.sql, published_slice)."""

    of: str
    where: str


def published_views(meta: list[tuple[str, dict]]) -> dict[str, PublishedView]:
    """{published relation: PublishedView}, from the models' `config: meta: published_view`."""
    views = {}
    for relation, model_meta in meta:
        view = model_meta.get("published_view")
        if view is None:
            continue
        if not isinstance(view, dict) or not view.get("of") or not view.get("where"):
            raise ValueError(f"model {relation}: meta published_view must name `of` and `where`, got {view!r}")
        views[relation] = PublishedView(of=str(view["of"]), where=str(view["where"]))
    return views


def rules_fingerprint(settings: Settings) -> str:
    """A hash of everything, besides the reports, that decides what the marts and the gate hold."""
    digest = hashlib.sha256()
    files = [
        DBT_PROJECT_DIR / "dbt_project.yml",
        *sorted((DBT_PROJECT_DIR / "models").rglob("*")),
        *sorted((DBT_PROJECT_DIR / "macros").rglob("*")),
        *sorted(settings.seeds_dir.glob("*.csv")),
        *sorted(EXPECTATIONS_DIR.glob("*.yml")),
    ]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"small_cell_threshold={settings.small_cell_threshold}".encode())
    digest.update(f"complementary_suppression={settings.complementary_suppression}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ChangeSet:
    """Either everything (`whole`, with the reason) or what changed: the reports and files in the
    temporary tables changed_reports(submission_id) and changed_files(file_hash) of the connection
    it was computed on, and the period buckets as (period_grain, period_label) pairs."""

    whole: bool
    reason: str
    reports: int = 0
    buckets: tuple[tuple[str, str], ...] = ()
    # {mart: changed_by kind}, from the build's manifest (mart_changed_by)
    kinds: dict[str, str] = field(default_factory=dict, compare=False)
    # {published relation: its cells' id column} (hidden_cell_keys)
    cell_keys: dict[str, str] = field(default_factory=dict, compare=False)
    # {published relation: the relation the published file holds it as a view of} (published_views)
    views: dict[str, PublishedView] = field(default_factory=dict, compare=False)

    def condition(self, changed_by: str | None) -> str:
        """A WHERE condition keeping the changed rows of a `changed_by` kind of table ('' when all
        of them count: everything changed, or the table is small and taken whole)."""
        if self.whole or changed_by is None:
            return ""
        if changed_by == "file":
            return "file_hash in (select file_hash from changed_files)"
        # the buckets as literals, not a subquery: DuckDB pushes a literal filter down through a
        # suite's grouping into its scans (reconcile_facts_to_rollups: 1.4 s -> 0.7 s), and skips
        # the row groups whose months it cannot hold by their minimum and maximum
        months = [label for grain, label in self.buckets if grain == "month"]
        in_months = f"period in ({', '.join(_literal(m) for m in months)})" if months else "false"
        if changed_by == "report":
            # The reports' months beside their ids: a report's rows all carry its month, and the
            # semi-join alone reads the whole table. Publish's deletes and inserts of the changed
            # reports' rows in the five facts, a new month on five years: 1.6-1.9 s -> 0.8 s.
            return f"{in_months} and submission_id in (select submission_id from changed_reports)"
        if changed_by == "month":
            return in_months
        if not self.buckets:
            return "false"
        return (
            "(period_grain, period_label) in ("
            + ", ".join(f"({_literal(grain)}, {_literal(label)})" for grain, label in self.buckets)
            + ")"
        )

    def row_filter(self, table: str) -> str:
        """The condition for a mart, by its name (schema-qualified or not)."""
        return self.condition(self.kinds.get(table.rsplit(".", 1)[-1]))

    def as_dict(self) -> dict[str, object]:
        return {
            "whole": self.whole,
            "reason": self.reason,
            "changed_reports": self.reports,
            "changed_period_buckets": len(self.buckets),
        }


def changed_years(change_set: ChangeSet) -> set[str] | None:
    """The years holding a changed report (None: all of them). The disclosure sums never cross a
    year, so hidden cells are chosen, audited and republished per year."""
    if change_set.whole:
        return None
    return {label for grain, label in change_set.buckets if grain == "year"}


def in_years(column: str, years: set[str] | list[str]) -> str:
    """A WHERE condition: `column` (a period label: '2023', '2023-Q2', '2023-05') falls in one of
    `years`. Each year is a range of labels (2023 <= '2023-05', '2023-Q2' < 2024), which DuckDB
    checks against each row group's minimum and maximum instead of computing left(label, 4) on
    every row. `years` must be digits only (changed_years' labels); an empty set matches nothing."""
    checked = sorted(year for year in years if year.isdigit())
    if not checked:
        return "false"
    return " or ".join(f"({column} >= '{year}' and {column} < '{int(year) + 1}')" for year in checked)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def live_fingerprint(con, published: str) -> str | None:
    """The rules fingerprint stored with the published version attached as `published`, if any."""
    has_column = con.execute(
        "select count(*) from duckdb_columns() where database_name = ? and schema_name = 'meta' "
        "and table_name = 'publication' and column_name = 'rules_fingerprint'",
        [published],
    ).fetchone()[0]
    if not has_column:
        return None
    return con.execute(f"select rules_fingerprint from {quoted_identifier(published)}.meta.publication").fetchone()[0]


def reason_to_redo_all(con, settings: Settings, published: str | None) -> str | None:
    """Why everything must be tested, validated and published again, or None: only what changed."""
    if published is None:
        return "nothing published yet"
    if revalidate_all():
        return "QNWU_REVALIDATE_ALL is on"
    fingerprint = live_fingerprint(con, published)
    if fingerprint is None:
        return "the live version does not record the rules it was made with"
    if fingerprint != rules_fingerprint(settings):
        return "the dbt project, seeds, expectations or small-cell threshold changed since the live version"
    return None


def changes_since(con, settings: Settings, working: str, published: str | None) -> ChangeSet:
    """The change set between the working marts (catalog `working`) and the published version
    (catalog `published`, or None when nothing is published yet), on connection `con`."""
    meta = models_meta(settings)
    kinds, cell_keys, views = mart_changed_by(meta), hidden_cell_keys(meta), published_views(meta)
    reason = reason_to_redo_all(con, settings, published)
    if reason:
        return ChangeSet(True, reason, kinds=kinds, cell_keys=cell_keys, views=views)
    working, published = quoted_identifier(working), quoted_identifier(published)
    # The current versions on one side and not the other. One full outer join, not two EXCEPTs
    # (each hashed both sides again): the same rows, since none of the three columns is ever null
    # (a null would only count its report as changed), in half the time on five national years
    # with a cold cache (0.81-0.93 s -> 0.38-0.48 s). The gate and publish each compute it.
    con.execute(f"""create or replace temp table changed_report_versions as
        select submission_id, file_hash, period
        from (select submission_id, file_hash, period, true as in_working
              from {working}.marts.fct_submission_versions where is_current_placed) as working_versions
        full outer join (select submission_id, file_hash, period, true as in_published
                         from {published}.meta.published_submissions) as published_versions
            using (submission_id, file_hash, period)
        where in_working is null or in_published is null""")
    con.execute("create or replace temp table changed_reports as select distinct submission_id from changed_report_versions")
    # files received, or submissions loaded, after the latest load the live version holds (rejected
    # files too), and every file of a changed report
    con.execute(f"""create or replace temp table changed_files as
        with watermark as (select max(loaded_at) as loaded_at from {published}.meta.published_submissions)
        select file_hash from {working}.raw.received_files
        where received_at > (select loaded_at from watermark)
        union
        select file_hash from {working}.raw.submissions
        where loaded_at > (select loaded_at from watermark)
        union
        select file_hash from {working}.marts.fct_submission_versions
        where submission_id in (select submission_id from changed_reports)""")
    buckets = tuple(
        con.execute(f"""
        with months as (
            select distinct changed_report_versions.period, periods.quarter_label, periods.report_year
            from changed_report_versions
            left join {working}.marts.dim_periods as periods on changed_report_versions.period = periods.period
        )
        -- every changed report's month, in the calendar or not: the "report" condition reads them
        select 'month' as period_grain, period as period_label from months
        union select 'quarter', quarter_label from months where quarter_label is not null
        union select 'year', cast(report_year as varchar) from months where report_year is not null
        order by all""").fetchall()
    )
    reports = con.execute("select count(*) from changed_reports").fetchone()[0]
    return ChangeSet(False, "reports changed since the live version", reports, buckets, kinds, cell_keys, views)
