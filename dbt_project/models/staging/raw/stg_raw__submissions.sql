with submissions as (
    select * from {{ source('raw', 'submissions') }}
),

final as (
    select
        file_hash,
        unit_code,
        period,
        cast(period || '-01' as date) as period_start_date,
        submitted_at,
        submitted_date_vn,
        reporter,
        template_version,
        -- contract version 2: the unit said it has no clubs / no values at all. Null before the
        -- column existed, and in version 1, which had no way to say it: false.
        coalesce(clubs_declared_none, false) as clubs_declared_none,
        coalesce(values_declared_none, false) as values_declared_none,
        load_id,
        loaded_at
    from submissions
)

select * from final
