{#- Put every row of `rows` (a CTE with period_start_date) into its month, its quarter and its
    year: three copies, with period_grain and period_label ('2023-05', '2023-Q2', '2023').
    The roll-ups aggregate per bucket, so every grain follows the same stock/flow rules. -#}
{% macro period_buckets(rows, periods) %}
    select
        {{ rows }}.*,
        grains.period_grain,
        case grains.period_grain
            when 'month' then {{ periods }}.period
            when 'quarter' then {{ periods }}.quarter_label
            else cast({{ periods }}.report_year as {{ dbt.type_string() }})
        end as period_label
    from {{ rows }}
    inner join {{ periods }} on {{ rows }}.period_start_date = {{ periods }}.period_start_date
    cross join (
        select 'month' as period_grain
        union all select 'quarter' as period_grain
        union all select 'year' as period_grain
    ) as grains
{% endmacro %}
