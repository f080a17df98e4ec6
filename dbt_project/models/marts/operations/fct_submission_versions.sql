-- Every accepted version of every unit's monthly report, one row per file, with whether it is the
-- report's current version as placed in the unit hierarchy of its month. What the pipeline itself
-- reads to know which reports changed since the live published version, and which reports a
-- version holds (qnwu_warehouse/checks/changes.py, qnwu_warehouse/publish/versioning.py): Python
-- reads marts, never the intermediate layer.
-- Incremental (delete+insert on submission_id): a run rewrites every version of each report with a
-- version loaded since the table's latest (a version sent earlier but loaded later renumbers the
-- others); a report never loses a version, so each rewritten report has rows. Rebuilt whole for a
-- new month, five years of versions cost 3.2 s more than the first month's build (docs/benchmarks.md).
with versions as (
    select * from {{ ref('int_submissions_versioned') }}
    {% if is_incremental() %}
    where {{ loaded_since_last_run('report_loaded_at', 'loaded_at') }}
    {% endif %}
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
