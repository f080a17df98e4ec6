-- Every accepted version of every unit's monthly report, one row per file, with whether it is the
-- report's current version as placed in the unit hierarchy of its month. What the pipeline itself
-- reads to know which reports changed since the live published version, and which reports a
-- version holds (qnwu_warehouse/checks/changes.py, qnwu_warehouse/publish/versioning.py): Python
-- reads marts, never the intermediate layer.
with versions as (
    select * from {{ ref('int_submissions_versioned') }}
),

placed as (
    select file_hash from {{ ref('int_submissions_current_placed') }}
),

final as (
    select
        versions.file_hash,
        versions.submission_id,
        versions.submission_version,
        versions.unit_code,
        versions.period,
        versions.period_start_date,
        versions.submitted_at,
        versions.loaded_at,
        versions.is_current,
        placed.file_hash is not null as is_current_placed
    from versions
    left join placed on versions.file_hash = placed.file_hash
)

select * from final
