-- One row per unit x month x indicator x category, from the current version of each report.
-- Values are as reported; aggregating them over time must follow dim_indicators.time_aggregation
-- (flows are summed, stocks are taken at period end): see agg_indicators_yearly.
with current_submissions as (
    select * from {{ ref('int_submissions_current_placed') }}
),

submission_values as (
    select * from {{ ref('stg_raw__submission_values') }}
),

indicators as (
    select * from {{ ref('dim_indicators') }}
),

final as (
    select
        current_submissions.submission_id || ':' || submission_values.indicator_code
            || ':' || submission_values.category as indicator_value_id,
        current_submissions.submission_id,
        current_submissions.submission_version,
        current_submissions.file_hash,
        submission_values.source_row,
        current_submissions.unit_code,
        current_submissions.unit_version_id,
        current_submissions.district_code,
        current_submissions.period,
        current_submissions.period_start_date,
        submission_values.indicator_code,
        indicators.fact,
        indicators.time_aggregation,
        submission_values.category,
        submission_values.value
    from current_submissions
    inner join submission_values on current_submissions.file_hash = submission_values.file_hash
    inner join indicators on submission_values.indicator_code = indicators.indicator_code
)

select * from final
