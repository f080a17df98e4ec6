-- One row per club or model per month, from the register in the current version of each report:
-- a monthly snapshot of a stock. Counting clubs over a period means taking each unit's last
-- register of the period, never adding the months up. Incremental like fct_indicator_values: a new
-- version with no club rows deletes the old one's.
with current_submissions as (
    select * from {{ ref('int_submissions_current_placed') }}
    {% if is_incremental() %}
    -- changed_report (macros/replace_changed.sql): the same reports the strategy deletes
    where {{ changed_report('report_loaded_at') }}
    {% endif %}
),

submission_clubs as (
    select * from {{ ref('stg_raw__submission_clubs') }}
),

club_types as (
    select * from {{ ref('dim_club_types') }}
),

final as (
    select
        -- cast to the contract's type (see fct_indicator_values)
        cast(
            current_submissions.unit_code || ':' || submission_clubs.club_id
            || ':' || current_submissions.period as varchar
        ) as club_snapshot_id,
        current_submissions.submission_id,
        current_submissions.submission_version,
        current_submissions.file_hash,
        submission_clubs.source_row,
        current_submissions.loaded_at,
        current_submissions.unit_code,
        current_submissions.unit_version_id,
        current_submissions.district_code,
        current_submissions.period,
        current_submissions.period_start_date,
        submission_clubs.club_id,
        submission_clubs.club_type_code,
        club_types.club_group,
        submission_clubs.club_name,
        submission_clubs.club_status,
        submission_clubs.club_status = 'new' as is_new,
        submission_clubs.club_status <> 'dissolved' as is_open_at_period_end,
        submission_clubs.members
    from current_submissions
    inner join submission_clubs on current_submissions.file_hash = submission_clubs.file_hash
    inner join club_types on submission_clubs.club_type_code = club_types.club_type_code
)

select * from final
