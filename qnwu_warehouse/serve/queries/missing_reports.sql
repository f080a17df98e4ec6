-- Báo cáo chưa nhận / Reports not received: every unit and month with no accepted report.
-- For each grassroots unit in force in a month (marts.fct_reporting_completeness, one row per
-- report expected), the months it has sent no accepted report for, with the unit's name and its
-- district as they stood then: the list a district or province office chases. A rejected file is
-- not a report (qnwu feedback says why it was rejected). Its stocks for a quarter or a year are
-- then carried forward from an earlier month (agg_indicators_by_period.units_carried_forward).
select
    expected.period,
    expected.unit_code,
    units.unit_name,
    expected.district_code,
    districts.unit_name as district_name,
    expected.report_deadline_date,
    current_date - expected.report_deadline_date as days_past_deadline
from marts.fct_reporting_completeness as expected
inner join marts.dim_units as units on units.unit_version_id = expected.unit_version_id
left join marts.dim_units as districts
    on districts.unit_code = expected.district_code
    and districts.unit_level = 'district'
    and districts.valid_from <= expected.period_start_date
    and (districts.valid_to is null or districts.valid_to > expected.period_start_date)
where not expected.is_received
order by expected.period, expected.district_code, expected.unit_code;
