-- The plain-DuckDB baseline of `qnwu bench pipeline`: the transformations of dbt_project/models
-- (current version of each unit x month, the unit placed in the hierarchy as it stood that month,
-- the dims, the fact tables and the roll-ups) written as ordinary SQL over the same raw tables.
-- No dbt, no Jinja, no data tests, no incremental logic: every run rebuilds everything, which is
-- the practical lower bound the dbt build is compared with. The benchmark checks that these
-- tables hold the same rows as the marts, so the comparison is between equal work.
--
-- The runner attaches the working warehouse read-only as `working` and replaces {seeds} with the
-- seeds folder (the same copy dbt loaded, synthetic units included). Tables land in the main
-- database, in schema `baseline`.

create schema if not exists baseline;
use baseline;

-- reference data, typed as dbt_project.yml types the seeds
create or replace table units as
select unit_version_id, unit_code, unit_name, unit_level, unit_type, parent_unit_code, district_code,
       district_name, cast(valid_from as date) as valid_from, cast(nullif(valid_to, '') as date) as valid_to
from read_csv('{seeds}/units.csv', header = true, all_varchar = true);

create or replace table indicators as
select * replace (cast(is_sensitive as boolean) as is_sensitive)
from read_csv('{seeds}/indicators.csv', header = true, all_varchar = true);

create or replace table programmes as select * from read_csv('{seeds}/programmes.csv', header = true, all_varchar = true);
create or replace table club_types as select * from read_csv('{seeds}/club_types.csv', header = true, all_varchar = true);
create or replace table unit_changes as
select * replace (cast(change_date as date) as change_date)
from read_csv('{seeds}/unit_changes.csv', header = true, all_varchar = true);
create or replace table targets as
select * replace (cast(target_year as bigint) as target_year, cast(target_value as bigint) as target_value)
from read_csv('{seeds}/targets.csv', header = true, all_varchar = true);

-- dims
create or replace table dim_units as
select *, valid_to is null as is_current from units;

create or replace table dim_indicators as
select i.indicator_code, i.label_vi, i.label_en, i.fact, i.programme_code, p.programme_name_vi, i.unit_of_measure,
       i.time_aggregation, i.unit_aggregation, i.disaggregation, i.allowed_categories, i.is_sensitive, i.fund_source,
       i.at_most_indicator_code
from indicators i left join programmes p using (programme_code);

create or replace table dim_periods as
select cast(month_start as date) as period_start_date,
       cast(year(month_start) as integer) as report_year,
       cast(quarter(month_start) as integer) as report_quarter,
       cast(month(month_start) as integer) as report_month,
       strftime(month_start, '%Y-%m') as period,
       year(month_start) || '-Q' || quarter(month_start) as quarter_label,
       cast(month_start + interval 1 month + interval 9 day as date) as report_deadline_date  -- 10th of next month
from range(date '2021-01-01', date '2031-01-01', interval 1 month) as months(month_start);

-- every accepted version, numbered; the current one is the latest submitted
create or replace table numbered_versions as
select *,
       row_number() over (partition by unit_code, period order by submitted_at, loaded_at, file_hash) as submission_version,
       count(*) over (partition by unit_code, period) as version_count
from working.raw.submissions;

create or replace table submissions_current_placed as
with numbered as (select * from numbered_versions),
firsts as (
    select unit_code, period, submitted_date_vn as first_submitted_date_vn from numbered where submission_version = 1
)
select n.unit_code || ':' || n.period as submission_id, n.file_hash, n.submission_version, n.unit_code,
       u.unit_version_id, u.district_code, n.period, cast(n.period || '-01' as date) as period_start_date,
       n.submitted_at, f.first_submitted_date_vn, coalesce(n.clubs_declared_none, false) as clubs_declared_none,
       n.loaded_at
from numbered n
join firsts f using (unit_code, period)
join units u
  on u.unit_code = n.unit_code and u.unit_level = 'grassroots'
 and cast(n.period || '-01' as date) >= u.valid_from
 and (u.valid_to is null or cast(n.period || '-01' as date) < u.valid_to)
