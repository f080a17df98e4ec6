with submission_values as (
    select * from {{ source('raw', 'submission_values') }}
),

final as (
    select
        file_hash,
        source_row,
        indicator_code,
        category,
        cast(value as bigint) as value
    from submission_values
)

select * from final
