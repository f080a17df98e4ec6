-- The published cells of a sensitive indicator (victims of violence or trafficking), at every
-- level and grain (of the units' zeros, two per sum: see unit_cells), with the sums that tie it
-- to other published cells: its scope parent (a unit's
-- month -> its district's month, or the province's when it has no district; a district's month ->
-- the province's month), its time parent (month -> quarter -> year, for districts and the province)
-- and, for a province year, the all-categories total that target progress publishes.
-- disclosure_hidden_cells chooses the cells to hide from this; the gate's audit rebuilds the same
-- sums from the published relations on its own (qnwu_warehouse/disclosure/audit.py).
-- Sensitive indicators must be flows: every sum below holds for time_aggregation = 'sum' only,
-- and the Python model refuses a sensitive stock.
-- Incremental per year (no sum crosses a year): a run rebuilds the years with a report loaded since
-- the year was built, and every year when the settings behind the cells changed (threshold,
-- sensitive indicators, target indicators, province), so that a privacy setting never lags behind
-- (macros/disclosure.sql: disclosure_years_to_build; strategy replace_disclosure_years).
with indicators as (
    select indicator_code, time_aggregation from {{ ref('dim_indicators') }}
    where is_sensitive
),

-- when each year's reports last changed: kept on the year's cells
report_years as (
    {{ disclosure_report_years() }}
),

{% if is_incremental() %}
years_to_build as (
    {{ disclosure_years_to_build() }}
),
{% endif %}

periods as (
    select * from {{ ref('dim_periods') }}
),

province as (
    select unit_code as province_code from {{ ref('dim_units') }}
    where unit_level = 'province' and valid_to is null
),

unit_cells_reported as (
    select
        facts.indicator_value_id as cell_id,
        facts.indicator_code,
        facts.category,
        periods.report_year,
        'unit' as scope_level,
        facts.unit_code as scope_code,
        'month' as period_grain,
        facts.period as period_label,
        facts.value,
        case
            when facts.district_code is not null
                then {{ rollup_cell_id(
                    "'month'", 'facts.period', "'district'", 'facts.district_code', 'facts.indicator_code', 'facts.category'
                ) }}
            else {{ rollup_cell_id(
                "'month'", 'facts.period', "'province'", 'province.province_code', 'facts.indicator_code', 'facts.category'
            ) }}
        end as scope_parent_id,
        cast(null as varchar) as time_parent_id,
        cast(null as varchar) as category_parent_id
    from {{ ref('fct_indicator_values') }} as facts
    inner join indicators on facts.indicator_code = indicators.indicator_code
    inner join periods on facts.period_start_date = periods.period_start_date
    cross join province
    {% if is_incremental() %}
    where periods.report_year in (select report_year from years_to_build)
    {% endif %}
),

-- Most units' months are 0 (a national year holds 480,000 sensitive unit cells, 98% zeros). A
-- published 0 adds nothing to its sum, so only two zeros per sum are kept, as cells that may be
-- hidden beside a small one; the rest would only slow the choice down.
unit_cells as (
    select * exclude (zero_rank)
    from (
        select
            *,
            case
                when value = 0
                    then row_number() over (
                            partition by scope_parent_id, value = 0
                            order by cell_id
                        )
            end as zero_rank
        from unit_cells_reported
    ) as ranked
    where value <> 0 or zero_rank <= 2
),

rollups as (
    select
        totals.*,
        cast(left(totals.period_label, 4) as integer) as report_year,
        periods.quarter_label
    from {{ ref('agg_indicators_by_period') }} as totals
    inner join indicators on totals.indicator_code = indicators.indicator_code
    left join periods on totals.period_grain = 'month' and totals.period_label = periods.period
    {% if is_incremental() %}
    where cast(left(totals.period_label, 4) as integer) in (select report_year from years_to_build)
    {% endif %}
),

rollup_cells as (
    select
        rollups.indicator_total_id as cell_id,
        rollups.indicator_code,
        rollups.category,
        rollups.report_year,
        rollups.scope_level,
        rollups.scope_code,
        rollups.period_grain,
        rollups.period_label,
        rollups.value,
        case
            when rollups.scope_level = 'district' and rollups.period_grain = 'month'
                then {{ rollup_cell_id(
                    "'month'", 'rollups.period_label', "'province'", 'province.province_code', 'rollups.indicator_code', 'rollups.category'
                ) }}
        end as scope_parent_id,
        case rollups.period_grain
            when 'month' then {{ rollup_cell_id(
                "'quarter'", 'rollups.quarter_label', 'rollups.scope_level', 'rollups.scope_code', 'rollups.indicator_code', 'rollups.category'
            ) }}
            when 'quarter' then {{ rollup_cell_id(
                "'year'", 'cast(rollups.report_year as varchar)', 'rollups.scope_level', 'rollups.scope_code', 'rollups.indicator_code', 'rollups.category'
            ) }}
        end as time_parent_id,
        case
            when rollups.scope_level = 'province' and rollups.period_grain = 'year'
                then {{ rollup_cell_id(
                    "'year'", 'rollups.period_label', "'province'", 'rollups.scope_code', 'rollups.indicator_code', "'all'"
                ) }}
        end as category_parent_id
    from rollups
    cross join province
),

-- the province's year over all categories: the numerator or denominator of a target
target_indicators as (
    {{ disclosure_target_indicators() }}
),

total_cells as (
    select
        {{ rollup_cell_id("'year'", 'period_label', "'province'", 'scope_code', 'indicator_code', "'all'") }} as cell_id,
        indicator_code,
        'all' as category,
        min(report_year) as report_year,
        'province' as scope_level,
        scope_code,
        'year' as period_grain,
        period_label,
        sum(value) as value,
        cast(null as varchar) as scope_parent_id,
        cast(null as varchar) as time_parent_id,
        cast(null as varchar) as category_parent_id
    from rollup_cells
    where scope_level = 'province' and period_grain = 'year'
        and indicator_code in (select indicator_code from target_indicators)
    group by indicator_code, scope_code, period_label
),

cells as (
    select * from unit_cells
    union all
    select * from rollup_cells
    union all
    select * from total_cells
),

final as (
    select
        cells.cell_id,
        cast(cells.indicator_code || ':' || cells.report_year as varchar) as component_id,
        cells.indicator_code,
        indicators.time_aggregation,
        cells.category,
        cells.report_year,
        cells.scope_level,
        cells.scope_code,
        cells.period_grain,
        cells.period_label,
        cast(cells.value as bigint) as value,
        coalesce(cells.value between 1 and {{ small_cell_threshold() }} - 1, false) as is_primary,
        {{ small_cell_threshold() }} as small_cell_threshold,
        cells.scope_parent_id,
        cells.time_parent_id,
        cells.category_parent_id,
        report_years.year_loaded_at,
        ({{ disclosure_cells_settings() }}) as cells_settings
    from cells
    inner join indicators on cells.indicator_code = indicators.indicator_code
    inner join report_years on cells.report_year = report_years.report_year
)

select * from final
