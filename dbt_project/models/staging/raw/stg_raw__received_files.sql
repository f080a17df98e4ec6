with received_files as (
    select * from {{ source('raw', 'received_files') }}
),

final as (
    select
        -- the same content found at two paths is two ledger rows
        file_hash || ':' || source_path as received_file_id,
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
