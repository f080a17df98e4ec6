with received_files as (
    select * from {{ source('raw', 'received_files') }}
),

final as (
    select
        file_hash,
        source_path,
        file_name,
        file_format,
        size_bytes,
        received_at,
        load_id,
        outcome,
        duplicate_of_hash,
        archive_path,
        error_count,
        warning_count,
        claimed_unit_code,
        claimed_period
    from received_files
)

select * from final
