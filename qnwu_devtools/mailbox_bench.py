"""`qnwu bench mailbox`: how fast the reporting mailbox answers, and what a full mailbox costs (issue 17).

Both scenarios use real servers on localhost (qnwu_devtools/mail_servers.py): a throw-away Dovecot
holding the union's mailbox and an aiosmtpd server that takes the replies, notes when each arrived
and delivers it into a Maildir of the same Dovecot.

1. A province month: January 2023 for the real units (generator, one report per unit, its first
   version), each unit's sender address registered, one message per unit (one attachment each)
   put into the mailbox at once, each delivery's time noted. The qnwu_mailbox DAG then runs once
   through Airflow (`python -m qnwu_warehouse.mailbox`: dag.test(), as `qnwu run` does, Airflow's
   metadata migrated beforehand as a deployment's is) with the deployment's defaults. Each
   sender's latency is from its message's delivery to its reply's arrival at the SMTP server.
2. A full mailbox: N messages (default 10,000) repeating those reports, each with its own
   Message-ID and its own registered sender (copies after the first are duplicates and are answered
   as such). Intake, ingest and replies then run one after another, each as a fresh process whose
   process tree's resident memory is sampled every 50 ms (benchmark.measure), with
   QNWU_MAILBOX_MAX_MESSAGES=N so one intake takes them all.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psutil

from qnwu_devtools.benchmark import _progress, measure

TARGET_LATENCY_SECONDS = 120
TARGET_PEAK_MB = 4096
DAG_SCHEDULE_SECONDS = 120  # dags/qnwu_mailbox.py runs every 2 minutes


def province_reports(folder: Path, units: int | None) -> list[Path]:
    """January 2023's reports of the real units (or the first `units`), one per unit: its first version."""
    from qnwu_devtools.generator import generate

    if folder.exists():
        shutil.rmtree(folder)
    generate(folder, year=2023, months=1, units=units)
    files = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and "_v" not in p.stem)
    first: dict[str, Path] = {}
    for path in files:
        first.setdefault(path.name.split("_")[0], path)
    return [first[unit] for unit in sorted(first)]


def _message(sender: str, report: Path, domain: str) -> tuple[str, bytes]:
    from qnwu_devtools.mail_servers import attach, new_message

    unit = report.name.split("_")[0]
    message = new_message(sender, f"Báo cáo tháng 1/2023 đơn vị {unit}", domain=domain)
    attach(message, report.name, report.read_bytes())
    return message["Message-ID"], message.as_bytes()


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _write_registry(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["unit_code", "email"])
        writer.writerows(rows)


def _migrate_airflow(env: dict[str, str], log: Path) -> None:
    """Airflow's metadata database created once, before the clock starts (a deployment's exists)."""
    code = (
        "from qnwu_warehouse.settings import Settings\n"
        "from qnwu_warehouse.orchestration.airflow_runner import configure, migrate_metadata\n"
        "s = Settings.from_env(); s.ensure_data_dir(); configure(s); migrate_metadata(s)\n"
    )
    done = measure([sys.executable, "-c", code], env, "airflow db migrate", "-", 0, log)
    if done.exit_code != 0:
        raise RuntimeError(f"airflow db migrate failed: see {log}")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def province_month(workdir: Path, dovecot, smtp, reports: list[Path]) -> dict:
    from qnwu_devtools.mail_servers import environment

    root = _fresh(workdir / "province")
    data_dir = root / "data"
    data_dir.mkdir()
    senders = root / "senders.csv"
    units = [report.name.split("_")[0] for report in reports]
    _write_registry(senders, [(unit, f"don-vi-{unit}@donvi.test") for unit in units])
    env = environment(data_dir, dovecot, smtp.port, "province", senders)
    for name in ("QNWU_LANDING_SETTLE_SECONDS", "QNWU_INGEST_WORKERS"):
        env.pop(name)  # the deployment's defaults (2 s settle, one ingest worker per CPU)
    _progress("province month: migrating Airflow's metadata (once, not timed)")
    _migrate_airflow(env, root / "airflow-migrate.log")

    messages = [
        _message(f"don-vi-{unit}@donvi.test", report, "donvi.test") for unit, report in zip(units, reports, strict=True)
    ]
    _progress(f"province month: delivering {len(messages)} messages into the mailbox at once")
    delivered: dict[str, float] = {}
    for message_id, raw in messages:
        dovecot.deliver("province", raw)
        delivered[message_id] = time.time()
    dag_started = time.time()
    _progress("province month: running the qnwu_mailbox DAG through Airflow (dag.test())")
    run = measure(
        [sys.executable, "-m", "qnwu_warehouse.mailbox"],
        env,
        "qnwu_mailbox DAG",
        "province",
        len(messages),
        root / "dag.log",
    )
    first_reply: dict[str, float] = {}
    for arrival in list(smtp.handler.arrivals):
        thread = arrival["in_reply_to"]
        if thread in delivered:
            first_reply[thread] = min(first_reply.get(thread, arrival["at"]), arrival["at"])
    latencies = [first_reply[m] - delivered[m] for m in delivered if m in first_reply]
    unanswered = len(delivered) - len(latencies)
    outcomes = _ledger_outcomes(data_dir)
    last = max(first_reply.values(), default=dag_started)
    result = {
        "messages": len(messages),
        "replies": len(latencies),
        "unanswered": unanswered,
        "latency_median_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p90_s": round(_percentile(latencies, 0.9), 2) if latencies else None,
        "latency_max_s": round(max(latencies), 2) if latencies else None,
        "latency_min_s": round(min(latencies), 2) if latencies else None,
        "delivery_spread_s": round(max(delivered.values()) - min(delivered.values()), 2),
        "dag_run_seconds": round(run.seconds, 2),
        "dag_exit_code": run.exit_code,
        "dag_peak_mb": round(run.peak_mb),
        "first_to_last_reply_s": round(last - min(first_reply.values(), default=last), 2),
        "ledger_outcomes": outcomes,
    }
    result["target_met"] = bool(
        run.exit_code == 0 and unanswered == 0 and latencies and max(latencies) <= TARGET_LATENCY_SECONDS
    )
    return result


