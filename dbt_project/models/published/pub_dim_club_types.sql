-- dim_club_types as readers get it: it holds no sensitive count (docs/privacy.md).
{{ config(alias='dim_club_types') }}
select * from {{ ref('dim_club_types') }}
