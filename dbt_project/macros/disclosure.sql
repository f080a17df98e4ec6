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

{#- A published relation that is a slice of another published one: the mart's columns and
    value_is_suppressed, taken from the rows of the published relation `whole` that the model's
    `config: meta: published_view: {of, where}` keeps. fct_beneficiaries and fct_activities are
    fct_indicator_values' rows of one fact, with the same cells hidden (the same cell ids). Publish
    writes such a relation into the version as a view of `of` with the same columns and `where`
    (qnwu_warehouse/publish/versioning.py), not as a copy: the published file holds each value once.
    Measured: a third of a five-year published file was these copies (docs/benchmarks.md). -#}
{% macro published_slice(whole, mart) %}
    {%- set view = model.config.meta.get('published_view') or {} -%}
    {%- if execute and not (view.get('of') and view.get('where')) -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": published_slice needs `config: meta: published_view: {of: <published relation>, where: <condition>}`") }}
    {%- endif -%}
    {%- if execute and whole.identifier != view.get('of') -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": published_slice reads " ~ whole.identifier ~ ", but meta published_view says it is a view of " ~ view.get('of')) }}
    {%- endif %}
    select
        {%- for column in adapter.get_columns_in_relation(mart) %}
        whole.{{ adapter.quote(column.name) }},
        {%- endfor %}
        whole.value_is_suppressed
    from {{ whole }} as whole
    where {{ view.get('where') }}
{% endmacro %}

{#- The id of a roll-up cell, as agg_indicators_by_period writes indicator_total_id. -#}
{% macro rollup_cell_id(grain, label, scope_level, scope_code, indicator_code, category) -%}
    cast({{ grain }} || ':' || {{ label }} || ':' || {{ scope_level }} || ':' || {{ scope_code }} || ':'
        || {{ indicator_code }} || ':' || {{ category }} as varchar)
{%- endmacro %}

{#- The indicators of a target: the numerator's and the denominator's. Their province year over
    all categories is a published cell (agg_target_progress). -#}
{% macro disclosure_target_indicators() %}
    select numerator_indicator_code as indicator_code from {{ ref('targets') }}
    union
    select denominator_indicator_code from {{ ref('targets') }}
    where denominator_indicator_code is not null
{% endmacro %}

{#- When each year's reports last changed: the latest load of any report of the year
    (int_submissions_current_placed's report_loaded_at). disclosure_sensitive_cells keeps it on
    each cell, and rebuilds a year when it moves. -#}
{% macro disclosure_report_years() %}
    select cast(left(period, 4) as integer) as report_year, max(report_loaded_at) as year_loaded_at
    from {{ ref('int_submissions_current_placed') }}
    group by cast(left(period, 4) as integer)
{% endmacro %}

{#- Everything besides the reports that decides which cells are sensitive and how they are summed:
    the threshold, the sensitive indicators, the indicators of a target (their province year over
    all categories is a cell) and the province. Kept on each cell: a change rebuilds every year. -#}
{% macro disclosure_cells_settings() %}
    select md5(
        '{{ small_cell_threshold() }}'
        || '|' || coalesce((select string_agg(indicator_code || '=' || time_aggregation, ',' order by indicator_code)
                            from {{ ref('dim_indicators') }} where is_sensitive), '')
        || '|' || coalesce((select string_agg(indicator_code, ',' order by indicator_code)
                            from ({{ disclosure_target_indicators() }}) as target_indicators), '')
        || '|' || coalesce((select string_agg(unit_code, ',' order by unit_code) from {{ ref('dim_units') }}
                            where unit_level = 'province' and valid_to is null), '')
    )
{% endmacro %}

{#- The years disclosure_sensitive_cells builds again: each year with a report loaded since the
    year's cells were built, or not built yet, and every year (also those built and now without
    cells, which the strategy below then empties) when the settings changed. Under is_incremental(). -#}
{% macro disclosure_years_to_build() %}
    {#- A table built by a release before year_loaded_at and cells_settings: build every year, and
        on_schema_change then stops the build with dbt's out-of-sync error, which says to run
        `qnwu rebuild` (qnwu_warehouse/transform/graph.py), instead of a binder error here. -#}
    {%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list if execute else ['year_loaded_at', 'cells_settings'] -%}
    {%- if not ('year_loaded_at' in built_columns and 'cells_settings' in built_columns) %}
    {{ disclosure_report_years() }}
    {%- else %}
    with report_years as (
        {{ disclosure_report_years() }}
    ),

    built_years as (
        select report_year, max(year_loaded_at) as year_loaded_at, bool_and(cells_settings = ({{ disclosure_cells_settings() }})) as same_settings
        from {{ this }}
        group by report_year
    ),

    settings_changed as (
        select coalesce(not bool_and(same_settings), false) as changed from built_years
    )

    select report_years.report_year
    from report_years
    left join built_years on report_years.report_year = built_years.report_year
    where built_years.report_year is null
        or report_years.year_loaded_at > built_years.year_loaded_at
        or (select changed from settings_changed)
    union
    select report_year from built_years
    where (select changed from settings_changed)
        or report_year not in (select report_year from report_years)
    {%- endif %}
{% endmacro %}

{#- disclosure_sensitive_cells' incremental strategy: delete every year to build (also one left with
    no cells), then insert the new cells (replace_changed_keys in replace_changed.sql). -#}
{% macro get_incremental_replace_disclosure_years_sql(arg_dict) %}
    {{- return(replace_changed_keys(arg_dict, disclosure_years_to_build())) -}}
{% endmacro %}