where n.submission_version = n.version_count;

-- facts
create or replace table fct_indicator_values as
select s.submission_id || ':' || v.indicator_code || ':' || v.category as indicator_value_id,
       s.submission_id, s.submission_version, s.file_hash, v.source_row, s.loaded_at, s.unit_code, s.unit_version_id,
       s.district_code, s.period, s.period_start_date, v.indicator_code, i.fact, i.programme_code, i.time_aggregation,
       v.category, cast(v.value as bigint) as value
from submissions_current_placed s
join working.raw.submission_values v using (file_hash)
join dim_indicators i using (indicator_code);

create or replace table fct_club_snapshots as
select s.unit_code || ':' || c.club_id || ':' || s.period as club_snapshot_id,
       s.submission_id, s.submission_version, s.file_hash, c.source_row, s.loaded_at, s.unit_code, s.unit_version_id,
       s.district_code, s.period, s.period_start_date, c.club_id, c.club_type as club_type_code, t.club_group,
       c.club_name, c.club_status, c.club_status = 'new' as is_new, c.club_status <> 'dissolved' as is_open_at_period_end,
       cast(c.members as bigint) as members
from submissions_current_placed s
join working.raw.submission_clubs c using (file_hash)
join club_types t on t.club_type_code = c.club_type;

create or replace table fct_reporting_completeness as
with span as (
    select min(period_start_date) as first_period, max(period_start_date) as last_period from submissions_current_placed
),
expected as (
    select u.unit_code, u.unit_version_id, u.district_code, p.period, p.period_start_date, p.report_deadline_date
    from dim_periods p, span
    join units u on u.unit_level = 'grassroots' and u.valid_from <= p.period_start_date
                and (u.valid_to is null or u.valid_to > p.period_start_date)
    where p.period_start_date between span.first_period and span.last_period
)
select e.unit_code || ':' || e.period as expected_report_id, e.unit_code, e.unit_version_id, e.district_code,
       e.period, e.period_start_date, e.report_deadline_date, s.submission_id, s.first_submitted_date_vn,
       s.submission_id is not null as is_received,
       coalesce(s.first_submitted_date_vn <= e.report_deadline_date, false) as is_on_time,
       case when s.first_submitted_date_vn > e.report_deadline_date
            then cast(date_diff('day', e.report_deadline_date, s.first_submitted_date_vn) as bigint) end as days_late
from expected e
left join submissions_current_placed s on s.unit_code = e.unit_code and s.period = e.period;

-- every fact row in its month, its quarter and its year
create or replace macro period_label(grain, p) as
    case grain when 'month' then p.period when 'quarter' then p.quarter_label else cast(p.report_year as varchar) end;
create or replace table grains as select unnest(['month', 'quarter', 'year']) as period_grain;
create or replace table province as select unit_code from units where unit_level = 'province' and valid_to is null;
-- the grassroots units that exist at each period's last month: stocks count only these
create or replace table units_at_period_end as
with period_ends as (
    select g.period_grain, period_label(g.period_grain, p) as period_label, max(p.period_start_date) as last_month_start_date
    from dim_periods p cross join grains g group by all
)
select e.period_grain, e.period_label, u.unit_code, u.district_code
from period_ends e
join units u on u.unit_level = 'grassroots' and u.valid_from <= e.last_month_start_date
            and (u.valid_to is null or u.valid_to > e.last_month_start_date);

