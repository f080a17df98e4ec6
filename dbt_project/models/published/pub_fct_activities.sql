-- fct_activities as readers get it: fct_indicator_values' activities rows as published, so every cell
-- chosen by disclosure_hidden_cells (a small count of victims, or a cell hidden so that one cannot be
-- derived) has its value blanked and value_is_suppressed set. Published as a view of
-- fct_indicator_values (meta published_view; macros/disclosure.sql, published_slice).
{{ config(alias='fct_activities') }}
{{ published_slice(ref('pub_fct_indicator_values'), ref('fct_activities')) }}
