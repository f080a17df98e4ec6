-- The current version of each unit's monthly report, placed in the hierarchy as it stood in
-- the report's month: a report keeps the unit and district it was filed under, even after the
-- 2025 merges reuse the code.
with versions as (
    select * from {{ ref('int_submissions_versioned') }}
),

units as (
    select * from {{ ref('dim_units') }}
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
        versions.submitted_at
    from versions
    inner join units
        on versions.unit_code = units.unit_code
        and units.unit_level = 'grassroots'
        and versions.period_start_date >= units.valid_from
        and (units.valid_to is null or versions.period_start_date < units.valid_to)
    where versions.is_current
)

select * from final
