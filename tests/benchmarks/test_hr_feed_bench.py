"""Benchmark: 10,000 joiners from the HR feed, and approvals answered meanwhile (issue 21).

The feed is checked whole, then applied in batches of `hr_feed.BATCH_SIZE` rows, each one short transaction
whose audit events are recorded together at its end, so other audited writes wait for the chain head a few
milliseconds at a time, not for the whole file. In one run, on PostgreSQL:
1. idle: APPROVERS managers approve their reports' pending requests (threads, own connections), each
   approval timed (`access.services.approve`);
2. the import alone: BENCH_FEED_ROWS (10,000) joiners through `manage.py import_people`'s functions, timed;
3. the same managers approving while a second file of BENCH_FEED_ROWS joiners is imported by
   `manage.py import_people`, in its own process as an operator runs it (from its first committed batch to
   its end). Imported by a thread of this process instead, the feed's Python would hold the interpreter's
   lock the approvers' threads need after each of their queries: what the approvals waited for was then
   mostly that lock, which no web server shares with a command.
Printed: the import's seconds (target < 10 s) and the approvals' p95 idle and during the import (target:
within 2x), with the ratio. The chain is verified at the end. Run by `make bench` (PORTAL_BENCH=1).
"""

import os
import statistics
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from access import services
from accounts import hr_feed
from accounts.models import FeedRun, User
from catalog.models import Entitlement
from tests.accounts.test_hr_feed_batches import HEADER, assert_one_chain, joiners
from tests.iam.workers import database_url_of_this_run

ROWS = int(os.environ.get("BENCH_FEED_ROWS", "10000"))
APPROVERS = 4
REQUESTS_EACH = 120
IDLE_APPROVALS_EACH = 25
REASON = "Deploying the billing service for the Q4 release"


def p95(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=20)[-1] if len(seconds) > 1 else seconds[0]


def open_file(text: str):
    records = hr_feed.parse(hr_feed.decode(text.encode()))
    run, _ = hr_feed.open_run(records, file_digest=hr_feed.digest(text.encode()), requested_label="bench")
    return records, run


def approve_in_threads(queues: list[list[int]], managers: list[User], *, keep_going, start=None) -> list[float]:
    """Each manager approves from their own queue while `keep_going()`; returns every approval's seconds."""
    timings: list[float] = []
    lock = threading.Lock()

    def approve(k: int) -> None:
        try:
            if start is not None:
                start()
            while queues[k] and keep_going():
                began = time.perf_counter()
                services.approve(request_id=queues[k].pop(), actor=managers[k])
                with lock:
                    timings.append(time.perf_counter() - began)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(k,)) for k in range(len(managers))]
    for thread in threads:
        thread.start()
    return threads, timings


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_thousand_joiners_and_approvals_meanwhile(cast, sandbox, tmp_path):
    made = Entitlement.objects.bulk_create(
        Entitlement(account=sandbox.account, aws_name=f"Team{k}", name=f"Team {k}") for k in range(REQUESTS_EACH)
    )
    managers, queues = [], []
    for k in range(APPROVERS):
        manager = User.objects.create_user(email=f"manager{k}@example.com", full_name=f"Manager {k}")
        report = User.objects.create_user(email=f"report{k}@example.com", full_name=f"Report {k}", manager=manager)
        items = [services.CartItem(entitlement) for entitlement in made]
        submitted = services.submit_cart(requester=report, beneficiary=report, justification=REASON, items=items)
        managers.append(manager)
        queues.append([request.pk for request in submitted])

    # 1. Idle approvals.
    idle_queues = [queue[-IDLE_APPROVALS_EACH:] for queue in queues]
    for k in range(APPROVERS):
        del queues[k][-IDLE_APPROVALS_EACH:]
    threads, idle = approve_in_threads(idle_queues, managers, keep_going=lambda: True)
    for thread in threads:
        thread.join(timeout=300)
    assert len(idle) == IDLE_APPROVALS_EACH * APPROVERS

    # 2. The import alone.
    records, run = open_file(HEADER + joiners(ROWS))
    began = time.perf_counter()
    hr_feed.apply(records, run)
    alone = time.perf_counter() - began

    # 3. Approvals during a second import, run by the command in its own process.
    second = tmp_path / "joiners.csv"
    second.write_text(HEADER + joiners(ROWS, start=ROWS))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url_of_this_run(),
        "REDIS_URL": settings.REDIS_URL,
        "PORTAL_SECRET_KEY": settings.SECRET_KEY,
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
    }
    importing = threading.Event()
    importing.set()

    def after_the_first_batch() -> None:
        deadline = time.monotonic() + 120
        while importing.is_set() and time.monotonic() < deadline:
            if FeedRun.objects.filter(state=FeedRun.State.RUNNING, rows_applied__gt=0).exists():
                return
            time.sleep(0.005)

    threads, during = approve_in_threads(queues, managers, keep_going=importing.is_set, start=after_the_first_batch)
    began = time.perf_counter()
    command = subprocess.run(
        [sys.executable, "manage.py", "import_people", str(second)], env=env, capture_output=True, text=True
    )
    beside = time.perf_counter() - began
    importing.clear()
    for thread in threads:
        thread.join(timeout=300)
    assert command.returncode == 0, command.stderr

    idle_p95, during_p95 = p95(idle), p95(during)
    print(f"\n== HR feed ({connection.vendor}): {ROWS:,} joiners, batches of {hr_feed.BATCH_SIZE} ==")
    print(f"import alone            {alone:6.2f} s  ({ROWS / alone:,.0f} rows/s; target < 10 s)")
    print(f"import with approvals   {beside:6.2f} s  (manage.py import_people, its start-up included)")
    print(f"approval p95 idle       {idle_p95 * 1000:6.1f} ms  ({len(idle)} approvals, {APPROVERS} managers at once)")
    print(f"approval p95 importing  {during_p95 * 1000:6.1f} ms  ({len(during)} approvals)")
    print(f"ratio                   {during_p95 / idle_p95:6.2f} x  (target within 2x)")
    assert FeedRun.objects.filter(state=FeedRun.State.SUCCEEDED).count() == 2 and during
    assert_one_chain()
