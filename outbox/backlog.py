"""How far behind the outbox is: for /metrics and /health/ready.

A row normally lives for the moment between its transaction's commit and the broker taking it. Rows that
stay are waiting for the relay (the broker was down, or the process died before sending): how many, and
how long the oldest has waited, say whether background work is being held back.
"""

from datetime import datetime

from outbox.models import OutboxMessage


def waiting_count(cap: int) -> int:
    """Rows waiting to be sent, counted up to `cap` (past it, a larger figure changes no decision)."""
    return OutboxMessage.objects.order_by().values("pk")[:cap].count()


def oldest_created_at() -> datetime | None:
    """When the oldest waiting row was written: one `ORDER BY created_at LIMIT 1` on index outbox_by_age."""
    return OutboxMessage.objects.order_by("created_at").values_list("created_at", flat=True).first()


def oldest_age_seconds(now: datetime) -> float:
    """How long the oldest waiting row has waited (0: none waits)."""
    oldest = oldest_created_at()
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
