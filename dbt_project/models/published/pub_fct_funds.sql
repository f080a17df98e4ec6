-- fct_funds as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='fct_funds') }}
select * from {{ ref('fct_funds') }}
