-- Progress against the union's targets (seeds/targets.csv), for every year with reports: the
-- province total of the target's indicator, as a share of its denominator indicator where the
-- target is a percentage (e.g. poor members helped since January / poor members on the register at
-- year end). Year totals follow each indicator's aggregation type: a distinct count since January
-- is its December figure, never twelve months added up. Where the numerator is part of the
-- denominator (targets.numerator_is_part_of_denominator), consistent reports cannot give more than
-- 100%: above it the row is marked inconsistent, is_met is left unknown and the gate flags it.
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
        targets.numerator_is_part_of_denominator,
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
),

consistency as (
    select
        *,
        not coalesce(numerator_is_part_of_denominator and achieved_value > 100, false) as is_consistent
    from final
)

select
    target_progress_id,
    target_code,
    target_year,
    report_year_label,
    label_vi,
    label_en,
    comparator,
    target_value,
    unit_of_measure,
    numerator_value,
    denominator_value,
    achieved_value,
    case when is_consistent then coalesce(
                case comparator when '>=' then achieved_value >= target_value else achieved_value = target_value end,
                false
            )
    end as is_met,
    is_consistent
from consistency
