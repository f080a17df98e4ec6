"""Smoke run of `qnwu bench mailbox` on a small scale: 10 units' province month through the
qnwu_mailbox DAG and a mailbox of 50 messages, against the real Dovecot and aiosmtpd of
qnwu_devtools/mail_servers.py. It checks that every message got its reply and that the figures are
sane, not how fast anything is (that depends on the machine: docs/benchmarks.md)."""

from __future__ import annotations

import json

import pytest
from support import run_qnwu_cli

from qnwu_devtools.mail_servers import dovecot_installed

pytestmark = pytest.mark.slow

if not dovecot_installed():
    pytest.skip("dovecot is not installed: run bin/setup (it installs dovecot-imapd)", allow_module_level=True)


def test_bench_mailbox_answers_every_message_and_prints_its_figures(tmp_path):
    results = tmp_path / "mailbox.json"
    done = run_qnwu_cli(
        ["bench", "mailbox", "--workdir", str(tmp_path), "--units", "10", "--messages", "50", "--json", str(results)],
        timeout=600,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(results.read_text(encoding="utf-8"))
    province = report["province_month"]
    assert province["messages"] == province["replies"] == 10 and province["unanswered"] == 0
    assert province["ledger_outcomes"] == {"accepted": 10}
    assert 0 < province["latency_median_s"] <= province["latency_max_s"] < 600
    full = report["full_mailbox"]
    assert full["messages"] == full["messages_answered"] == full["replies_received"] == 50
    for stage in ("intake", "ingest", "replies"):
        figures = full["stages"][stage]
        assert figures["exit_code"] == 0 and figures["items"] == 50, (stage, figures)
        assert figures["per_second"] > 0 and 0 < figures["peak_mb"] < 4096, (stage, figures)
    assert full["stages"]["ingest"]["summary"]["accepted"] == 10
    assert full["stages"]["ingest"]["summary"]["duplicates"] == 40
    assert report["targets"] == {"every reply within 120 s of delivery": True, "peak memory < 4 GB": True}
    assert "latency from delivery to reply: count 10, median" in done.stdout
    assert "target met   : every reply within 120 s of delivery" in done.stdout
    assert "target met   : peak memory < 4 GB" in done.stdout
