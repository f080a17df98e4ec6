-- Totals per indicator and category for the province and each district, by month, quarter and
-- year. Over time: flows (time_aggregation = 'sum') add up the months of the period; stocks
-- ('last') and distinct people since January ('ytd_distinct') take each unit's last reported month
-- in the period, never a sum of months, from the units that still exist at the period's end
-- (macros/aggregation_types.sql).
-- Over units: summed; units_reporting counts distinct units, not rows.
-- Incremental: a run rebuilds only the months, quarters and years that hold newly loaded reports
-- (changed_buckets in macros/period_buckets.sql), also those that now have no rows; strategy
-- replace_period_buckets deletes a bucket left empty. A month is built from its facts; a quarter
-- and a year from each unit's quarters in int_indicator_values_unit_quarters, built just before
-- from the same facts by the same rule (unit_values_per_bucket): a new December reads four rows per
-- unit for its year, not twelve months of facts. A whole build reads the months for every bucket,
-- so that every run of tests/test_dbt_idempotence.py checks one way against the other.
-- depends_on: {{ ref('int_submissions_current_placed') }}
-- depends_on: {{ ref('int_indicator_values_unit_quarters') }}
with periods as (
    select * from {{ ref('dim_periods') }}
),

{% if is_incremental() %}
changed as (
    {{ changed_buckets(ref('int_submissions_current_placed'), 'periods') }}
),
{% endif %}

indicator_values as (
    -- only the columns the roll-up reads: a whole build copies every row three times (month,
    -- quarter, year), and the facts' ids and file hashes would be copied with it
    select unit_code, district_code, indicator_code, category, time_aggregation, period_start_date, value, loaded_at
    from {{ ref('fct_indicator_values') }}
    {% if is_incremental() %}
        where period_start_date in (
            select period_start_date from periods
            where period in (select period_label from changed where period_grain = 'month')
        )
    {% endif %}
),

units as (
    select * from {{ ref('dim_units') }}
),

province as (
    select unit_code from units
    where unit_level = 'province' and valid_to is null
),

units_at_period_end as (
    {{ grassroots_units_at_bucket_end('periods', 'units') }}
),

{% if is_incremental() %}
changed_months as (
    select * from changed
    where period_grain = 'month'
),
{% endif %}

-- each fact row in its buckets: its month only in an incremental run, its month, quarter and year in a whole build
bucketed as (
    {{ period_buckets('indicator_values', 'periods', only_buckets='changed_months' if is_incremental() else none) }}
),

month_rows as (
    select
        period_grain,
        period_label,
        unit_code,
        district_code,
        indicator_code,
        category,
        time_aggregation,
        value as summed_value,
        value as last_value,
        period_start_date as last_month,
        period_start_date as newest_month,
        loaded_at as latest_loaded_at
    from bucketed
),

{% if is_incremental() %}
quarters as (
    select distinct quarter_label, cast(report_year as {{ dbt.type_string() }}) as year_label
    from periods
),

unit_quarters as (
    select
        unit_quarters.*,
        quarters.year_label
    from {{ ref('int_indicator_values_unit_quarters') }} as unit_quarters
    inner join quarters on unit_quarters.quarter_label = quarters.quarter_label
),

quarter_and_year_rows as (
    {%- for grain, label in [('quarter', 'quarter_label'), ('year', 'year_label')] %}
        select
            '{{ grain }}' as period_grain,
            {{ label }} as period_label,
            unit_code,
            district_code,
            indicator_code,
            category,
            time_aggregation,
            summed_value,
            last_value,
            last_reported_month as last_month,
            newest_reported_month as newest_month,
            latest_loaded_at
        from unit_quarters
        where {{ label }} in (select period_label from changed where period_grain = '{{ grain }}')
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
{% endif %}

bucket_rows as (
    select * from month_rows
    {% if is_incremental() %}
        union all
        select * from quarter_and_year_rows
    {% endif %}
),

per_unit as (
    {{ unit_values_per_bucket('bucket_rows') }}
),

-- the newest month with any report in each period: a period-end value taken from an earlier month
-- is carried forward (the unit left the indicator out of its last report, or sent no report)
newest_months as (
    select period_grain, period_label, max(newest_reported_month) as newest_month
    from per_unit
    group by period_grain, period_label
),

unit_totals as (
    select
        per_unit.*,
        case when {{ takes_period_end_value('time_aggregation') }} then last_value else summed_value end as value,
        coalesce(per_unit.last_reported_month < newest_months.newest_month, false) as is_carried_forward
    from per_unit
    inner join newest_months using (period_grain, period_label)
    -- a stock counts only units that still exist at period end (a unit merged away mid-period
    -- handed its members to its successor); a flow counts every month of every unit
    where not {{ takes_period_end_value('time_aggregation') }}
        or exists (
            select 1 from units_at_period_end
            where units_at_period_end.period_grain = per_unit.period_grain
                and units_at_period_end.period_label = per_unit.period_label
                and units_at_period_end.unit_code = per_unit.unit_code
        )
),

scoped as (
    select unit_totals.*, 'province' as scope_level, province.unit_code as scope_code
    from unit_totals
    cross join province
    union all
    select unit_totals.*, 'district' as scope_level, district_code as scope_code
    from unit_totals
    where district_code is not null
),

final as (
    select
        -- text cast to the contract's type (see agg_clubs_by_period)
        cast(
            period_grain || ':' || period_label || ':' || scope_level || ':' || scope_code || ':'
            || indicator_code || ':' || category as varchar
        ) as indicator_total_id,
        cast(period_grain as varchar) as period_grain,
        cast(period_label as varchar) as period_label,
        cast(scope_level as varchar) as scope_level,
        cast(scope_code as varchar) as scope_code,
        indicator_code,
        category,
        time_aggregation,
        cast(sum(value) as bigint) as value,
        count(distinct unit_code) as units_reporting,
        max(latest_loaded_at) as latest_loaded_at,
        -- how many of the units behind a stock or a distinct count gave it from an earlier month
        -- than the period's newest (docs/indicators.md): 0 for flows
        count(distinct case when is_carried_forward then unit_code end) as units_carried_forward
    from scoped
    group by period_grain, period_label, scope_level, scope_code, indicator_code, category, time_aggregation
)

select * from final
