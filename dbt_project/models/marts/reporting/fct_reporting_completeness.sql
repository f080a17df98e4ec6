-- Reporting completeness and timeliness, one row per expected report: every grassroots unit
-- valid in a month, for every month from the first to the latest month anyone reported.
-- Starting from what was expected (not from what arrived) keeps rates at or below 100%, and a
-- unit that did not exist in a month is not expected to report for it. On time means the first
-- accepted version was sent by the deadline (var report_deadline_day of the following month,
-- Vietnam time); a later correction does not make an on-time report late.
with units as (
    select * from {{ ref('dim_units') }}
),

periods as (
    select * from {{ ref('dim_periods') }}
),

current_submissions as (
    select * from {{ ref('int_submissions_current_placed') }}
),

reported_span as (
    select min(period_start_date) as first_period, max(period_start_date) as last_period
    from current_submissions
),

expected as (
    select
        units.unit_code,
        units.unit_version_id,
        units.district_code,
        periods.period,
        periods.period_start_date,
        periods.report_deadline_date
    from periods
    cross join reported_span
    inner join units
        on units.unit_level = 'grassroots'
        and {{ unit_in_force_on('units', 'periods.period_start_date') }}
    where periods.period_start_date between reported_span.first_period and reported_span.last_period
),

final as (
    select
        expected.unit_code || ':' || expected.period as expected_report_id,
        expected.unit_code,
        expected.unit_version_id,
        expected.district_code,
        expected.period,
        expected.period_start_date,
        expected.report_deadline_date,
        current_submissions.submission_id,
        current_submissions.first_submitted_date_vn,
        current_submissions.submission_id is not null as is_received,
        coalesce(current_submissions.first_submitted_date_vn <= expected.report_deadline_date, false) as is_on_time,
        -- bigint on both engines (PostgreSQL's date difference is an integer)
        case
            when current_submissions.first_submitted_date_vn > expected.report_deadline_date
                then
                    cast(
                        {{ dbt.datediff(
                            'expected.report_deadline_date', 'current_submissions.first_submitted_date_vn', 'day'
                        ) }}
                        as {{ dbt.type_bigint() }}
                    )
        end as days_late
    from expected
    left join current_submissions
        on expected.unit_code = current_submissions.unit_code
        and expected.period = current_submissions.period
)

select * from final
