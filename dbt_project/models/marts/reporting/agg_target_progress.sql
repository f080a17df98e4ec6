-- Progress against the union's targets (seeds/targets.csv), for every year with reports: the
-- province total of the target's indicator, as a share of its denominator indicator where the
-- target is a percentage (e.g. poor members helped / poor members on the register at year end).
with targets as (
    select * from {{ ref('targets') }}
),

totals as (
    select period_label, indicator_code, sum(value) as value
    from {{ ref('agg_indicators_by_period') }}
    where period_grain = 'year' and scope_level = 'province'
    group by period_label, indicator_code
),

years as (
    select distinct period_label as report_year_label from totals
),

final as (
    select
        targets.target_code || ':' || years.report_year_label as target_progress_id,
        targets.target_code,
        targets.target_year,
        years.report_year_label,
        targets.label_vi,
        targets.label_en,
        targets.comparator,
        targets.target_value,
        targets.unit_of_measure,
        cast(numerators.value as bigint) as numerator_value,
        cast(denominators.value as bigint) as denominator_value,
        -- double precision on both engines (PostgreSQL would compute in numeric)
        case
            when targets.denominator_indicator_code is null then cast(numerators.value as double precision)
            else 100.0 * cast(numerators.value as double precision) / nullif(denominators.value, 0)
        end as achieved_value
    from targets
    cross join years
    left join totals as numerators
        on numerators.indicator_code = targets.numerator_indicator_code
        and numerators.period_label = years.report_year_label
    left join totals as denominators
        on denominators.indicator_code = targets.denominator_indicator_code
        and denominators.period_label = years.report_year_label
)

select
    *,
    coalesce(
        case comparator when '>=' then achieved_value >= target_value else achieved_value = target_value end,
        false
    ) as is_met
from final
