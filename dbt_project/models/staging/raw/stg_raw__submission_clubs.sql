with submission_clubs as (
    select * from {{ source('raw', 'submission_clubs') }}
),

final as (
    select
        file_hash,
        source_row,
        club_id,
        club_type as club_type_code,
        club_name,
        club_status,
        cast(members as bigint) as members
    from submission_clubs
)

select * from final
