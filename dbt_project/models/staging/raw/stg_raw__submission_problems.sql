with submission_problems as (
    select * from {{ source('raw', 'submission_problems') }}
),

final as (
    select
        -- problems have no natural key (a file-level problem has no row or column): number them
        -- within their file, in the order feedback lists them
        file_hash || ':' || cast(row_number() over (
            partition by file_hash
            order by source_row nulls first, reason_code, sheet, source_column, message_en
        ) as {{ dbt.type_string() }}) as submission_problem_id,
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
