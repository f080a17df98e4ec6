-- Clubs and models per type and year, for the province and each district. A club count is a
-- stock: it comes from each unit's last register of the year (clubs still open then), and new
-- clubs are counted once each, in the year they were founded.
with snapshots as (
    select * from {{ ref('fct_club_snapshots') }}
),

province as (
    select unit_code from {{ ref('dim_units') }} where unit_level = 'province' and valid_to is null
),

last_register as (
    select
        unit_code,
        year(period_start_date) as report_year,
        max(period_start_date) as last_period_start_date
    from snapshots
    group by all
),

year_end as (
    select snapshots.*, last_register.report_year
    from snapshots
    inner join last_register
        on snapshots.unit_code = last_register.unit_code
        and snapshots.period_start_date = last_register.last_period_start_date
    where snapshots.is_open_at_period_end
),

founded as (
    select distinct
        year(period_start_date) as report_year,
        unit_code,
        district_code,
        club_id,
        club_type_code
    from snapshots
    where is_new
),

scoped_year_end as (
    select report_year, 'province' as scope_level, (select unit_code from province) as scope_code,
        club_type_code, unit_code, members from year_end
    union all
    select report_year, 'district', district_code, club_type_code, unit_code, members from year_end
    where district_code is not null
),

scoped_founded as (
    select report_year, 'province' as scope_level, (select unit_code from province) as scope_code,
        club_type_code, count(*) as clubs_new
    from founded group by all
    union all
    select report_year, 'district', district_code, club_type_code, count(*) from founded
    where district_code is not null group by all
),

open_totals as (
    select
        report_year,
        scope_level,
        scope_code,
        club_type_code,
        count(*) as clubs_open_at_year_end,
        sum(members) as members_at_year_end,
        count(distinct unit_code) as units_with_open_clubs
    from scoped_year_end
    group by all
),

final as (
    select
        coalesce(open_totals.report_year, scoped_founded.report_year) as report_year,
        coalesce(open_totals.scope_level, scoped_founded.scope_level) as scope_level,
        coalesce(open_totals.scope_code, scoped_founded.scope_code) as scope_code,
        coalesce(open_totals.club_type_code, scoped_founded.club_type_code) as club_type_code,
        coalesce(open_totals.clubs_open_at_year_end, 0) as clubs_open_at_year_end,
        coalesce(open_totals.members_at_year_end, 0) as members_at_year_end,
        coalesce(open_totals.units_with_open_clubs, 0) as units_with_open_clubs,
        coalesce(scoped_founded.clubs_new, 0) as clubs_new_in_year
    from open_totals
    full outer join scoped_founded
        on open_totals.report_year = scoped_founded.report_year
        and open_totals.scope_level = scoped_founded.scope_level
        and open_totals.scope_code = scoped_founded.scope_code
        and open_totals.club_type_code = scoped_founded.club_type_code
)

select
    report_year || ':' || scope_level || ':' || scope_code || ':' || club_type_code as club_total_id,
    *
from final
