"""Benchmark: audited writes per second with 1, 2 and 4 writers at once (the audit chain's head lock).

Every audited change appends to one hash chain: `audit.services.record` locks the chain head until the
change commits, so writers queue behind each other there. Each writer here runs short transactions
like the portal's smallest audited change (one row updated, one event recorded) for WINDOW seconds,
its own database connection each, released together by a barrier. Printed: writes per second for each
number of writers and the ratio to one writer (1.0 = the head lock serialises them all; more = they
overlap). The chain is verified afterwards. Run by `make bench` (PostgreSQL when DATABASE_URL is set).
"""

import os
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit.services import record
from notifications.models import Notification

WINDOW = float(os.environ.get("BENCH_AUDIT_WINDOW_SECONDS", "5"))
WRITERS = (1, 2, 4)


def writes_per_second(writers: int, notices: list[Notification], actor) -> float:
    start, done, stop = threading.Barrier(writers + 1), [0] * writers, threading.Event()

    def write(index: int) -> None:
        notice = notices[index]
        try:
            start.wait()
            while not stop.is_set():
                with transaction.atomic():
                    Notification.objects.filter(pk=notice.pk).update(read_at=None)
                    record(actor=actor, action="bench.audited_write", obj=notice, after={"writer": index})
                done[index] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(index,)) for index in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    deadline = began + WINDOW
    while time.perf_counter() < deadline:
        stop.wait(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return sum(done) / (time.perf_counter() - began)


@pytest.mark.django_db(transaction=True)
def test_audited_writes_per_second_with_more_writers(cast):
    notices = [
        Notification.objects.create(recipient=cast.alice, kind=Notification.Kind.ACCESS_LIVE, title=f"n{n}", link="/")
        for n in range(max(WRITERS))
    ]
    rates = {writers: writes_per_second(writers, notices, cast.erin) for writers in WRITERS}
    print(f"\n== audited writes ({connection.vendor}), {WINDOW:.0f} s per point: one row and one event each ==")
    for writers, rate in rates.items():
        print(f"{writers} writer(s) {rate:8.1f} writes/s  x{rate / rates[1]:.2f} of one writer")
    call_command("verify_audit")
    assert all(rate > 0 for rate in rates.values())
