{#- The aggregation types of seeds/indicators.csv (time_aggregation), as the roll-ups apply them
    (docs/indicators.md). The one home of which types take a period's value from its last month:
    a stock (last) is what is on the register at period end; a distinct count since 1 January
    (ytd_distinct) already holds the earlier months, so summing months would count people twice. -#}
{% macro period_end_aggregation_types() -%}
    ('last', 'ytd_distinct')
{%- endmacro %}

{% macro takes_period_end_value(column) -%}
    {{ column }} in {{ period_end_aggregation_types() }}
{%- endmacro %}
