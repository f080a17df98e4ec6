-- Units with their history (type 2): one row per version, valid from valid_from (inclusive)
-- to valid_to (exclusive, null while still valid). Codes are reused after the 2025 merges, so
-- unit_version_id, not unit_code, is the key; facts join on unit_code and the report's period.
with units as (
    select * from {{ ref('units') }}
),

final as (
    select
        unit_version_id,
        unit_code,
        unit_name,
        unit_level,
        unit_type,
        parent_unit_code,
        district_code,
        district_name,
        valid_from,
        valid_to,
        valid_to is null as is_current
    from units
)

select * from final
