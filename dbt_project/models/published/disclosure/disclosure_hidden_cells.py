"""The cells hidden in the published warehouse: one row per hidden cell, primary (a sensitive count
from 1 to threshold - 1) or secondary (hidden so that no primary cell can be derived from the
published sums). The choice is made per indicator and year by qnwu_warehouse.disclosure.suppression;
the published models (models/published/) blank the value of every cell listed here.

A Python model: choosing complementary cells needs a linear-programming solver (HiGHS, through
SciPy), which SQL does not have. Set QNWU_COMPLEMENTARY_SUPPRESSION=false to hide the primary
cells only: the gate's disclosure audit then refuses to publish (tests/test_disclosure.py).

Incremental per indicator and year (no published sum crosses a year): each indicator-year carries
a fingerprint of its cells, the threshold and the setting, and only those whose fingerprint
changed are chosen again, so a new month re-chooses its own year, not five. Every chosen
indicator-year also gets one marker row (cell_id component:<id>, suppression 'none') holding its
fingerprint, so that one left with nothing to hide still replaces its old rows
(delete+insert on component_id).
"""

from collections import defaultdict


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="component_id", incremental_strategy="delete+insert", on_schema_change="fail"
    )
    from qnwu_warehouse.disclosure.suppression import choose_hidden

    complementary = str(dbt.config.get("complementary_suppression")).lower() not in ("false", "0", "no", "off")
    cells = dbt.ref("disclosure_sensitive_cells")
    fingerprints = dict(
        cells.query(
            "cells",
            f"""
        select component_id,
            cast(xor(bit_xor(hash(cell_id, value, small_cell_threshold, time_aggregation, scope_parent_id,
                                  time_parent_id, category_parent_id)), hash({complementary})) as varchar)
        from cells group by component_id""",
        ).fetchall()
    )
    previous = {}
    if dbt.is_incremental:
        previous = dict(
            session.sql(
                f"select component_id, any_value(cells_fingerprint) from {dbt.this} group by component_id"
            ).fetchall()
        )
    # an indicator-year that no longer has cells keeps its marker as "gone", and is then unchanged
    chosen = sorted(c for c in fingerprints.keys() | previous.keys() if fingerprints.get(c, "gone") != previous.get(c))
    components = defaultdict(list)
    if chosen:
        listed = ", ".join("'" + c.replace("'", "''") + "'" for c in chosen)
        selected = cells.filter(f"component_id in ({listed})")
        columns = selected.columns
        for values in selected.fetchall():
            record = dict(zip(columns, values, strict=True))
            components[record["component_id"]].append(record)
    stocks = sorted({r["indicator_code"] for rows in components.values() for r in rows if r["time_aggregation"] != "sum"})
    if stocks:
        raise ValueError(
            f"sensitive indicators must be flows (time_aggregation = sum): {stocks}; "
            "the disclosure sums do not hold for a stock"
        )
    data_dir = dbt.config.get("data_dir")
    public = already_public(f"{data_dir}/published/warehouse.duckdb" if data_dir else "", components)
    rows = []
    for component_id in chosen:
        fingerprint = fingerprints.get(component_id, "gone")
        rows.append((f"component:{component_id}", component_id, "none", fingerprint))
        records = components.get(component_id, [])
        if records:
            threshold = int(records[0]["small_cell_threshold"])
            for cell_id, kind in sorted(choose_hidden(records, threshold, complementary, public).items()):
                rows.append((cell_id, component_id, kind, fingerprint))
    # handed back as a DuckDB relation, not a DataFrame: importing pandas alone took 0.25-0.5 s of
    # every dbt build. The columns go in as four lists, unnested side by side (the same length).
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[], [], [], []]
    session.execute(
        "create or replace temp table disclosure_hidden_cells_chosen as select "
        "unnest(?::varchar[]) as cell_id, unnest(?::varchar[]) as component_id, "
        "unnest(?::varchar[]) as suppression, unnest(?::varchar[]) as cells_fingerprint",
        columns,
    )
    return session.table("disclosure_hidden_cells_chosen")


def already_public(live_file, components):
    """The cells of the indicator-years being chosen that the live published version, or any version
    in its history, showed with the value they have now: hiding them again protects nothing, so
    suppression takes none as a complement (qnwu_warehouse.disclosure.suppression.choose_hidden), and
    publish's audit across versions counts them as known (disclosure/audit.pinned_by_history).
    Read-only from the published file, which a publish never writes in place."""
    import os

    import duckdb

    if not live_file or not components or not os.path.exists(live_file):
        return set()
    values = {r["cell_id"]: r["value"] for records in components.values() for r in records}
    years = sorted({component.rsplit(":", 1)[1] for component in components})
    codes = sorted({component.rsplit(":", 1)[0] for component in components})
    published = set()
    with duckdb.connect(live_file, read_only=True) as live:
        tables = {
            f"{schema}.{table}"
            for schema, table in live.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        }
        queries = [
            f"select indicator_value_id, value from marts.{table} where value is not null "
            "and indicator_code in (select unnest(?)) and left(period, 4) in (select unnest(?))"
            for table in ("fct_indicator_values", "fct_beneficiaries")
            if f"marts.{table}" in tables
        ]
        if "history.figure_changes" in tables:  # every value any version published
            queries.append(
                "select figure_id, value from history.figure_changes where figure_table = 'agg_indicators_by_period' "
                "and not value_is_suppressed and value is not null "
                "and subject_code in (select unnest(?)) and left(period_label, 4) in (select unnest(?))"
            )
        elif "marts.agg_indicators_by_period" in tables:
            queries.append(
                "select indicator_total_id, value from marts.agg_indicators_by_period where value is not null "
                "and indicator_code in (select unnest(?)) and left(period_label, 4) in (select unnest(?))"
            )
        for query in queries:
            published.update((cell, float(value)) for cell, value in live.execute(query, [codes, years]).fetchall())
    return {cell for cell, value in published if cell in values and float(values[cell]) == value}
