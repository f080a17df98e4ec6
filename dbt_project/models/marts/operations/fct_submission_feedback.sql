-- What happened to every file a unit sent, in a form that can be sent back to the unit:
-- accepted (and current), superseded by a later version, rejected with its reasons, or a
-- duplicate of a file already received. One row per received file.
-- Incremental: a run rebuilds the rows of the files received since the last run and of every file
-- of a report one of them changed (a new version turns the previous one into 'superseded').
with received_files as (
    select * from {{ ref('stg_raw__received_files') }}
),

versions as (
    select * from {{ ref('int_submissions_versioned') }}
),

{% if is_incremental() %}
new_files as (
    select file_hash from received_files where received_at > (select max(received_at) from {{ this }})
),

rebuilt_files as (
    select file_hash from new_files
    union
    select file_hash from versions
    where submission_id in (select submission_id from versions where file_hash in (select file_hash from new_files))
),
{% endif %}

problems as (
    select
        file_hash,
        count(*) filter (where severity = 'error') as error_count,
        count(*) filter (where severity = 'warning') as warning_count,
        {{ dbt.listagg('reason_code', "', '", 'order by source_row nulls first, reason_code') }} as reason_codes,
        {{ dbt.listagg('message_vi', 'chr(10)', 'order by source_row nulls first, reason_code') }} as messages_vi,
        {{ dbt.listagg('message_en', 'chr(10)', 'order by source_row nulls first, reason_code') }} as messages_en
    from {{ ref('stg_raw__submission_problems') }}
    {% if is_incremental() %}
    where file_hash in (select file_hash from rebuilt_files)
    {% endif %}
    group by file_hash
),

originals as (
    -- the first receipt of each content, which a duplicate points back to
    select file_hash, file_name as original_file_name, claimed_unit_code, claimed_period
    from received_files
    where outcome <> 'duplicate'
),

final as (
    select
        -- text cast to the contract's type (an incremental run compares column types; on
        -- PostgreSQL literals, || and string_agg yield text, not varchar)
        cast(received_files.file_hash || ':' || received_files.source_path as varchar) as feedback_id,
        received_files.file_hash,
        received_files.file_name,
        received_files.source_path,
        received_files.received_at,
        received_files.load_id,
        coalesce(versions.unit_code, received_files.claimed_unit_code, originals.claimed_unit_code) as unit_code,
        coalesce(versions.period, received_files.claimed_period, originals.claimed_period) as period,
        received_files.outcome,
        cast(case
            when received_files.outcome = 'duplicate' then 'duplicate'
            when received_files.outcome = 'rejected' then 'rejected'
            when versions.is_current then 'accepted'
            else 'superseded'
        end as varchar) as status,
        versions.submission_version,
        case when received_files.outcome = 'duplicate' then originals.original_file_name end as duplicate_of_file_name,
        coalesce(problems.error_count, 0) as error_count,
        coalesce(problems.warning_count, 0) as warning_count,
        cast(problems.reason_codes as varchar) as reason_codes,
        cast(problems.messages_vi as varchar) as messages_vi,
        cast(problems.messages_en as varchar) as messages_en
    from received_files
    left join versions
        on received_files.file_hash = versions.file_hash and received_files.outcome = 'accepted'
    left join problems
        on received_files.file_hash = problems.file_hash and received_files.outcome <> 'duplicate'
    left join originals
        on received_files.file_hash = originals.file_hash and received_files.outcome = 'duplicate'
    {% if is_incremental() %}
    where received_files.file_hash in (select file_hash from rebuilt_files)
    {% endif %}
)

select * from final
