-- Completeness and timeliness rates for the province and each district, by month and year.
-- Expected reports are the units valid in each month, so rates cannot exceed 100%.
with completeness as (
    select * from {{ ref('fct_reporting_completeness') }}
),

periods as (
    select * from {{ ref('dim_periods') }}
),

province as (
    select unit_code from {{ ref('dim_units') }}
    where unit_level = 'province' and valid_to is null
),

bucketed as (
    {{ period_buckets('completeness', 'periods') }}
),

scoped as (
    select bucketed.*, 'province' as scope_level, province.unit_code as scope_code
    from bucketed cross join province
    union all
    select bucketed.*, 'district' as scope_level, district_code as scope_code
    from bucketed
    where district_code is not null
),

final as (
    select
        period_grain || ':' || period_label || ':' || scope_level || ':' || scope_code as completeness_id,
        period_grain,
        period_label,
        scope_level,
        scope_code,
        count(*) as reports_expected,
        count(*) filter (where is_received) as reports_received,
        count(*) filter (where is_on_time) as reports_on_time,
        -- double precision on both engines (PostgreSQL would divide in numeric)
        100.0 * cast(count(*) filter (where is_received) as double precision) / count(*) as completeness_pct,
        100.0 * cast(count(*) filter (where is_on_time) as double precision) / count(*) as timeliness_pct
    from scoped
    group by period_grain, period_label, scope_level, scope_code
)

select * from final
