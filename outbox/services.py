"""Queueing a task as part of a change: the row commits with the change, then the broker gets it.

`enqueue` writes an `OutboxMessage` in the caller's transaction and, once that transaction commits,
tries to hand it to the broker and deletes it. So no task runs for a change that was rolled back, none
runs before the change is visible to the worker, and none is lost when the broker is down at that
moment: the send is logged and the row is left for the relay (outbox.relay), never raised to the person
whose change was recorded. Outside a transaction the row commits at once and is sent straight after.

Sends are per commit: whatever a transaction queued (through any number of calls) goes out in one batch
after it commits, so messages that share a coalesce key (see OutboxMessage.coalesce_key) become one.

Delivery is at least once: a send that reached the broker just before its row could be deleted (the
process died) is sent again by the relay. Tasks are written to be safe to run twice (docs/architecture.md).
"""

import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.outages import BROKER_ERRORS

logger = logging.getLogger(__name__)

# How long a fresh row is left to its own transaction's on_commit before the relay may take it.
FRESH_GRACE = timedelta(seconds=60)
# After a failed send: 5 s, then doubling, at most a minute. A send fails only for the broker being down,
# and a relay run stops at its first failure, so waiting longer would spare the broker nothing; it would
# only hold messages back after the broker's return.
BACKOFF_FIRST_SECONDS = 5
BACKOFF_MAX_SECONDS = 60
# A person is waiting on the send that follows their commit: a broker that does not answer at once is
# left to the relay rather than retried at length here.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}


# Ids written by this thread and not sent yet: the next after-commit send takes them all. An id whose row
# was rolled back is simply not found then (and a row found is committed, so always right to send).
_unsent = threading.local()


def enqueue(task_name: str, *args: object, countdown: float | None = None, coalesce: str = "") -> None:
    """Queue `task_name(*args)` with the caller's change; `countdown` seconds before it may start;
    `coalesce`: one message for all those sent together with this key (not with a countdown)."""
    enqueue_each(task_name, [args], countdown=countdown, coalesce=[coalesce])


def enqueue_each(
    task_name: str,
    each_args: Iterable[Sequence],
    *,
    countdown: float | None = None,
    coalesce: Sequence[str] | None = None,
) -> None:
    """Queue `task_name` once per argument list, in one insert; sent with the rest of the commit.

    `coalesce`, if given, holds a coalesce key per argument list."""
    now = timezone.now()
    not_before = now + timedelta(seconds=countdown) if countdown else None
    each_args = list(each_args)
    keys = list(coalesce) if coalesce is not None and not countdown else [""] * len(each_args)
    rows = [
        OutboxMessage(
            task_name=task_name,
            args=list(args),
            created_at=now,
            not_before=not_before,
            next_attempt_at=now + FRESH_GRACE,
            coalesce_key=key,
        )
        for args, key in zip(each_args, keys, strict=True)
    ]
    if not rows:
        return
    _unsent_ids().extend(row.pk for row in OutboxMessage.objects.bulk_create(rows))
    # robust: whatever goes wrong after the commit, the change stands and the person sees it recorded.
    # The first of a commit's callbacks sends everything the commit queued; the others find nothing left.
    transaction.on_commit(_send_unsent, robust=True)


def _unsent_ids() -> list[int]:
    if not hasattr(_unsent, "ids"):
        _unsent.ids = []
    return _unsent.ids


def _send_unsent() -> None:
    ids = _unsent_ids()
    taken = ids[:]
    ids.clear()
    if taken:
        send_now(taken)


def send_now(ids: list[int]) -> int:
    """Send these rows if nobody else is sending them, deleting each one the broker took; how many are done.

    A row the relay holds (locked) or already sent (gone) is skipped. The first broker error stops the
    sending: the rest is left for the relay, with a backoff."""
    with transaction.atomic():
        rows = list(OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk__in=ids).order_by("pk"))
        return deliver(rows)


def deliver(rows: list[OutboxMessage]) -> int:
    """Send locked rows in order and delete the ones sent; on a broker error, note it on the rest. The
    caller holds the transaction that locked them; returns how many rows are done (sent or coalesced).

    A row whose coalesce key an earlier row of the lot carried is not sent: it is deleted with that one,
    whose task does its work too."""
    sent: list[int] = []
    coalesced: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        if row.coalesce_key in coalesced:
            coalesced[row.coalesce_key].append(row.pk)
            continue
        try:
            publish(row)
        except BROKER_ERRORS as exc:
            logger.warning(
                "Broker unreachable: task %s (outbox message %s) left for the relay: %s", row.task_name, row.pk, exc
            )
            _postpone(rows[index:], exc)
            break
        sent.append(row.pk)
        if row.coalesce_key:
            coalesced[row.coalesce_key] = []
    done = [*sent, *(pk for ids in coalesced.values() for pk in ids)]
    OutboxMessage.objects.filter(pk__in=done).delete()
    return len(done)


def publish(row: OutboxMessage) -> None:
    options = {}
    if row.not_before and row.not_before > timezone.now():
        options["eta"] = row.not_before
    current_app.send_task(row.task_name, args=row.args, retry_policy=PUBLISH_RETRY_POLICY, **options)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0)))


def _postpone(rows: list[OutboxMessage], error: Exception) -> None:
    now = timezone.now()
    for row in rows:
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.next_attempt_at = now + backoff(row.attempts)
    OutboxMessage.objects.bulk_update(rows, ["attempts", "last_error", "next_attempt_at"])
