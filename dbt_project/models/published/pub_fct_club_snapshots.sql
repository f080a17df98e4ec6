-- fct_club_snapshots as readers get it. Club names are not published: a livestock or household
-- model is often named after its village or its family, and with one or two members the name
-- points to a household. Type, status and members are published; club_id is the unit's own code
-- for the club (CLB-01), which names no one.
{{ config(alias='fct_club_snapshots') }}
select * exclude (club_name)
from {{ ref('fct_club_snapshots') }}