def _ledger_outcomes(data_dir: Path) -> dict[str, int]:
    import duckdb

    working = data_dir / "warehouse" / "working.duckdb"
    if not working.exists():
        return {}
    with duckdb.connect(str(working), read_only=True) as con:
        return dict(
            con.execute(
                "select outcome, count(*) from raw.received_files where source_path like 'mailbox/%' group by 1 order by 1"
            ).fetchall()
        )


def _stage_result(log: Path) -> dict:
    for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return {}


def full_mailbox(workdir: Path, dovecot, smtp, reports: list[Path], count: int) -> dict:
    from qnwu_devtools.mail_servers import environment

    root = _fresh(workdir / "full")
    data_dir = root / "data"
    data_dir.mkdir()
    senders = root / "senders.csv"
    plan = []
    for i in range(count):
        report = reports[i % len(reports)]
        unit = report.name.split("_")[0]
        plan.append((unit, f"don-vi-{unit}-{i}@bulk.test", report))
    _write_registry(senders, [(unit, address) for unit, address, _ in plan])
    env = environment(data_dir, dovecot, smtp.port, "bulk", senders, QNWU_MAILBOX_MAX_MESSAGES=str(count))
    env.pop("QNWU_INGEST_WORKERS")  # the deployment's default: one worker per CPU
    started = time.perf_counter()
    _progress(f"full mailbox: delivering {count:,} messages into the mailbox")
    message_ids = set()
    for _unit, address, report in plan:
        message_id, raw = _message(address, report, "bulk.test")
        message_ids.add(message_id)
        dovecot.deliver("bulk", raw)
    delivery_seconds = time.perf_counter() - started
    size_mb = sum(p.stat().st_size for p in (dovecot.maildir("bulk") / "new").iterdir()) / 2**20
    replies_before = len(smtp.handler.arrivals)
    stages = {}
    for stage in ("intake", "ingest", "replies"):
        _progress(f"full mailbox: {stage}")
        m = measure(
            [sys.executable, "-m", "qnwu_devtools.mailbox_bench", "_stage", stage],
            env,
            stage,
            f"{count}",
            count,
            root / f"{stage}.log",
        )
        summary = _stage_result(root / f"{stage}.log")
        items = {"intake": summary.get("messages_seen", 0), "ingest": summary.get("files_new", 0)}.get(
            stage, summary.get("sent", 0)
        )
        stages[stage] = {
            "seconds": round(m.seconds, 2),
            "peak_mb": round(m.peak_mb),
            "exit_code": m.exit_code,
            "items": items,
            "per_second": round(items / m.seconds, 1) if m.seconds else 0,
            "summary": summary,
        }
        if m.exit_code != 0:
            break
    answered = {a["in_reply_to"] for a in smtp.handler.arrivals[replies_before:]} & message_ids
    peak = max(s["peak_mb"] for s in stages.values())
    return {
        "messages": count,
        "distinct_reports": len(reports),
        "mailbox_mb": round(size_mb, 1),
        "delivery_seconds": round(delivery_seconds, 1),
        "stages": stages,
        "replies_received": len(smtp.handler.arrivals) - replies_before,
        "messages_answered": len(answered),
        "peak_mb": peak,
        "target_met": peak < TARGET_PEAK_MB and all(s["exit_code"] == 0 for s in stages.values()),
        "intake_fetches": "one message at a time: UID SEARCH for the unflagged UIDs, then per UID its size and "
        "BODY.PEEK[] (at most QNWU_MAILBOX_MAX_MESSAGE_BYTES held), landed and flagged before the next",
    }


