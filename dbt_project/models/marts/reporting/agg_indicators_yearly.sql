-- Yearly totals per indicator and category, for the province and each district.
-- Over time: flows (time_aggregation = 'sum') add up the months; stocks ('last') take each
-- unit's last reported month of the year, never a sum of months. Over units: summed.
with indicator_values as (
    select * from {{ ref('fct_indicator_values') }}
),

province as (
    select unit_code from {{ ref('dim_units') }} where unit_level = 'province' and valid_to is null
),

per_unit_year as (
    select
        year(period_start_date) as report_year,
        unit_code,
        district_code,
        indicator_code,
        category,
        time_aggregation,
        sum(value) as summed_value,
        arg_max(value, period_start_date) as last_value
    from indicator_values
    group by all
),

unit_totals as (
    select
        report_year,
        unit_code,
        district_code,
        indicator_code,
        category,
        case when time_aggregation = 'last' then last_value else summed_value end as value
    from per_unit_year
),

by_province as (
    select
        report_year,
        'province' as scope_level,
        (select unit_code from province) as scope_code,
        indicator_code,
        category,
        sum(value) as value,
        count(distinct unit_code) as units_reporting
    from unit_totals
    group by all
),

by_district as (
    select
        report_year,
        'district' as scope_level,
        district_code as scope_code,
        indicator_code,
        category,
        sum(value) as value,
        count(distinct unit_code) as units_reporting
    from unit_totals
    where district_code is not null
    group by all
),

final as (
    select * from by_province
    union all
    select * from by_district
)

select
    report_year || ':' || scope_level || ':' || scope_code || ':' || indicator_code || ':' || category
        as indicator_total_id,
    report_year,
    scope_level,
    scope_code,
    indicator_code,
    category,
    value,
    units_reporting
from final
