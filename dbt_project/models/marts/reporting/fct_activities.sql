-- The activities indicators: unit x month x programme x category, from fct_indicator_values.
with indicator_values as (
    select * from {{ ref('fct_indicator_values') }}
),

final as (
    select
        indicator_value_id,
        submission_id,
        submission_version,
        file_hash,
        unit_code,
        unit_version_id,
        district_code,
        period,
        period_start_date,
        programme_code,
        indicator_code,
        time_aggregation,
        category,
        value
    from indicator_values
    where fact = 'activities'
)

select * from final