-- roll-ups: flows summed over the months of a period, stocks taken at each unit's last month
create or replace table agg_indicators_by_period as
with bucketed as (
    select f.unit_code, f.district_code, f.indicator_code, f.category, f.time_aggregation, f.period_start_date,
           f.value, f.loaded_at, g.period_grain, period_label(g.period_grain, p) as period_label
    from fct_indicator_values f join dim_periods p using (period_start_date) cross join grains g
),
marked as (
    -- a unit's last month in the period, per indicator and category (the unit may change district
    -- within the period: the last month is looked for across districts)
    select *, period_start_date = max(period_start_date) over (
               partition by period_grain, period_label, unit_code, indicator_code, category) as is_last_month,
           max(period_start_date) over (partition by period_grain, period_label) as newest_month
    from bucketed
),
per_unit as (
    select period_grain, period_label, unit_code, district_code, indicator_code, category, time_aggregation,
           case when time_aggregation in ('last', 'ytd_distinct') then max(value) filter (is_last_month) else sum(value) end as value,
           max(loaded_at) as latest_loaded_at,
           time_aggregation in ('last', 'ytd_distinct')
             and coalesce(max(period_start_date) filter (is_last_month) < max(newest_month), false) as is_carried_forward
    from marked
    where time_aggregation not in ('last', 'ytd_distinct')
       or (period_grain, period_label, unit_code) in (select period_grain, period_label, unit_code from units_at_period_end)
    group by period_grain, period_label, unit_code, district_code, indicator_code, category, time_aggregation
),
scoped as (
    select per_unit.*, 'province' as scope_level, province.unit_code as scope_code from per_unit, province
    union all
    select per_unit.*, 'district', district_code from per_unit where district_code is not null
)
select period_grain || ':' || period_label || ':' || scope_level || ':' || scope_code || ':' || indicator_code || ':'
           || category as indicator_total_id,
       period_grain, period_label, scope_level, scope_code, indicator_code, category, time_aggregation,
       cast(sum(value) as bigint) as value, count(distinct unit_code) as units_reporting,
       max(latest_loaded_at) as latest_loaded_at,
       count(distinct case when is_carried_forward then unit_code end) as units_carried_forward
from scoped
group by period_grain, period_label, scope_level, scope_code, indicator_code, category, time_aggregation;

create or replace table agg_clubs_by_period as
with slim as (
    select unit_code, district_code, period_start_date, club_id, is_new, is_open_at_period_end, members, club_type_code,
           club_group, loaded_at
    from fct_club_snapshots
),
categorised as (
    select *, 'type' as club_category_level, club_type_code as club_category_code from slim
    union all
    select *, 'group', club_group from slim
),
bucketed as (
    select c.*, g.period_grain, period_label(g.period_grain, p) as period_label
    from categorised c join dim_periods p using (period_start_date) cross join grains g
),
last_registers as (
    -- each unit's last register of the period: a month with clubs, or one it declared empty
    select g.period_grain, period_label(g.period_grain, p) as period_label, r.unit_code,
           max(r.period_start_date) as last_register
    from (select unit_code, period_start_date from slim
          union select unit_code, period_start_date from submissions_current_placed where clubs_declared_none) r
    join dim_periods p using (period_start_date) cross join grains g
    group by all
),
at_period_end as (
    -- the clubs still open in each unit's last register of the period
    select b.* from bucketed b join last_registers l using (period_grain, period_label, unit_code)
    where b.period_start_date = l.last_register and b.is_open_at_period_end
        and (period_grain, period_label, unit_code) in (select period_grain, period_label, unit_code from units_at_period_end)
),
scoped_open as (
    select at_period_end.*, 'province' as scope_level, province.unit_code as scope_code from at_period_end, province
    union all
    select at_period_end.*, 'district', district_code from at_period_end where district_code is not null
),
scoped_new as (
    select bucketed.*, 'province' as scope_level, province.unit_code as scope_code from bucketed, province where is_new
    union all
    select bucketed.*, 'district', district_code from bucketed where is_new and district_code is not null
),
open_totals as (
    select period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code,
           count(*) as clubs_open_at_period_end, cast(sum(members) as bigint) as members_at_period_end,
           count(distinct unit_code) as units_with_open_clubs, max(loaded_at) as latest_loaded_at
    from scoped_open group by all
),
new_totals as (
    select period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code,
           count(distinct unit_code || ':' || club_id) as clubs_new_in_period, max(loaded_at) as latest_loaded_at
    from scoped_new group by all
),
expected_units as (
    select period_grain, period_label, district_code, count(*) as units_expected
    from units_at_period_end group by all
),
expected_scoped as (
    select period_grain, period_label, 'province' as scope_level, province.unit_code as scope_code,
           sum(units_expected) as units_expected
    from expected_units, province group by all
    union all
    select period_grain, period_label, 'district', district_code, sum(units_expected)
    from expected_units where district_code is not null group by all
),
combined as (
    select period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code,
           coalesce(o.clubs_open_at_period_end, 0) as clubs_open_at_period_end,
           coalesce(o.members_at_period_end, 0) as members_at_period_end,
           coalesce(o.units_with_open_clubs, 0) as units_with_open_clubs,
           coalesce(n.clubs_new_in_period, 0) as clubs_new_in_period,
           case when n.latest_loaded_at is null or o.latest_loaded_at > n.latest_loaded_at
                then o.latest_loaded_at else n.latest_loaded_at end as latest_loaded_at
    from open_totals o
    full outer join new_totals n
      using (period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code)
)
select c.period_grain || ':' || c.period_label || ':' || c.scope_level || ':' || c.scope_code || ':'
           || c.club_category_level || ':' || c.club_category_code as club_total_id,
       c.period_grain, c.period_label, c.scope_level, c.scope_code, c.club_category_level, c.club_category_code,
       cast(c.clubs_open_at_period_end as bigint) as clubs_open_at_period_end,
       cast(c.members_at_period_end as bigint) as members_at_period_end,
       cast(c.clubs_new_in_period as bigint) as clubs_new_in_period,
       cast(c.units_with_open_clubs as bigint) as units_with_open_clubs,
       cast(e.units_expected as bigint) as units_expected,
       100.0 * cast(c.units_with_open_clubs as double) / nullif(e.units_expected, 0) as units_with_open_clubs_pct,
       c.latest_loaded_at
