-- How units changed: the 2024-11-01 mergers and renames and the 2025-07-01 reorganisation
-- (district level abolished, 171 communes into 54, some split between several new communes:
-- change_type merge_partial). An empty new_unit_code means the target could not be derived
-- from the official lists (see qnwu_devtools/reference_units.py).
with unit_changes as (
    select * from {{ ref('unit_changes') }}
),

final as (
    select
        cast(change_date as {{ dbt.type_string() }}) || ':' || old_unit_code || ':'
        || coalesce(new_unit_code, '') as unit_change_id,
        change_date,
        old_unit_code,
        old_unit_name,
        new_unit_code,
        new_unit_name,
        change_type
    from unit_changes
)

select * from final
