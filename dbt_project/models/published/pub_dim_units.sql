-- dim_units as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='dim_units') }}
select * from {{ ref('dim_units') }}
