-- Totals per indicator and category for the province and each district, by month, quarter and
-- year. Over time: flows (time_aggregation = 'sum') add up the months of the period; stocks
-- ('last') and distinct people since January ('ytd_distinct') take each unit's last reported month
-- in the period, never a sum of months, from the units that still exist at the period's end
-- (macros/aggregation_types.sql).
-- Over units: summed; units_reporting counts distinct units, not rows.
-- Incremental: a run rebuilds only the months, quarters and years that hold newly loaded reports
-- (changed_buckets in macros/period_buckets.sql), from the reports loaded since, also those that
-- now have no rows; strategy replace_period_buckets deletes a bucket left empty.
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
    -- only the columns the roll-up reads: bucketing copies every row three times (month, quarter,
    -- year), and the facts' ids and file hashes would be copied with it (2 million rows a national year)
    select unit_code, district_code, indicator_code, category, time_aggregation, period_start_date, value, loaded_at
    from {{ ref('fct_indicator_values') }}
    {% if is_incremental() %}
    where period_start_date in ({{ months_of_changed_buckets('changed', 'periods') }})
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

bucketed as (
    {{ period_buckets('indicator_values', 'periods', only_buckets='changed' if is_incremental() else none) }}
),

ranked as (
    -- a stock's months in recency order; only stocks are ranked (a twentieth of the rows: sorting
    -- the flows too cost most of the roll-up's time)
    select
        bucketed.*,
        row_number() over (
            partition by period_grain, period_label, unit_code, indicator_code, category
            order by period_start_date desc
        ) as recency
    from bucketed
    where {{ takes_period_end_value('time_aggregation') }}
    union all
    select bucketed.*, cast(null as bigint) as recency
    from bucketed
    where not {{ takes_period_end_value('time_aggregation') }}
),

per_unit as (
    select
        period_grain,
        period_label,
        unit_code,
        district_code,
        indicator_code,
        category,
        time_aggregation,
        sum(value) as summed_value,
        max(case when recency = 1 then value end) as last_value,
        max(case when recency = 1 then period_start_date end) as last_reported_month,
        max(loaded_at) as latest_loaded_at
    from ranked
    group by period_grain, period_label, unit_code, district_code, indicator_code, category, time_aggregation
),

-- the newest month with any report in each period: a period-end value taken from an earlier month
-- is carried forward (the unit left the indicator out of its last report, or sent no report)
newest_months as (
    select period_grain, period_label, max(period_start_date) as newest_month
    from bucketed
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
