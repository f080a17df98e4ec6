with load_runs as (
    select * from {{ source('raw', 'load_runs') }}
),

final as (
    select
        load_id,
        started_at,
        finished_at,
        landing_url,
        files_new,
        files_accepted,
        files_rejected,
        files_duplicate,
        contract_version
    from load_runs
)

select * from final
