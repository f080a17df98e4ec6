-- One row per calendar month, with its quarter and year, so reports can be rolled up by any
-- grain and months without reports still show (as gaps in completeness, not as missing rows).
with months as (
    {{ dbt.date_spine(
        'month',
        "cast('" ~ var('calendar_start') ~ "' as date)",
        "cast('" ~ var('calendar_end') ~ "' as date)"
    ) }}  -- noqa: LT15 (the blank lines are dbt's date_spine macro's)
),

final as (
    select
        cast(date_month as date) as period_start_date,
        cast(extract(year from date_month) as integer) as report_year,
        cast(extract(quarter from date_month) as integer) as report_quarter,
        cast(extract(month from date_month) as integer) as report_month,
        cast(extract(year from date_month) as {{ dbt.type_string() }}) || '-'
        || lpad(cast(extract(month from date_month) as {{ dbt.type_string() }}), 2, '0') as period,
        cast(extract(year from date_month) as {{ dbt.type_string() }}) || '-Q'
        || cast(extract(quarter from date_month) as {{ dbt.type_string() }}) as quarter_label,
        cast({{ dbt.dateadd('day', var('report_deadline_day') - 1, dbt.dateadd('month', 1, 'date_month')) }} as date)
            as report_deadline_date
    from months
)

select * from final
