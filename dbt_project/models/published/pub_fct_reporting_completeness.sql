-- fct_reporting_completeness as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='fct_reporting_completeness') }}
select * from {{ ref('fct_reporting_completeness') }}
