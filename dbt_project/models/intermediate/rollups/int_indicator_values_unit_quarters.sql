-- Each unit's figures per quarter, indicator and category (macros/period_buckets.sql,
-- unit_values_per_bucket): a flow's sum, and a stock's latest value and month in the quarter.
-- agg_indicators_by_period builds an incremental run's quarters and years from these rows: a new
-- December then reads the three months of its quarter again, and four rows per unit for its year,
-- not the twelve months of the year (docs/benchmarks.md).
-- Not published: a unit's quarterly sum of a sensitive indicator would give back a hidden monthly
-- cell by subtraction (docs/privacy.md). It reads the facts, a mart, as the roll-up does.
-- Incremental: a run rebuilds the quarters that hold newly loaded reports (changed_buckets), also
-- those now left with no rows, which strategy replace_changed_quarters deletes.
-- depends_on: {{ ref('int_submissions_current_placed') }}
with periods as (
    select * from {{ ref('dim_periods') }}
),

{% if is_incremental() %}
changed as (
    {{ changed_buckets(ref('int_submissions_current_placed'), 'periods') }}
),
{% endif %}

indicator_values as (
    select unit_code, district_code, indicator_code, category, time_aggregation, period_start_date, value, loaded_at
    from {{ ref('fct_indicator_values') }}
    {% if is_incremental() %}
        where period_start_date in (
            select period_start_date from periods
            where quarter_label in (select period_label from changed where period_grain = 'quarter')
        )
    {% endif %}
),

quarter_rows as (
    select
        'quarter' as period_grain,
        periods.quarter_label as period_label,
        indicator_values.unit_code,
        indicator_values.district_code,
        indicator_values.indicator_code,
        indicator_values.category,
        indicator_values.time_aggregation,
        indicator_values.value as summed_value,
        indicator_values.value as last_value,
        indicator_values.period_start_date as last_month,
        indicator_values.period_start_date as newest_month,
        indicator_values.loaded_at as latest_loaded_at
    from indicator_values
    inner join periods on indicator_values.period_start_date = periods.period_start_date
),

unit_quarters as (
    {{ unit_values_per_bucket('quarter_rows') }}
),

final as (
    select
        cast(
            period_label || ':' || unit_code || ':' || coalesce(district_code, '-') || ':' || indicator_code || ':'
            || category as varchar
        ) as unit_quarter_value_id,
        cast(period_label as varchar) as quarter_label,
        unit_code,
        district_code,
        indicator_code,
        category,
        time_aggregation,
        summed_value,
        last_value,
        last_reported_month,
        newest_reported_month,
        latest_loaded_at
    from unit_quarters
)

select * from final
