"""Benchmark: `manage.py verify_audit` over 1,000,000 audit events, against a plain read of the same rows.

The events are written set-based: hashes computed in Python in batches with the chain's own
`event_hash` (so they form a valid chain), then COPY on PostgreSQL or executemany on SQLite.
The baseline reads the same columns of every row through a plain database cursor in the same run;
the ratio shows what verification adds (decoding, canonical JSON, SHA-256 per row). Also printed:
how far the process's resident memory rose while verifying (it streams, so that should not grow
with the number of events; Linux only). Run by `make bench` (PostgreSQL when DATABASE_URL is set).
"""

import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from audit.anchoring import CHUNK_SIZE
from audit.chain import HASHED, canonical_json, event_hash
from audit.models import AuditChainHead

EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", 1_000_000))
BATCH = 10_000
ACTIONS = ["request.submitted", "approval.approved", "request.approved", "grant.desired_present", "grant.applied"]
COLUMNS = [*HASHED, "prev_hash", "hash"]


def batches(actor_ids: list[int], labels: list[str]):
    """Rows of a valid chain, BATCH at a time, shaped like the portal's own events."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev_hash = ""
    batch = []
    for seq in range(1, EVENTS + 1):
        who = seq % len(actor_ids)
        action = ACTIONS[seq % len(ACTIONS)]
        fields = {
            "seq": seq,
            "created_at": start + timedelta(milliseconds=seq * 37),
            "actor_id": actor_ids[who],
            "actor_label": labels[who],
            "action": action,
            "object_type": "access.grant" if action.startswith("grant") else "access.accessrequest",
            "object_id": str(seq // 5 + 1),
            "before": {"state": "pending"} if seq % 3 else None,
            "after": {"state": "approved", "stage": seq % 4, "comment": f"ok {seq}"},
            "ip": f"10.0.{seq % 250}.{seq % 200 + 1}",
            "prev_hash": prev_hash,
        }
        fields["hash"] = prev_hash = event_hash(**fields)
        batch.append(fields)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def as_row(fields: dict) -> tuple:
    values = dict(fields)
    for key in ("before", "after"):
        values[key] = None if values[key] is None else canonical_json(values[key])
    return tuple(values[column] for column in COLUMNS)


def write_chain(actor_ids: list[int], labels: list[str]) -> str:
    """Insert EVENTS rows and move the chain head to the last one; returns the last hash."""
    last_hash = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            for batch in batches(actor_ids, labels):
                with raw.copy(f"COPY audit_auditevent ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for fields in batch:
                        copy.write_row(as_row(fields))
                last_hash = batch[-1]["hash"]
            cursor.execute("ANALYZE audit_auditevent")
    else:
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        with connection.cursor() as cursor:
            for batch in batches(actor_ids, labels):
                cursor.executemany(
                    f"INSERT INTO audit_auditevent ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
                    [as_row(fields) for fields in batch],
                )
                last_hash = batch[-1]["hash"]
    AuditChainHead.objects.update_or_create(id=1, defaults={"last_seq": EVENTS, "last_hash": last_hash})
    return last_hash


def plain_read() -> int:
    """The baseline: every column of every row through a server-side (PostgreSQL) or plain cursor."""
    rows = 0
    sql = f"SELECT id, {', '.join(COLUMNS)} FROM audit_auditevent ORDER BY seq"  # noqa: S608
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor(name="bench_plain_read", withhold=True) as cursor:
            cursor.itersize = CHUNK_SIZE
            cursor.execute(sql)
            for _ in cursor:
                rows += 1
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            while chunk := cursor.fetchmany(CHUNK_SIZE):
                rows += len(chunk)
    return rows


def memory_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, from Linux's /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def reset_peak_memory() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak (VmHWM) starts again from now


@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)
def test_verify_audit_over_a_million_events_against_a_plain_read(cast):
    people = [cast.alice, cast.bob, cast.carol, cast.dave, cast.erin]
    started = time.perf_counter()
    write_chain([person.pk for person in people], [person.email for person in people])
    setup = time.perf_counter() - started

    started = time.perf_counter()
    baseline_rows = plain_read()
    baseline = time.perf_counter() - started

    output = io.StringIO()
    reset_peak_memory()
    resident_before = memory_mib("VmRSS")
    started = time.perf_counter()
    call_command("verify_audit", stdout=output)
    verify_seconds = time.perf_counter() - started
    peak_growth = max(0.0, memory_mib("VmHWM") - resident_before)

    assert baseline_rows == EVENTS
    assert f"Audit chain intact: {EVENTS} events verified." in output.getvalue()
    print(f"\nverify_audit on {connection.vendor}: {EVENTS:,} events (written set-based in {setup:.1f} s)")
    print(f"  verify_audit:                       {verify_seconds:.2f} s ({EVENTS / verify_seconds:,.0f} events/s)")
    print(f"  plain read of the same rows:        {baseline:.2f} s")
    print(f"  ratio verify/read: {verify_seconds / baseline:.1f}x")
    print(f"  memory: {resident_before:.0f} MiB resident before, peak {peak_growth:+.1f} MiB while verifying")
