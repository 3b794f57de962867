"""The relay: sends what the outbox still holds (the broker was down at commit, or the process died).

Beat runs it every PORTAL_OUTBOX_RELAY_SECONDS (task `outbox.relay`), and a worker asks for a run when it
starts. Rows are taken oldest first in small batches, each batch locked `FOR UPDATE SKIP LOCKED` in its
own short transaction, so relays running at once (two workers, beat's run beside a worker's) take
different rows, and a row its own transaction's on_commit is sending (locked, and not yet due: a fresh
row waits FRESH_GRACE) is left to it. A batch that meets a broker error ends the run: the rows it could
not send wait for their backoff.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.services import deliver

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# One run sends at most this many; the next run (seconds later) takes the rest.
MAX_PER_RUN = 5000


def relay(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Send the rows due by `now` (default: now); how many were sent."""
    total = 0
    while total < MAX_PER_RUN:
        with transaction.atomic():
            due = OutboxMessage.objects.filter(next_attempt_at__lte=now or timezone.now()).order_by("pk")
            rows = list(due.select_for_update(skip_locked=True)[:batch_size])
            if not rows:
                break
            sent = deliver(rows)
        total += sent
        if sent < len(rows):  # the broker is down: trying the next batch now would fail the same way
            break
    if total:
        logger.info("Outbox relay sent %s task(s) left over from earlier commits", total)
    return total
