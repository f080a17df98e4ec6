-- fct_submission_feedback as readers get it: what happened to each received file, by reason code.
-- Not published: the server path the file was read from, and the messages, which quote what the
-- file held (a mistyped count of victims, a name typed in a field). Units and operators read the
-- messages from the working warehouse (`qnwu feedback`).
{{ config(alias='fct_submission_feedback') }}
select * exclude (source_path, messages_vi, messages_en)
from {{ ref('fct_submission_feedback') }}
