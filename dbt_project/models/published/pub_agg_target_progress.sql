-- agg_target_progress as readers get it. A target on a sensitive indicator (victims supported as a
-- share of victims identified) is judged on the province's all-categories year total; a total
-- hidden by disclosure_hidden_cells is blanked, and so are the share and is_met that would give it
-- back (a share and the other total are enough to compute it).
{{ config(alias='agg_target_progress') }}
with progress as (
    select * from {{ ref('agg_target_progress') }}
),

targets as (
    select target_code, numerator_indicator_code, denominator_indicator_code from {{ ref('targets') }}
),

province as (
    select unit_code as province_code from {{ ref('dim_units') }}
    where unit_level = 'province' and valid_to is null
),

hidden as (
    select cell_id from {{ ref('disclosure_hidden_cells') }}
),

flagged as (
    select
        progress.*,
        targets.numerator_indicator_code,
        targets.denominator_indicator_code,
        {{ rollup_cell_id(
            "'year'", 'progress.report_year_label', "'province'", 'province.province_code',
            'targets.numerator_indicator_code', "'all'"
        ) }} in (select cell_id from hidden) as numerator_is_suppressed,
        coalesce(
            {{ rollup_cell_id(
                "'year'", 'progress.report_year_label', "'province'", 'province.province_code',
                'targets.denominator_indicator_code', "'all'"
            ) }} in (select cell_id from hidden),
            false
        ) as denominator_is_suppressed
    from progress
    inner join targets on progress.target_code = targets.target_code
    cross join province
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
    numerator_indicator_code,
    denominator_indicator_code,
    case when not numerator_is_suppressed then numerator_value end as numerator_value,
    case when not denominator_is_suppressed then denominator_value end as denominator_value,
    case when not (numerator_is_suppressed or denominator_is_suppressed) then achieved_value end as achieved_value,
    case when not (numerator_is_suppressed or denominator_is_suppressed) then is_met end as is_met,
    case when not (numerator_is_suppressed or denominator_is_suppressed) then is_consistent end as is_consistent,
    numerator_is_suppressed or denominator_is_suppressed as value_is_suppressed
from flagged
