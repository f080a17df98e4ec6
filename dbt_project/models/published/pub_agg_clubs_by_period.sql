-- agg_clubs_by_period as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='agg_clubs_by_period') }}
select * from {{ ref('agg_clubs_by_period') }}
