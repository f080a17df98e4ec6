-- dim_indicators as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='dim_indicators') }}
select * from {{ ref('dim_indicators') }}
