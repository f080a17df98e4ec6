"""`python -m qnwu_warehouse.mailbox`: run the qnwu_mailbox DAG once through Airflow (dag.test(), the
embedded SQLite metadata, as `qnwu run` does) and print what it did."""

from __future__ import annotations

import json
import sys


def main() -> int:
    from qnwu_warehouse.settings import ConfigError, MailboxSettings, Settings

    try:
        settings = Settings.from_env()
        settings.ensure_data_dir()
        MailboxSettings.from_env()
    except ConfigError as error:
        print(f"qnwu mailbox: {error}", file=sys.stderr)
        return 2
    from qnwu_warehouse.orchestration.airflow_runner import run_dag

    run = run_dag(settings, "qnwu_mailbox")
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(f"qnwu_mailbox: {run.state} {json.dumps(states, sort_keys=True)}")
    return 0 if str(run.state) in ("success", "DagRunState.SUCCESS") else 1


if __name__ == "__main__":
    sys.exit(main())
