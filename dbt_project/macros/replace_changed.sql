{#- Incremental strategies that replace everything that changed since the model last ran, even what
    now has no rows at all.

    dbt's delete+insert deletes only the keys that the new rows carry. A correction with no value
    rows (an XLSX with every value cell left blank), no club rows or neither carries no key, so the
    old version's rows stayed in the facts and the roll-ups, and reconcile_raw_to_facts then failed
    on that run and every later one. These strategies delete the keys of the change set, the
    reports or period buckets loaded since the last run (found from the submissions, not from
    the rows), as well as the keys of the new rows, and then insert the new rows:
    - replace_reports (the facts): every report whose current version was loaded since the last
      run (changed_reports);
    - replace_period_buckets (the roll-ups): the month, quarter and year of every such report
      (changed_buckets in period_buckets.sql), so that a bucket left with no rows is deleted.
    The model selects its new rows from that same change set, and the delete computes it before
    deleting anything, against the same table, so both see the same watermark. Works on DuckDB
    and PostgreSQL (dbt looks up get_incremental_<strategy>_sql). -#}

{% macro get_incremental_replace_reports_sql(arg_dict) %}
    {{- return(replace_changed_keys(arg_dict, changed_reports(ref('int_submissions_current_placed')))) -}}
{% endmacro %}

{% macro get_incremental_replace_period_buckets_sql(arg_dict) %}
    {{- return(replace_changed_keys(arg_dict,
                                    changed_buckets(ref('int_submissions_current_placed'), ref('dim_periods')))) -}}
{% endmacro %}

{#- Delete the rows whose unique_key is in the new rows or in `changed` (a query of the same key
    columns), then insert the new rows. -#}
{% macro replace_changed_keys(arg_dict, changed) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- if not keys -%}
        {{ exceptions.raise_compiler_error("the replace_* incremental strategies need a unique_key") }}
    {%- endif -%}
    {%- set key_list = keys | join(', ') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where ({{ key_list }}) in (
        select {{ key_list }} from {{ source }}
        union
        select {{ key_list }} from ({{ changed }}) as changed_keys
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{% endmacro %}

{#- Whether `column` (of a row being considered) is later than the model's watermark, the highest
    `watermark_column` in its own table. An empty table (every report in it emptied by corrections)
    has no watermark: then everything is new, not nothing. Call only under is_incremental(). -#}
{% macro loaded_since_last_run(column, watermark_column) -%}
    ({{ column }} > (select max({{ watermark_column }}) from {{ this }})
        or (select max({{ watermark_column }}) from {{ this }}) is null)
{%- endmacro %}

{#- The reports that changed since the facts last ran, with rows or without: a version of theirs was
    loaded since (`report_loaded_at` of int_submissions_current_placed). That is a new current
    version, or one sent earlier but loaded later, which renumbers the others. The facts' own
    watermark is the highest load time of the current versions they hold, so a report changed only
    by such a late version is rewritten again, to the same rows, until a later load passes it.
    Call only under is_incremental(). -#}
{% macro changed_report(report_loaded_at) -%}
    {{ loaded_since_last_run(report_loaded_at, 'loaded_at') }}
{%- endmacro %}

{#- The ids of those reports. `submissions`: int_submissions_current_placed. -#}
{% macro changed_reports(submissions) %}
    select submission_id from {{ submissions }} where {{ changed_report('report_loaded_at') }}
{% endmacro %}
