"""Telling people that the quality gate stopped a publish: a webhook (Slack's incoming webhooks
take the same JSON) and/or an email. Both are off unless configured (QNWU_ALERT_WEBHOOK_URL,
QNWU_ALERT_EMAIL_TO with QNWU_SMTP_HOST). An alert that cannot be delivered is logged, never
raised: the gate's own failure is what must reach Airflow."""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage

from qnwu_warehouse.settings import Settings

log = logging.getLogger(__name__)


def notify_gate_failure(settings: Settings, run_id: str, message: str) -> list[str]:
    """Send the failure to every configured channel; returns the channels that accepted it."""
    delivered = []
    subject = f"[qnwu] quality gate failed, nothing published (run {run_id})"
    if settings.alert_webhook_url:
        body = json.dumps({"text": f"{subject}\n{message}", "run_id": run_id}).encode("utf-8")
        request = urllib.request.Request(
            settings.alert_webhook_url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            delivered.append("webhook")
        except OSError as problem:
            log.warning("could not post the gate failure to %s: %s", settings.alert_webhook_url, problem)
    if settings.alert_email_to and settings.smtp_host:
        email = EmailMessage()
        email["Subject"], email["From"], email["To"] = subject, "qnwu-warehouse@localhost", settings.alert_email_to
        email.set_content(message)
        host, _, port = settings.smtp_host.partition(":")
        try:
            with smtplib.SMTP(host, int(port or 25), timeout=10) as smtp:
                smtp.send_message(email)
            delivered.append("email")
        except OSError as problem:
            log.warning("could not email the gate failure to %s: %s", settings.alert_email_to, problem)
    return delivered
