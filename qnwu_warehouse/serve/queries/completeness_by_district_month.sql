-- Tỷ lệ báo cáo theo huyện và tháng / Reporting completeness by district and month.
-- For the whole province and every district: reports expected (units in force that month),
-- received and on time, by month and for the year (period_grain = 'year'), straight from
-- marts.agg_reporting_completeness, with the district's name as it stood in that period.
-- Districts were abolished on 2025-07-01: months after that have province rows only.
-- Shares are rounded to one decimal, except that a share short of 100 % never reads as 100 %
-- (99.96 shows as 99.9) and a share above 0 never reads as 0.
with completeness as (
    select
        *,
        case period_grain
            when 'month' then cast(period_label || '-01' as date)
            when 'year' then make_date(cast(period_label as integer), 12, 1)
        end as name_as_of_date
    from marts.agg_reporting_completeness
    where period_grain in ('month', 'year')
)

select
    cast(left(completeness.period_label, 4) as integer) as report_year,
    completeness.period_grain,
    completeness.period_label,
    completeness.scope_level,
    completeness.scope_code,
    units.unit_name as scope_name_vi,
    completeness.reports_expected,
    completeness.reports_received,
    completeness.reports_on_time,
    case
        when completeness.completeness_pct > 0 and completeness.completeness_pct < 100
            then least(greatest(round(completeness.completeness_pct, 1), 0.1), 99.9)
        else round(completeness.completeness_pct, 1)
    end as completeness_pct,
    case
        when completeness.timeliness_pct > 0 and completeness.timeliness_pct < 100
            then least(greatest(round(completeness.timeliness_pct, 1), 0.1), 99.9)
        else round(completeness.timeliness_pct, 1)
    end as timeliness_pct
from completeness
left join marts.dim_units as units
    on units.unit_code = completeness.scope_code
    and units.unit_level = completeness.scope_level
    and units.valid_from <= completeness.name_as_of_date
    and (units.valid_to is null or units.valid_to > completeness.name_as_of_date)
order by
    report_year,
    completeness.scope_level = 'district',
    completeness.scope_code,
    completeness.period_grain = 'year',
    completeness.period_label;
