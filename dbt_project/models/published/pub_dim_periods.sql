-- dim_periods as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='dim_periods') }}
select * from {{ ref('dim_periods') }}
