-- Người hưởng lợi, quỹ, hoạt động theo chương trình và huyện / Indicators by programme and district.
-- Beneficiaries, funds (VND) and activities, per year.
-- One row per year x indicator x area (the province, then each district), from the year grain of
-- marts.agg_indicators_by_period (flows summed over months, stocks at year end), its categories
-- added up. Indicators are not added together within a programme: they count different things
-- (victims identified and victims supported are partly the same people; poor members helped is a
-- flow, poor members on the register a stock).
--
-- Hidden cells: the published marts blank a sensitive value from 1 to the small-cell threshold - 1
-- (1 to 4 by default) at every level, the province's included, and the cells hidden beside them so
-- that they cannot be derived (value null, value_is_suppressed; docs/privacy.md). A total with a
-- hidden part is unknown, so `value` is null then; `suppressed_parts` says how many parts were
-- hidden and `published_part_value` what the other parts add up to. A hidden part may be any
-- count, not only a small one. Never read a null as zero. No row for an area: no unit there reported it.
with totals as (
    select
        cast(period_label as integer) as report_year,
        scope_level,
        scope_code,
        indicator_code,
        count(*) filter (where value_is_suppressed) as suppressed_parts,
        sum(value) as published_part_value
    from marts.agg_indicators_by_period
    where period_grain = 'year'
    group by all
)

select
    totals.report_year,
    indicators.fact,
    indicators.programme_code,
    indicators.programme_name_vi,
    totals.indicator_code,
    indicators.label_vi,
    indicators.unit_of_measure,
    indicators.is_sensitive,
    totals.scope_level,
    totals.scope_code,
    units.unit_name as scope_name_vi,
    cast(case when totals.suppressed_parts = 0 then totals.published_part_value end as bigint) as value,
    totals.suppressed_parts,
    cast(coalesce(totals.published_part_value, 0) as bigint) as published_part_value
from totals
inner join marts.dim_indicators as indicators using (indicator_code)
left join marts.dim_units as units
    on units.unit_code = totals.scope_code
    and units.unit_level = totals.scope_level
    and units.valid_from <= make_date(totals.report_year, 12, 1)
    and (units.valid_to is null or units.valid_to > make_date(totals.report_year, 12, 1))
order by
    totals.report_year,
    indicators.fact,
    indicators.programme_code,
    totals.indicator_code,
    totals.scope_level = 'district',
    totals.scope_code;
