with submission_values as (
    select * from {{ source('raw', 'submission_values') }}
),

final as (
    select
        -- the contract rejects a submission that repeats an indicator and category (ROW_DUPLICATE)
        file_hash || ':' || indicator_code || ':' || category as submission_value_id,
        file_hash,
        source_row,
        indicator_code,
        category,
        cast(value as bigint) as value
    from submission_values
)

select * from final
