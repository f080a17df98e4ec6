{#- Put every row of `rows` (a CTE with period_start_date) into its month, its quarter and its
    year: three copies, with period_grain and period_label ('2023-05', '2023-Q2', '2023').
    The roll-ups aggregate per bucket, so every grain follows the same stock/flow rules.
    With `only_buckets` (a CTE of period_grain, period_label), only the copies in those buckets. -#}
{% macro period_buckets(rows, periods, only_buckets=none) %}
    {%- set period_label -%}
        case grains.period_grain
            when 'month' then {{ periods }}.period
            when 'quarter' then {{ periods }}.quarter_label
            else cast({{ periods }}.report_year as {{ dbt.type_string() }})
        end
    {%- endset %}
    select
        {{ rows }}.*,
        grains.period_grain,
        {{ period_label }} as period_label
    from {{ rows }}
    inner join {{ periods }} on {{ rows }}.period_start_date = {{ periods }}.period_start_date
    cross join (
        select 'month' as period_grain
        union all select 'quarter' as period_grain
        union all select 'year' as period_grain
    ) as grains
    {%- if only_buckets %}
    where (grains.period_grain, {{ period_label }}) in (select period_grain, period_label from {{ only_buckets }})
    {%- endif %}
{% endmacro %}

{#- The grassroots units that exist at the end of every month, quarter and year bucket (its last
    month), with the district they then belong to: one row per bucket and unit version.
    A stock is read at period end, so it counts only these units: a unit merged away during the
    year handed its clubs and members to its successor, and counting its last register as well
    would count them twice (and put units reporting above units expected). -#}
{% macro grassroots_units_at_bucket_end(periods, units) %}
    with bucket_ends as (
        select 'month' as period_grain, period as period_label, period_start_date as last_month_start_date
        from {{ periods }}
        union all
        select 'quarter' as period_grain, quarter_label as period_label, max(period_start_date) as last_month_start_date
        from {{ periods }} group by quarter_label
        union all
        select 'year' as period_grain, cast(report_year as {{ dbt.type_string() }}) as period_label,
            max(period_start_date) as last_month_start_date
        from {{ periods }} group by report_year
    )

    select bucket_ends.period_grain, bucket_ends.period_label, {{ units }}.unit_code, {{ units }}.district_code
    from bucket_ends
    inner join {{ units }}
        on {{ units }}.unit_level = 'grassroots'
        and {{ unit_in_force_on(units, 'bucket_ends.last_month_start_date') }}
{% endmacro %}

{#- Incremental roll-ups rebuild only the buckets that changed. A bucket changed when it holds a
    month with a report whose current version was loaded since the roll-up last ran (its highest
    latest_loaded_at): that month, its quarter and its year. The reports come from the submissions
    (`submissions`: int_submissions_current_placed), not from the fact rows, so that a correction
    with no rows changes its buckets too; the replace_period_buckets strategy (replace_changed.sql)
    replaces them whole, deleting a bucket left with no rows, and leaves the rest of history alone.
    A new month on five years of history rebuilds 3 buckets instead of about 250
    (docs/benchmarks.md). `periods`: dim_periods or a CTE of it. Call only under is_incremental(). -#}
{% macro changed_buckets(submissions, periods) %}
    with changed_periods as (
        select * from {{ periods }}
    ),

    new_months as (
        select distinct period_start_date from {{ submissions }}
        where {{ loaded_since_last_run('loaded_at', 'latest_loaded_at') }}
    )

    select period_grain, period_label from ({{ period_buckets('new_months', 'changed_periods') }}) as buckets
{% endmacro %}

{#- The months a changed bucket reads: all months of each changed year (a year bucket needs its
    twelve months, and quarters and months lie within it). -#}
{% macro months_of_changed_buckets(changed, periods) %}
    select period_start_date from {{ periods }}
    where cast(report_year as {{ dbt.type_string() }}) in (
        select period_label from {{ changed }} where period_grain = 'year'
    )
{% endmacro %}
