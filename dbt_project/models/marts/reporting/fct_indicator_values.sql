-- One row per unit x month x indicator x category, from the current version of each report.
-- Values are as reported; aggregating them over time must follow time_aggregation (flows are
-- summed, stocks are taken at period end): see agg_indicators_by_period.
-- Incremental: a run only rewrites the reports whose current version was loaded since the last
-- run, replacing all rows of such a report (strategy replace_reports, macros/replace_changed.sql:
-- delete on submission_id, then insert), so a resubmission for an old month is picked up without
-- recomputing years of history; a new version with no value rows deletes the old one's.
with current_submissions as (
    select * from {{ ref('int_submissions_current_placed') }}
    {% if is_incremental() %}
    -- changed_report (macros/replace_changed.sql): the same reports the strategy deletes
    where {{ changed_report('report_loaded_at') }}
    {% endif %}
),

submission_values as (
    select * from {{ ref('stg_raw__submission_values') }}
),

indicators as (
    select * from {{ ref('dim_indicators') }}
),

final as (
    select
        -- cast to the contract's type: an incremental run compares the new rows' column types with
        -- the table's, and on PostgreSQL || yields text, not varchar
        cast(
            current_submissions.submission_id || ':' || submission_values.indicator_code
            || ':' || submission_values.category as varchar
        ) as indicator_value_id,
        current_submissions.submission_id,
        current_submissions.submission_version,
        current_submissions.file_hash,
        submission_values.source_row,
        current_submissions.loaded_at,
        current_submissions.unit_code,
        current_submissions.unit_version_id,
        current_submissions.district_code,
        current_submissions.period,
        current_submissions.period_start_date,
        submission_values.indicator_code,
        indicators.fact,
        indicators.programme_code,
        indicators.time_aggregation,
        submission_values.category,
        submission_values.value
    from current_submissions
    inner join submission_values on current_submissions.file_hash = submission_values.file_hash
    inner join indicators on submission_values.indicator_code = indicators.indicator_code
)

select * from final
