-- Reporting completeness and timeliness, one row per expected report: every grassroots unit
-- valid in a month, for every month from the first to the latest month anyone reported.
-- Starting from what was expected (not from what arrived) keeps rates at or below 100%, and a
-- unit that did not exist in a month is not expected to report for it. On time means the first
-- accepted version was sent by the deadline (var report_deadline_day of the following month,
-- Vietnam time); a later correction does not make an on-time report late.
-- Incremental (delete+insert on period): a run rebuilds only the months whose expected reports can
-- have changed, found by comparing with the table itself (no watermark):
-- - a month with a report that is new, or whose current version or first sending date changed;
-- - a month of the reported span that the table does not hold yet (also one nobody reported for);
-- - a month whose deadline changed (var report_deadline_day).
-- Every rebuilt month has rows: every unit valid in it is expected. The units expected in a month
-- change only with the seeds, after which `qnwu rebuild` rebuilds everything (README), and the
-- reported span never shrinks (raw keeps every report). On five years, rebuilding all sixty months
-- for a new one cost 1.9 s more than the first month's build (docs/benchmarks.md).
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

{% if is_incremental() %}
built_months as (
    select period, max(report_deadline_date) as report_deadline_date
    from {{ this }}
    group by period
),

changed_months as (
    select period from (
        select unit_code, period, submission_id, first_submitted_date_vn from current_submissions
        except
        select unit_code, period, submission_id, first_submitted_date_vn from {{ this }}
        where is_received
    ) as changed_reports
    union
    -- a month of the span not built yet has no deadline in the table, so it differs too
    select periods.period
    from periods
    cross join reported_span
    left join built_months on periods.period = built_months.period
    where periods.period_start_date between reported_span.first_period and reported_span.last_period
        and built_months.report_deadline_date is distinct from periods.report_deadline_date
),

{% endif %}
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
    {% if is_incremental() %}
        and periods.period in (select period from changed_months)
    {% endif %}
),

final as (
    select
        -- text cast to the contract's type: PostgreSQL's || gives text, which an incremental run's
        -- new rows must not bring into the varchar table (on_schema_change: fail)
        cast(expected.unit_code || ':' || expected.period as varchar) as expected_report_id,
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