from combined c
left join expected_scoped e using (period_grain, period_label, scope_level, scope_code);

create or replace table agg_reporting_completeness as
with bucketed as (
    select f.*, g.period_grain, period_label(g.period_grain, p) as period_label
    from fct_reporting_completeness f join dim_periods p using (period_start_date) cross join grains g
),
scoped as (
    select bucketed.*, 'province' as scope_level, province.unit_code as scope_code from bucketed, province
    union all
    select bucketed.*, 'district', district_code from bucketed where district_code is not null
)
select period_grain || ':' || period_label || ':' || scope_level || ':' || scope_code as completeness_id,
       period_grain, period_label, scope_level, scope_code,
       count(*) as reports_expected, count(*) filter (is_received) as reports_received,
       count(*) filter (is_on_time) as reports_on_time,
       100.0 * cast(count(*) filter (is_received) as double) / count(*) as completeness_pct,
       100.0 * cast(count(*) filter (is_on_time) as double) / count(*) as timeliness_pct
from scoped
group by period_grain, period_label, scope_level, scope_code;

create or replace table agg_target_progress as
with totals as (
    select period_label, indicator_code, sum(value) as value
    from agg_indicators_by_period where period_grain = 'year' and scope_level = 'province'
    group by all
),
progress as (
    select t.target_code || ':' || y.period_label as target_progress_id, t.target_code, t.target_year,
           y.period_label as report_year_label, t.label_vi, t.label_en, t.comparator, t.target_value, t.unit_of_measure,
           cast(n.value as bigint) as numerator_value, cast(d.value as bigint) as denominator_value,
           cast(t.numerator_is_part_of_denominator as boolean) as is_part,
           case when t.denominator_indicator_code is null then cast(n.value as double)
                else 100.0 * cast(n.value as double) / nullif(d.value, 0) end as achieved_value
    from targets t
    cross join (select distinct period_label from totals) y
    left join totals n on n.indicator_code = t.numerator_indicator_code and n.period_label = y.period_label
    left join totals d on d.indicator_code = t.denominator_indicator_code and d.period_label = y.period_label
)
select * exclude (is_part), case when is_consistent then coalesce(case comparator when '>=' then achieved_value >= target_value
                   else achieved_value = target_value end, false) end as is_met
from (select *, not coalesce(is_part and achieved_value > 100, false) as is_consistent from progress);

