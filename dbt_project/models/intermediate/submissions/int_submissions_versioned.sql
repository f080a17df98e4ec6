-- Every accepted version of every unit's monthly report, numbered in the order the unit sent
-- them. The latest submitted_at wins; a tie (same timestamp twice) is broken by load order and
-- then by file hash so the choice is stable from run to run.
-- Incremental (delete+insert on submission_id): a run numbers again every version of each report
-- with a version loaded since the table's latest, and leaves the other reports' rows alone; the
-- window functions below only ever look inside one report.
with submissions as (
    select * from {{ ref('stg_raw__submissions') }}
    {% if is_incremental() %}
    where (unit_code, period) in (
        select unit_code, period from {{ ref('stg_raw__submissions') }}
        where {{ loaded_since_last_run('loaded_at', 'loaded_at') }}
    )
    {% endif %}
),

numbered as (
    select
        *,
        row_number() over (
            partition by unit_code, period
            order by submitted_at, loaded_at, file_hash
        ) as submission_version,
        count(*) over (partition by unit_code, period) as version_count,
        -- when the report last changed: a version sent earlier but loaded later renumbers the
        -- others without changing which one is current, and the incremental facts must still
        -- rewrite the report (its versions' numbers are in their rows)
        max(loaded_at) over (partition by unit_code, period) as report_loaded_at
    from submissions
),

final as (
    select
        -- varchar, as the marts' contracts declare it (on PostgreSQL, || yields text, which the
        -- incremental facts would see as a schema change)
        cast(unit_code || ':' || period as varchar) as submission_id,
        file_hash,
        unit_code,
        period,
        period_start_date,
        submitted_at,
        submitted_date_vn,
        reporter,
        template_version,
        clubs_declared_none,
        values_declared_none,
        load_id,
        loaded_at,
        report_loaded_at,
        submission_version,
        submission_version = version_count as is_current
    from numbered
)

select * from final
