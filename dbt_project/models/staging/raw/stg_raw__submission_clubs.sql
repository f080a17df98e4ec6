with submission_clubs as (
    select * from {{ source('raw', 'submission_clubs') }}
),

final as (
    select
        -- the contract rejects a register that repeats a club id (CLUB_DUPLICATE)
        file_hash || ':' || club_id as submission_club_id,
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