-- what happened to every received file, for feedback to the unit
create or replace table fct_submission_feedback as
with versions as (
    select file_hash, unit_code, period,
           row_number() over (partition by unit_code, period order by submitted_at, loaded_at, file_hash) as submission_version,
           count(*) over (partition by unit_code, period) as version_count
    from working.raw.submissions
),
problems as (
    select file_hash,
           count(*) filter (severity = 'error') as error_count, count(*) filter (severity = 'warning') as warning_count,
           string_agg(reason_code, ', ' order by source_row nulls first, reason_code) as reason_codes,
           string_agg(message_vi, chr(10) order by source_row nulls first, reason_code) as messages_vi,
           string_agg(message_en, chr(10) order by source_row nulls first, reason_code) as messages_en
    from working.raw.submission_problems group by file_hash
),
originals as (
    select file_hash, file_name as original_file_name, claimed_unit_code, claimed_period
    from working.raw.received_files where outcome <> 'duplicate'
)
select r.file_hash || ':' || r.source_path as feedback_id, r.file_hash, r.file_name, r.source_path, r.received_at,
       r.load_id, coalesce(v.unit_code, r.claimed_unit_code, o.claimed_unit_code) as unit_code,
       coalesce(v.period, r.claimed_period, o.claimed_period) as period, r.outcome,
       case when r.outcome = 'duplicate' then 'duplicate' when r.outcome = 'rejected' then 'rejected'
            when v.submission_version = v.version_count then 'accepted' else 'superseded' end as status,
       v.submission_version,
       case when r.outcome = 'duplicate' then o.original_file_name end as duplicate_of_file_name,
       coalesce(pr.error_count, 0) as error_count, coalesce(pr.warning_count, 0) as warning_count,
       pr.reason_codes, pr.messages_vi, pr.messages_en
from working.raw.received_files r
left join versions v on r.file_hash = v.file_hash and r.outcome = 'accepted'
left join problems pr on r.file_hash = pr.file_hash and r.outcome <> 'duplicate'
left join originals o on r.file_hash = o.file_hash and r.outcome = 'duplicate';

-- every accepted version, and whether it is the current one placed in the hierarchy (what the
-- pipeline's own change sets read)
create or replace table fct_submission_versions as
with numbered as (select * from numbered_versions)
select n.file_hash, n.unit_code || ':' || n.period as submission_id, n.submission_version, n.unit_code, n.period,
       cast(n.period || '-01' as date) as period_start_date, n.submitted_at, n.loaded_at,
       n.submission_version = n.version_count as is_current,
       n.file_hash in (select file_hash from submissions_current_placed) as is_current_placed
from numbered n;

-- the slices of fct_indicator_values that the marts publish as their own tables
create or replace view fct_beneficiaries as
select indicator_value_id, submission_id, submission_version, file_hash, unit_code, unit_version_id, district_code,
       period, period_start_date, programme_code, indicator_code, time_aggregation, category, value
from fct_indicator_values where fact = 'beneficiaries';
create or replace view fct_activities as
select indicator_value_id, submission_id, submission_version, file_hash, unit_code, unit_version_id, district_code,
       period, period_start_date, programme_code, indicator_code, time_aggregation, category, value
from fct_indicator_values where fact = 'activities';
create or replace view fct_funds as
select f.indicator_value_id, f.submission_id, f.submission_version, f.file_hash, f.unit_code, f.unit_version_id,
       f.district_code, f.period, f.period_start_date, f.programme_code, i.fund_source, f.indicator_code,
       f.value as amount_vnd
from fct_indicator_values f join dim_indicators i using (indicator_code) where f.fact = 'funds';

create or replace table dim_programmes as select programme_code, programme_name_vi, programme_name_en from programmes;
create or replace table dim_club_types as
select club_type_code, club_type_name_vi, club_type_name_en, club_group, programme_code from club_types;
create or replace table dim_unit_changes as
select cast(change_date as varchar) || ':' || old_unit_code || ':' || coalesce(new_unit_code, '') as unit_change_id,
       change_date, old_unit_code, old_unit_name, new_unit_code, new_unit_name, change_type
from unit_changes;
