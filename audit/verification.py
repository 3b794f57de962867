"""Checking the whole chain: the one function behind `manage.py verify_audit` and the audit page's
"verify now"."""

import time
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BigIntegerField, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.chain import ChainBreak, find_first_break
from audit.models import AuditChainHead, AuditEvent

# What the hash covers, plus the row id to name a broken row. Plain rows instead of model
# instances: building a model per event was a third of the time over a million events.
CHAIN_FIELDS = (
    "id",
    "seq",
    "created_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "ip",
    "prev_hash",
    "hash",
)
# Rows fetched per round trip of the server-side cursor (PostgreSQL) or fetchmany (SQLite):
# memory stays flat whatever the length of the chain.
CHUNK_SIZE = 5000


@dataclass(frozen=True)
class Verification:
    events: int
    broken: ChainBreak | None
    seconds: float
    checked_at: datetime

    @property
    def intact(self) -> bool:
        return self.broken is None

    def describe(self) -> str:
        if self.broken is None:
            return f"Audit chain intact: {self.events} events verified."
        where = f"event #{self.broken.seq}" + (f" (row id {self.broken.event_id})" if self.broken.event_id else "")
        return f"Audit chain broken at {where}: {self.broken.reason}."


def _beyond_the_head() -> ChainBreak | None:
    """A row past the head was not written by `record` (which moves both in one transaction).

    One statement, so it compares the head and the rows of the same moment: events appended
    while the chain was being walked are never mistaken for it.
    """
    head_seq = Coalesce(
        Subquery(AuditChainHead.objects.filter(id=1).values("last_seq")), Value(0), output_field=BigIntegerField()
    )
    stray = AuditEvent.objects.filter(seq__gt=head_seq).order_by("seq").values_list("seq", "id").first()
    if stray is None:
        return None
    return ChainBreak(stray[0], stray[1], "it lies beyond the chain's head (added behind the application's back)")


def verify_chain() -> Verification:
    """Walk the chain in seq order up to its head and name the first event that does not hold.

    Streams the rows, so it runs in constant memory. Events appended during the walk are left
    to the next run: the walk stops at the head read when it started.
    """
    started = time.perf_counter()
    head = AuditChainHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, "")
    rows = (
        AuditEvent.objects.filter(seq__lte=head_seq)
        .order_by("seq")
        .values_list(*CHAIN_FIELDS, named=True)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    broken = find_first_break(rows, head_seq, head_hash) or _beyond_the_head()
    return Verification(head_seq, broken, time.perf_counter() - started, timezone.now())
