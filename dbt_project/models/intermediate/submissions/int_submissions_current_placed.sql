-- The current version of each unit's monthly report, placed in the hierarchy as it stood in
-- the report's month: a report keeps the unit and district it was filed under, even after the
-- 2025 merges reuse the code. Also carries the first version's date, which timeliness uses
-- (a unit that reported on time and corrected later was on time).
-- Incremental (delete+insert on submission_id): a run places again each report with a version
-- loaded since the table's latest report_loaded_at; every version of a report has the same unit
-- and month, so a report is placed, or dropped by the join, whole. A change to the unit seeds
-- needs `qnwu rebuild` (README), which rebuilds this table with the rest.
with versions as (
    select * from {{ ref('int_submissions_versioned') }}
    {% if is_incremental() %}
    where {{ loaded_since_last_run('report_loaded_at', 'report_loaded_at') }}
    {% endif %}
),

units as (
    select * from {{ ref('units') }}
),

first_versions as (
    select submission_id, submitted_date_vn as first_submitted_date_vn
    from versions
    where submission_version = 1
),

final as (
    select
        versions.submission_id,
        versions.file_hash,
        versions.submission_version,
        versions.unit_code,
        units.unit_version_id,
        units.district_code,
        versions.period,
        versions.period_start_date,
        versions.submitted_at,
        first_versions.first_submitted_date_vn,
        versions.clubs_declared_none,
        versions.loaded_at,
        versions.report_loaded_at
    from versions
    inner join units
        on versions.unit_code = units.unit_code
        and units.unit_level = 'grassroots'
        and {{ unit_in_force_on('units', 'versions.period_start_date') }}
    inner join first_versions on versions.submission_id = first_versions.submission_id
    where versions.is_current
)

select * from final
