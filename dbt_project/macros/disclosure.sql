{#- Small-cell threshold of the published warehouse: sensitive counts from 1 to threshold - 1 are
    primary suppressed (docs/privacy.md). The pipeline sets QNWU_SMALL_CELL_THRESHOLD from its
    settings (qnwu_warehouse/settings.py) for every dbt run. -#}
{% macro small_cell_threshold() -%}
    {{ env_var('QNWU_SMALL_CELL_THRESHOLD', '5') | int }}
{%- endmacro %}

{#- A mart's rows as readers get them: a cell chosen for suppression by disclosure_hidden_cells
    (primary or complementary) has its value blanked and value_is_suppressed set. `key` is the
    column holding the cell's id (indicator_value_id, indicator_total_id). -#}
{% macro with_suppression(mart, key) %}
    select
        mart.* replace (case when hidden.cell_id is null then mart.value end as value),
        hidden.cell_id is not null as value_is_suppressed
    from {{ mart }} as mart
    left join {{ ref('disclosure_hidden_cells') }} as hidden on hidden.cell_id = mart.{{ key }}
{% endmacro %}

{#- The id of a roll-up cell, as agg_indicators_by_period writes indicator_total_id. -#}
{% macro rollup_cell_id(grain, label, scope_level, scope_code, indicator_code, category) -%}
    cast({{ grain }} || ':' || {{ label }} || ':' || {{ scope_level }} || ':' || {{ scope_code }} || ':'
        || {{ indicator_code }} || ':' || {{ category }} as varchar)
{%- endmacro %}
