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
        load_id,
        loaded_at
    from submissions
)

select * from final
