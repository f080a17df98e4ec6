{#- Small-cell threshold of the published warehouse: sensitive counts from 1 to threshold - 1 are
    primary suppressed (docs/privacy.md). The pipeline sets QNWU_SMALL_CELL_THRESHOLD from its
    settings (qnwu_warehouse/settings.py) for every dbt run. -#}
{% macro small_cell_threshold() -%}
    {{ env_var('QNWU_SMALL_CELL_THRESHOLD', '5') | int }}
{%- endmacro %}

{#- A mart's rows as readers get them: a cell chosen for suppression by disclosure_hidden_cells
    (primary or complementary) has its value blanked and value_is_suppressed set. The column holding
    the cell's id (indicator_value_id, indicator_total_id) is the model's `config: meta:
    hidden_cell_key`, which publish reads too (qnwu_warehouse/publish/versioning.py: a new month
    republishes only the rows whose suppression it changed). -#}
{% macro with_suppression(mart) %}
    {%- set key = model.config.meta.get('hidden_cell_key') -%}
    {%- if execute and not key -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": with_suppression needs `config: meta: hidden_cell_key`, the column holding each cell's id") }}
    {%- endif %}
    select
        mart.* replace (case when hidden.cell_id is null then mart.value end as value),
        hidden.cell_id is not null as value_is_suppressed
    from {{ mart }} as mart
    left join {{ ref('disclosure_hidden_cells') }} as hidden on hidden.cell_id = mart.{{ key or 'cell_id' }}
{% endmacro %}

{#- The id of a roll-up cell, as agg_indicators_by_period writes indicator_total_id. -#}
{% macro rollup_cell_id(grain, label, scope_level, scope_code, indicator_code, category) -%}
    cast({{ grain }} || ':' || {{ label }} || ':' || {{ scope_level }} || ':' || {{ scope_code }} || ':'
        || {{ indicator_code }} || ':' || {{ category }} as varchar)
{%- endmacro %}
