with indicators as (
    select * from {{ ref('indicators') }}
),

programmes as (
    select * from {{ ref('programmes') }}
),

final as (
    select
        indicators.indicator_code,
        indicators.label_vi,
        indicators.label_en,
        indicators.fact,
        indicators.programme_code,
        programmes.programme_name_vi,
        indicators.unit_of_measure,
        indicators.time_aggregation,
        indicators.unit_aggregation,
        indicators.disaggregation,
        indicators.allowed_categories,
        indicators.is_sensitive,
        indicators.fund_source,
        indicators.at_most_indicator_code
    from indicators
    left join programmes on indicators.programme_code = programmes.programme_code
)

select * from final
