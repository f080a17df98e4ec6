-- Totals per indicator and category for the province and each district, by month, quarter and
-- year. Over time: flows (time_aggregation = 'sum') add up the months of the period; stocks
-- ('last') take each unit's last reported month in the period, never a sum of months.
-- Over units: summed; units_reporting counts distinct units, not rows.
with indicator_values as (
    select * from {{ ref('fct_indicator_values') }}
),

periods as (
    select * from {{ ref('dim_periods') }}
),

province as (
    select unit_code from {{ ref('dim_units') }} where unit_level = 'province' and valid_to is null
),

bucketed as (
    {{ period_buckets('indicator_values', 'periods') }}
),

ranked as (
    select
        bucketed.*,
        row_number() over (
            partition by period_grain, period_label, unit_code, indicator_code, category
            order by period_start_date desc
        ) as recency
    from bucketed
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
        max(case when recency = 1 then value end) as last_value
    from ranked
    group by period_grain, period_label, unit_code, district_code, indicator_code, category, time_aggregation
),

unit_totals as (
    select
        per_unit.*,
        case when time_aggregation = 'last' then last_value else summed_value end as value
    from per_unit
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
        period_grain || ':' || period_label || ':' || scope_level || ':' || scope_code || ':'
            || indicator_code || ':' || category as indicator_total_id,
        period_grain,
        period_label,
        scope_level,
        scope_code,
        indicator_code,
        category,
        time_aggregation,
        cast(sum(value) as bigint) as value,
        count(distinct unit_code) as units_reporting
    from scoped
    group by period_grain, period_label, scope_level, scope_code, indicator_code, category, time_aggregation
)

select * from final
