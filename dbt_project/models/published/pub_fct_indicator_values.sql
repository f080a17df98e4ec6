-- fct_indicator_values as readers get it: every cell chosen by disclosure_hidden_cells (a small count of
-- victims, or a cell hidden so that one cannot be derived) has its value blanked and value_is_suppressed set.
{{ config(alias='fct_indicator_values') }}
{{ with_suppression(ref('fct_indicator_values')) }}
