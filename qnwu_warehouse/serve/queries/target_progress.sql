-- Tiến độ so với chỉ tiêu / Progress against targets, by report year.
-- The union's targets (seeds/targets.csv, e.g. the 2024 targets of the 2023 article) against what
-- the province achieved in each year with reports, from marts.agg_target_progress: for a
-- percentage target the achieved value is numerator / denominator (e.g. poor members helped /
-- poor members on the register at year end), otherwise the province total itself. A target judged
-- on a hidden total of victims (value_is_suppressed; docs/privacy.md) has no numerator,
-- denominator, share or is_met: they are unknown, not zero and not missed. A share of a part in its
-- whole above 100 % (is_consistent false: reports that contradict each other) is shown, with
-- is_met unknown.
-- Shares are rounded to one decimal, except that a share short of 100 % never reads as 100 %
-- (99.96 shows as 99.9) and a share above 0 never reads as 0.
with progress as (
    select
        *,
        100.0 * achieved_value / nullif(target_value, 0) as achieved_pct_of_target
    from marts.agg_target_progress
)

select
    cast(report_year_label as integer) as report_year,
    target_year,
    target_code,
    label_vi,
    comparator,
    target_value,
    unit_of_measure,
    numerator_value,
    denominator_value,
    case
        when achieved_value > 0 and achieved_value < 100
            then least(greatest(round(achieved_value, 1), 0.1), 99.9)
        else round(achieved_value, 1)
    end as achieved_value,
    case
        when achieved_pct_of_target > 0 and achieved_pct_of_target < 100
            then least(greatest(round(achieved_pct_of_target, 1), 0.1), 99.9)
        else round(achieved_pct_of_target, 1)
    end as achieved_pct_of_target,
    is_met,
    is_consistent,
    value_is_suppressed
from progress
order by report_year, target_year, target_code;
