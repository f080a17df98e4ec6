-- Câu lạc bộ, mô hình theo loại / Clubs and models by type, per year.
-- For the province and each district, from marts.agg_clubs_by_period. A club count is a stock:
-- clubs open at year end (each unit's last register of the year), never a sum of monthly
-- registers; new clubs are counted once, in the year they were founded. units_with_clubs_pct is
-- against the grassroots units in force at year end (the article's "149/177 (84,1%)" is the
-- environment group, see article_figures_2023).
-- Shares are rounded to one decimal, except that a share short of 100 % never reads as 100 %
-- (99.96 shows as 99.9) and a share above 0 never reads as 0.
select
    cast(clubs.period_label as integer) as report_year,
    clubs.scope_level,
    clubs.scope_code,
    units.unit_name as scope_name_vi,
    club_types.club_group,
    clubs.club_category_code as club_type_code,
    club_types.club_type_name_vi,
    clubs.clubs_open_at_period_end as clubs_open_at_year_end,
    clubs.members_at_period_end as members_at_year_end,
    clubs.clubs_new_in_period as clubs_new_in_year,
    clubs.units_with_open_clubs as units_with_clubs,
    clubs.units_expected,
    case
        when clubs.units_with_open_clubs_pct > 0 and clubs.units_with_open_clubs_pct < 100
            then least(greatest(round(clubs.units_with_open_clubs_pct, 1), 0.1), 99.9)
        else round(clubs.units_with_open_clubs_pct, 1)
    end as units_with_clubs_pct
from marts.agg_clubs_by_period as clubs
inner join marts.dim_club_types as club_types on club_types.club_type_code = clubs.club_category_code
left join marts.dim_units as units
    on units.unit_code = clubs.scope_code
    and units.unit_level = clubs.scope_level
    and units.valid_from <= make_date(cast(clubs.period_label as integer), 12, 1)
    and (units.valid_to is null or units.valid_to > make_date(cast(clubs.period_label as integer), 12, 1))
where clubs.period_grain = 'year' and clubs.club_category_level = 'type'
order by report_year, clubs.scope_level = 'district', clubs.scope_code, club_types.club_group, clubs_open_at_year_end desc;
