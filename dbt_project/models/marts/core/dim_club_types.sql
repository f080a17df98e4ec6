with club_types as (
    select * from {{ ref('club_types') }}
),

final as (
    select
        club_type_code,
        club_type_name_vi,
        club_type_name_en,
        club_group,
        programme_code
    from club_types
)

select * from final
