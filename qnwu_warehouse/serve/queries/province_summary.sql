-- Tổng hợp toàn tỉnh theo năm / Province summary by year.
-- One row per figure and year for the whole province: reporting completeness first, then every
-- indicator's province total (beneficiaries, funds in VND, activities). The roll-up
-- marts.agg_indicators_by_period already applies each indicator's rule over time (flows summed
-- over the months, stocks taken at year end); here its categories are added up, which is right
-- because an indicator's categories partition its total. A sensitive total with a hidden category
-- is unknown: `value` is null and value_is_suppressed true, never the sum of the parts that show
-- (docs/privacy.md). For one year, keep the rows of that report_year (e.g. 2023).
-- Shares are rounded to one decimal, except that a share short of 100 % never reads as 100 %
-- (99.96 shows as 99.9) and a share above 0 never reads as 0.
with units_in_force as (
    -- the province's name as it stood in each year
    select unit_code, unit_name, valid_from, valid_to from marts.dim_units
    where unit_level = 'province'
),

reporting as (
    select
        cast(completeness.period_label as integer) as report_year,
        'reporting' as section,
        item.item_code,
        item.label_vi,
        cast(null as varchar) as programme_name_vi,
        item.value,
        'reports' as unit_of_measure,
        item.pct,
        false as value_is_suppressed
    from marts.agg_reporting_completeness as completeness
    cross join
        lateral (
            values
            ('reports_expected', 'Báo cáo phải nộp', completeness.reports_expected, cast(null as double)),
            ('reports_received', 'Báo cáo đã nhận', completeness.reports_received, completeness.completeness_pct),
            ('reports_on_time', 'Báo cáo đúng hạn', completeness.reports_on_time, completeness.timeliness_pct)
        ) as item (item_code, label_vi, value, pct)
    where completeness.period_grain = 'year' and completeness.scope_level = 'province'
),

indicators as (
    select
        cast(totals.period_label as integer) as report_year,
        indicators.fact as section,
        totals.indicator_code as item_code,
        indicators.label_vi,
        indicators.programme_name_vi,
        case when not bool_or(totals.value_is_suppressed) then sum(totals.value) end as value,
        indicators.unit_of_measure,
        cast(null as double) as pct,
        bool_or(totals.value_is_suppressed) as value_is_suppressed
    from marts.agg_indicators_by_period as totals
    inner join marts.dim_indicators as indicators using (indicator_code)
    where totals.period_grain = 'year' and totals.scope_level = 'province'
    group by all
),

combined as (
    select * from reporting
    union all
    select * from indicators
)

select
    combined.report_year,
    province.unit_name as scope_name_vi,
    combined.section,
    case combined.section
        when 'reporting' then 'Báo cáo'
        when 'beneficiaries' then 'Người hưởng lợi'
        when 'funds' then 'Quỹ vận động, giải ngân'
        when 'activities' then 'Hoạt động'
    end as section_vi,
    combined.item_code,
    combined.label_vi,
    combined.programme_name_vi,
    cast(combined.value as bigint) as value,
    combined.value_is_suppressed,
    combined.unit_of_measure,
    case
        when combined.pct > 0 and combined.pct < 100
            then least(greatest(round(combined.pct, 1), 0.1), 99.9)
        else round(combined.pct, 1)
    end as pct
from combined
left join units_in_force as province
    on province.valid_from <= make_date(combined.report_year, 12, 1)
    and (province.valid_to is null or province.valid_to > make_date(combined.report_year, 12, 1))
order by
    combined.report_year,
    case combined.section when 'reporting' then 0 when 'beneficiaries' then 1 when 'funds' then 2 else 3 end,
    combined.programme_name_vi nulls first,
    case combined.item_code when 'reports_expected' then 0 when 'reports_received' then 1 else 2 end,
    combined.item_code;
