-- agg_indicators_by_period as readers get it: every cell chosen by disclosure_hidden_cells (a small count of
-- victims, or a cell hidden so that one cannot be derived) has its value blanked and value_is_suppressed set.
{{ config(alias='agg_indicators_by_period') }}
{{ with_suppression(ref('agg_indicators_by_period')) }}