def _run_stage(stage: str) -> int:
    """One stage in a process of its own, so it is measured like an operator's run (internal)."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    if stage == "intake":
        from qnwu_warehouse.mailbox.stages import intake_stage

        result = intake_stage()
    elif stage == "ingest":
        from qnwu_warehouse.orchestration.pipeline import ingest_stage

        result = ingest_stage(run_id=time.strftime("bench_mailbox__%Y%m%dT%H%M%S"))
    else:
        from qnwu_warehouse.mailbox.stages import reply_stage

        result = reply_stage()
    print("RESULT " + json.dumps(result, default=str), flush=True)
    return 0


def format_report(province: dict | None, full: dict | None) -> str:
    lines = []
    if province:
        p = province
        lines.append(
            f"province month: {p['messages']} messages delivered at once (within {p['delivery_spread_s']} s), "
            f"{p['replies']} answered, {p['unanswered']} unanswered; DAG run {p['dag_run_seconds']} s "
            f"(exit {p['dag_exit_code']}, peak {p['dag_peak_mb']:,} MB); ledger {p['ledger_outcomes']}"
        )
        if p["replies"]:
            lines.append(
                f"latency from delivery to reply: count {p['replies']}, median {p['latency_median_s']:.1f} s, "
                f"90th percentile {p['latency_p90_s']:.1f} s, max {p['latency_max_s']:.1f} s "
                f"(min {p['latency_min_s']:.1f} s; first to last reply {p['first_to_last_reply_s']:.1f} s)"
            )
            lines.append(
                f"  the run started at delivery; with the DAG's 2-minute schedule a message may wait up to "
                f"{DAG_SCHEDULE_SECONDS} s more for its run: worst case about "
                f"{DAG_SCHEDULE_SECONDS + p['latency_max_s']:.0f} s"
            )
        lines.append(
            f"target {'met   ' if p['target_met'] else 'MISSED'}: every reply within {TARGET_LATENCY_SECONDS} s of delivery"
            + (f": max {p['latency_max_s']:.1f} s" if p["replies"] else ": no reply")
        )
    if full:
        f = full
        lines.append(
            f"full mailbox: {f['messages']:,} messages ({f['distinct_reports']} distinct reports, {f['mailbox_mb']:,} MB), "
            f"delivered in {f['delivery_seconds']} s"
        )
        lines.append(f"{'stage':<9}{'items':>8}{'seconds':>9}{'items/s':>9}{'peak MB':>9}  exit")
        for stage, s in f["stages"].items():
            kind = {"intake": "messages", "ingest": "files", "replies": "replies"}[stage]
            lines.append(
                f"{stage:<9}{s['items']:>8,}{s['seconds']:>9.1f}{s['per_second']:>9.1f}{s['peak_mb']:>9,}  {s['exit_code']}"
                f"  ({kind})"
            )
        ingest = f["stages"].get("ingest", {}).get("summary", {})
        if ingest:
            lines.append(
                f"ingest: {ingest.get('accepted', 0):,} accepted, {ingest.get('rejected', 0):,} rejected, "
                f"{ingest.get('duplicates', 0):,} duplicates (a copy is known by its hash and not read again, so this "
                "is not the parsing rate of distinct reports: see `qnwu bench ingest`)"
            )
        lines.append(
            f"replies received by the SMTP server: {f['replies_received']:,}; messages answered: {f['messages_answered']:,}"
        )
        lines.append(f"intake memory is bounded: it fetches {f['intake_fetches']}")
        lines.append(
            f"target {'met   ' if f['target_met'] else 'MISSED'}: peak memory < 4 GB: {f['peak_mb']:,} MB "
            "(the largest process tree of intake, ingest and replies)"
        )
    return "\n".join(lines)


def bench_mailbox(
    workdir: Path, messages: int, units: int | None, json_path: Path | None, province: bool = True, full: bool = True
) -> int:
    from qnwu_devtools.mail_servers import Dovecot, SmtpServer, dovecot_installed

    if not dovecot_installed():
        print("qnwu bench mailbox: dovecot is not installed: run bin/setup (it installs dovecot-imapd)", file=sys.stderr)
        return 2
    workdir = workdir / "mailbox"
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    print(
        f"machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB; load average "
        f"{load_at_start[0]:.2f} {load_at_start[1]:.2f} {load_at_start[2]:.2f}; Dovecot (IMAP) and aiosmtpd on localhost",
        flush=True,
    )
    reports = province_reports(workdir / "reports", units)
    home = Path(tempfile.mkdtemp(prefix="qnwu-bench-dovecot-"))
    home.chmod(0o755)
    dovecot = Dovecot(home, users=("province", "bulk", "a", "b", "c"))
    smtp = SmtpServer(dovecot)
    results: dict[str, dict] = {}
    try:
        if province:
            results["province_month"] = province_month(workdir, dovecot, smtp, reports)
        if full:
            results["full_mailbox"] = full_mailbox(workdir, dovecot, smtp, reports, messages)
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(home, ignore_errors=True)
    print(format_report(results.get("province_month"), results.get("full_mailbox")))
    total = time.perf_counter() - started
    load_at_end = [round(x, 2) for x in os.getloadavg()]
    print(f"benchmark wall time {total:.0f} s; load average at the end {' '.join(f'{x:.2f}' for x in load_at_end)}")
    if json_path:
        document = {
            "date": date.today().isoformat(),
            "command": "qnwu bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]),
            "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30)},
            "load_average_1_5_15_min": {"start": load_at_start, "end": load_at_end},
            "targets": {
                "every reply within 120 s of delivery": results.get("province_month", {}).get("target_met"),
                "peak memory < 4 GB": results.get("full_mailbox", {}).get("target_met"),
            },
            **results,
            "benchmark_seconds": round(total, 1),
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(document, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        print(f"results written to {json_path}")
    failed = any(not r.get("target_met") for r in results.values())
    return 1 if failed else 0


def add_parser(commands) -> None:
    mailbox = commands.add_parser(
        "mailbox",
        help="reply latency of a province month by mail, and a 10,000-message mailbox's memory and throughput",
        description="Against a real Dovecot and aiosmtpd on localhost: (1) one month's report of every unit delivered "
        "at once, the qnwu_mailbox DAG run through Airflow, each reply's latency from delivery (target: every reply "
        "within 120 s); (2) --messages messages, intake, ingest and replies each as a fresh process: throughput and "
        "peak memory (target < 4 GB).",
    )
    mailbox.add_argument("--workdir", default="data/bench", help="where generated data, runs and logs go")
    mailbox.add_argument("--json", dest="json_path", help="also write the figures as JSON here")
    mailbox.add_argument("--messages", type=int, default=10_000, help="messages in the full mailbox (default 10000)")
    mailbox.add_argument(
        "--units",
        type=int,
        help="only the first N of the 177 real units (default: all); the full mailbox repeats their reports",
    )
    mailbox.add_argument("--only", choices=["province", "full"], help="run only one of the two scenarios")


def main(args: argparse.Namespace, workdir: Path) -> int:
    if args.messages < 1 or (args.units is not None and not 1 <= args.units <= 177):
        raise SystemExit("qnwu bench mailbox: --messages must be 1 or more, --units 1 to 177 (the real units)")
    return bench_mailbox(
        workdir,
        args.messages,
        args.units,
        Path(args.json_path).resolve() if args.json_path else None,
        province=args.only in (None, "province"),
        full=args.only in (None, "full"),
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["_stage"] and sys.argv[2:3] and sys.argv[2] in ("intake", "ingest", "replies"):
        sys.exit(_run_stage(sys.argv[2]))
    raise SystemExit("usage: qnwu bench mailbox ... (python -m qnwu_devtools.mailbox_bench _stage is internal)")
