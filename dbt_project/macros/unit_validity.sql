{#- The one rule for "unit version `units` is in force on `day`": from its valid_from (inclusive) to
    its valid_to (exclusive; null while it still exists), as dim_units and the seeds define it.
    A unit that changes on 2024-11-01 is in force up to October; its successor from November. -#}
{% macro unit_in_force_on(units, day) -%}
    ({{ units }}.valid_from <= {{ day }} and ({{ units }}.valid_to is null or {{ units }}.valid_to > {{ day }}))
{%- endmacro %}
