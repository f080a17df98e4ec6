with submission_problems as (
    select * from {{ source('raw', 'submission_problems') }}
),

final as (
    select
        file_hash,
        load_id,
        reason_code,
        severity,
        sheet,
        source_row,
        source_column,
        message_vi,
        message_en
    from submission_problems
)

select * from final
