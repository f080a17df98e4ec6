"""Reports pulled from the union's mailbox and answered within minutes (issue 17, docs/mailbox.md).

Every minute, and on demand (a province month is answered in about 20 s, so a report waits at most
about 80 s for its reply: docs/benchmarks.md): new messages are taken from the IMAP mailbox (Airflow connection
QNWU_MAILBOX_IMAP_CONN_ID) and each report attachment is landed durably under mailbox/ in the
landing zone before the message is flagged processed; ingest then checks them like any landing
file (a sender not registered for the unit is refused); finally each file gets exactly one reply
in its thread through the SMTP connection QNWU_MAILBOX_SMTP_CONN_ID; then units with no report
are reminded before the deadline and officers get the list of units missing or late after it
(once per unit or officer and period). When something was accepted,
the asset qnwu://warehouse/raw/submissions is updated, which starts qnwu_publish.
All logic lives in qnwu_warehouse.mailbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from qnwu_warehouse.orchestration.assets import RAW_SUBMISSIONS


@dag(
    dag_id="qnwu_mailbox",
    schedule=timedelta(minutes=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,  # until a mailbox is configured (docs/mailbox.md): then unpause it
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["qnwu", "mailbox", "ingest"],
    doc_md=__doc__,
)
def qnwu_mailbox():
    @task
    def fetch_mail() -> dict:
        from qnwu_warehouse.mailbox.stages import intake_stage

        return intake_stage()

    @task
    def ingest_submissions(intake: dict) -> dict:
        from qnwu_warehouse.orchestration.pipeline import ingest_stage

        return ingest_stage(run_id=get_current_context()["run_id"])

    @task
    def send_replies(summary: dict) -> dict:
        from qnwu_warehouse.mailbox.stages import reply_stage

        return reply_stage()

    @task
    def send_reminders(replies: dict) -> dict:
        from qnwu_warehouse.mailbox.stages import reminder_stage

        # run_after, not logical_date: Airflow 3 leaves a triggered run's logical_date empty
        return reminder_stage(moment=get_current_context()["dag_run"].run_after.isoformat())

    @task.short_circuit
    def new_data_landed(summary: dict) -> bool:
        return summary["accepted"] > 0

    @task(outlets=[RAW_SUBMISSIONS])
    def announce_new_data(summary: dict) -> dict:
        return {"accepted": summary["accepted"], "load_id": summary["load_id"]}

    summary = ingest_submissions(fetch_mail())
    send_reminders(send_replies(summary))
    new_data_landed(summary) >> announce_new_data(summary)


qnwu_mailbox()
