-- dim_unit_changes as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='dim_unit_changes') }}
select * from {{ ref('dim_unit_changes') }}
