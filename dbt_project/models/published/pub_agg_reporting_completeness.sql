-- agg_reporting_completeness as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='agg_reporting_completeness') }}
select * from {{ ref('agg_reporting_completeness') }}
