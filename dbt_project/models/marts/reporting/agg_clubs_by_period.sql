-- Clubs and models for the province and each district, by month, quarter and year, per club
-- type and per club group (e.g. environment = waste-sorting + waste-to-money models).
-- A club count is a stock: it comes from each unit's last register in the period (clubs still
-- open then) among the units that still exist at the period's end. New clubs are counted once
-- each, in the period they were founded. Units are counted distinct, against the grassroots units
-- that existed at the end of the period.
-- Incremental: a run rebuilds only the months, quarters and years that hold newly loaded reports
-- (changed_buckets in macros/period_buckets.sql), from the reports loaded since, also those that
-- now have no rows; strategy replace_period_buckets deletes a bucket left empty.
with periods as (
    select * from {{ ref('dim_periods') }}
),

{% if is_incremental() %}
changed as (
    {{ changed_buckets(ref('int_submissions_current_placed'), 'periods') }}
),
{% endif %}

snapshots as (
    -- only the columns the roll-up reads: rows are copied below (per type and group, per bucket),
    -- and the ids, names and file hashes would be copied with them
    select
        unit_code, district_code, period_start_date, club_id, club_type_code, club_group, is_new,
        is_open_at_period_end, members, loaded_at
    from {{ ref('fct_club_snapshots') }}
    {% if is_incremental() %}
    where period_start_date in ({{ months_of_changed_buckets('changed', 'periods') }})
    {% endif %}
),

units as (
    select * from {{ ref('dim_units') }}
),

province as (
    select unit_code from units
    where unit_level = 'province' and valid_to is null
),

units_at_period_end as (
    {{ grassroots_units_at_bucket_end('periods', 'units') }}
),

-- A unit's last register in each period: found among its (unit, month) pairs, not among its club
-- rows, so that only the clubs of that one month are read for a stock (a year bucket would
-- otherwise carry twelve months of club rows to keep one).
-- A register the unit declared empty (contract version 2, `none` for the club section) is a
-- register: with no clubs in it, it is the unit's last register and closes what it had. An empty
-- club list without it is only not reported, and the unit's earlier register stands.
declared_empty_registers as (
    select unit_code, period_start_date
    from {{ ref('int_submissions_current_placed') }}
    where clubs_declared_none
    {% if is_incremental() %}
        and period_start_date in ({{ months_of_changed_buckets('changed', 'periods') }})
    {% endif %}
),

registers as (
    select distinct unit_code, period_start_date from snapshots
    union
    select unit_code, period_start_date from declared_empty_registers
),

register_buckets as (
    {{ period_buckets('registers', 'periods', only_buckets='changed' if is_incremental() else none) }}
),

last_registers as (
    select
        period_grain,
        period_label,
        unit_code,
        max(period_start_date) as last_period_start_date
    from register_buckets
    group by period_grain, period_label, unit_code
),

at_period_end as (
    select snapshots.*, last_registers.period_grain, last_registers.period_label
    from last_registers
    inner join snapshots
        on last_registers.unit_code = snapshots.unit_code
        and last_registers.last_period_start_date = snapshots.period_start_date
    where snapshots.is_open_at_period_end
        -- only units that still exist at period end: a unit merged away mid-period handed its
        -- clubs to its successor, whose register counts them
        and exists (
            select 1 from units_at_period_end
            where units_at_period_end.period_grain = last_registers.period_grain
                and units_at_period_end.period_label = last_registers.period_label
                and units_at_period_end.unit_code = last_registers.unit_code
        )
),

new_clubs as (
    select * from snapshots
    where is_new
),

new_in_period as (
    {{ period_buckets('new_clubs', 'periods', only_buckets='changed' if is_incremental() else none) }}
),

-- each club counts under its type and under its group
categorised_open as (
    select at_period_end.*, 'type' as club_category_level, club_type_code as club_category_code from at_period_end
    union all
    select at_period_end.*, 'group' as club_category_level, club_group as club_category_code from at_period_end
),

categorised_new as (
    select new_in_period.*, 'type' as club_category_level, club_type_code as club_category_code from new_in_period
    union all
    select new_in_period.*, 'group' as club_category_level, club_group as club_category_code from new_in_period
),

scoped_open as (
    select categorised_open.*, 'province' as scope_level, province.unit_code as scope_code
    from categorised_open cross join province
    union all
    select categorised_open.*, 'district' as scope_level, district_code as scope_code
    from categorised_open
    where district_code is not null
),

scoped_new as (
    select categorised_new.*, 'province' as scope_level, province.unit_code as scope_code
    from categorised_new cross join province
    union all
    select categorised_new.*, 'district' as scope_level, district_code as scope_code
    from categorised_new
    where district_code is not null
),

