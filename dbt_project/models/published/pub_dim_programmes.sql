-- dim_programmes as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='dim_programmes') }}
select * from {{ ref('dim_programmes') }}
