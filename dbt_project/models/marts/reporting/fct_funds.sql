-- Money raised or disbursed, in whole VND: unit x month x programme x source.
with indicator_values as (
    select * from {{ ref('fct_indicator_values') }}
),

indicators as (
    select * from {{ ref('dim_indicators') }}
),

final as (
    select
        indicator_values.indicator_value_id,
        indicator_values.submission_id,
        indicator_values.submission_version,
        indicator_values.file_hash,
        indicator_values.unit_code,
        indicator_values.unit_version_id,
        indicator_values.district_code,
        indicator_values.period,
        indicator_values.period_start_date,
        indicator_values.programme_code,
        indicators.fund_source,
        indicator_values.indicator_code,
        indicator_values.value as amount_vnd
    from indicator_values
    inner join indicators on indicator_values.indicator_code = indicators.indicator_code
    where indicator_values.fact = 'funds'
)

select * from final