open_totals as (
    select
        period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code,
        count(*) as clubs_open_at_period_end,
        cast(sum(members) as bigint) as members_at_period_end,
        count(distinct unit_code) as units_with_open_clubs,
        max(loaded_at) as latest_loaded_at
    from scoped_open
    group by period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code
),

new_totals as (
    select
        period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code,
        count(distinct unit_code || ':' || club_id) as clubs_new_in_period,
        max(loaded_at) as latest_loaded_at
    from scoped_new
    group by period_grain, period_label, scope_level, scope_code, club_category_level, club_category_code
),

expected_units as (
    select period_grain, period_label, district_code, count(*) as units_expected
    from units_at_period_end
    group by period_grain, period_label, district_code
),

expected_scoped as (
    select
        period_grain, period_label, 'province' as scope_level, province.unit_code as scope_code,
        sum(units_expected) as units_expected
    from expected_units cross join province
    group by period_grain, period_label, province.unit_code
    union all
    select
        period_grain, period_label, 'district' as scope_level, district_code as scope_code,
        sum(units_expected) as units_expected
    from expected_units
    where district_code is not null
    group by period_grain, period_label, district_code
),

combined as (
    select
        coalesce(open_totals.period_grain, new_totals.period_grain) as period_grain,
        coalesce(open_totals.period_label, new_totals.period_label) as period_label,
        coalesce(open_totals.scope_level, new_totals.scope_level) as scope_level,
        coalesce(open_totals.scope_code, new_totals.scope_code) as scope_code,
        coalesce(open_totals.club_category_level, new_totals.club_category_level) as club_category_level,
        coalesce(open_totals.club_category_code, new_totals.club_category_code) as club_category_code,
        coalesce(open_totals.clubs_open_at_period_end, 0) as clubs_open_at_period_end,
        coalesce(open_totals.members_at_period_end, 0) as members_at_period_end,
        coalesce(open_totals.units_with_open_clubs, 0) as units_with_open_clubs,
        coalesce(new_totals.clubs_new_in_period, 0) as clubs_new_in_period,
        -- the later of the two (greatest() treats a null differently on DuckDB and PostgreSQL)
        case
            when new_totals.latest_loaded_at is null or open_totals.latest_loaded_at > new_totals.latest_loaded_at
                then open_totals.latest_loaded_at
            else new_totals.latest_loaded_at
        end as latest_loaded_at
    from open_totals
    full outer join new_totals
        on open_totals.period_grain = new_totals.period_grain
        and open_totals.period_label = new_totals.period_label
        and open_totals.scope_level = new_totals.scope_level
        and open_totals.scope_code = new_totals.scope_code
        and open_totals.club_category_level = new_totals.club_category_level
        and open_totals.club_category_code = new_totals.club_category_code
),

final as (
    select
        -- text cast to varchar, the contract's type: an incremental run compares the new rows' column types
        -- with the table's, and on PostgreSQL literals and || yield text, not varchar
        cast(
            combined.period_grain || ':' || combined.period_label || ':' || combined.scope_level || ':'
            || combined.scope_code || ':' || combined.club_category_level || ':'
            || combined.club_category_code as varchar
        ) as club_total_id,
        cast(combined.period_grain as varchar) as period_grain,
        cast(combined.period_label as varchar) as period_label,
        cast(combined.scope_level as varchar) as scope_level,
        cast(combined.scope_code as varchar) as scope_code,
        cast(combined.club_category_level as varchar) as club_category_level,
        cast(combined.club_category_code as varchar) as club_category_code,
        cast(combined.clubs_open_at_period_end as bigint) as clubs_open_at_period_end,
        cast(combined.members_at_period_end as bigint) as members_at_period_end,
        cast(combined.clubs_new_in_period as bigint) as clubs_new_in_period,
        cast(combined.units_with_open_clubs as bigint) as units_with_open_clubs,
        cast(expected_scoped.units_expected as bigint) as units_expected,
        -- double precision on both engines (PostgreSQL would divide in numeric)
        100.0 * cast(combined.units_with_open_clubs as double precision) / nullif(expected_scoped.units_expected, 0)
            as units_with_open_clubs_pct,
        combined.latest_loaded_at
    from combined
    left join expected_scoped
        on combined.period_grain = expected_scoped.period_grain
        and combined.period_label = expected_scoped.period_label
        and combined.scope_level = expected_scoped.scope_level
        and combined.scope_code = expected_scoped.scope_code
)

select * from final
