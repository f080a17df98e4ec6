with programmes as (
    select * from {{ ref('programmes') }}
),

final as (
    select
        programme_code,
        programme_name_vi,
        programme_name_en
    from programmes
)

select * from final
