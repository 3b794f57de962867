"""Checking the whole chain: the one function behind `manage.py verify_audit` and the audit page's
"verify now" (run by a worker, its progress kept on a ChainCheck).

The rows are checked against themselves (each hash, each link, the head) and against the signed digests
anchored outside the database (audit/anchoring.py): a chain rewritten whole still differs from them.
A digest that is unreadable, unsigned, altered, signed by another key or out of sequence is reported too.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BigIntegerField, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.anchoring import chain_rows, load_anchors
from audit.chain import ChainBreak, find_first_break
from audit.models import AuditChainHead, AuditEvent, ChainCheck
from outbox.services import enqueue

# How often a background check writes how far it got (one UPDATE per this many events).
PROGRESS_EVERY = 50_000


@dataclass(frozen=True)
class Verification:
    events: int
    broken: ChainBreak | None
    seconds: float
    checked_at: datetime
    anchored_seq: int = 0  # the last event a valid digest outside the database vouches for
    anchor_problems: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        return self.broken is None and not self.anchor_problems

    def describe(self) -> str:
        problems = "".join(f" Anchor store: {problem}." for problem in self.anchor_problems)
        if self.broken is None and not problems:
            anchored = f" Checked against its anchors up to #{self.anchored_seq}." if self.anchored_seq else ""
            return f"Audit chain intact: {self.events} events verified.{anchored}"
        if self.broken is None:
            return f"Audit chain rows hold, but its anchors do not.{problems}"
        where = f"event #{self.broken.seq}" + (f" (row id {self.broken.event_id})" if self.broken.event_id else "")
        return f"Audit chain broken at {where}: {self.broken.reason}.{problems}"


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


def _counted(rows, progress: Callable[[int], object], every: int):
    for number, row in enumerate(rows, 1):
        if number % every == 0:
            progress(number)
        yield row


def verify_chain(
    *, on_start: Callable[[int], object] | None = None, progress: Callable[[int], object] | None = None
) -> Verification:
    """Walk the chain in seq order up to its head and name the first event that does not hold.

    Streams the rows, so it runs in constant memory. Events appended during the walk are left
    to the next run: the walk stops at the head read when it started. `on_start` hears how many
    events the walk covers; `progress` how many it has checked, every PROGRESS_EVERY.
    """
    started = time.perf_counter()
    anchors = load_anchors()
    head = AuditChainHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, "")
    if on_start is not None:
        on_start(head_seq)
    rows = chain_rows(1, head_seq)
    if progress is not None:
        rows = _counted(rows, progress, PROGRESS_EVERY)
    broken = find_first_break(rows, head_seq, head_hash, anchors=anchors) or _beyond_the_head()
    return Verification(
        head_seq,
        broken,
        time.perf_counter() - started,
        timezone.now(),
        anchored_seq=anchors.last_seq,
        anchor_problems=tuple(anchors.problems),
    )


def request_check(*, actor) -> ChainCheck:
    """Ask a worker to walk the chain (the page's "verify now"); the page follows its progress."""
    check = ChainCheck.objects.create(requested_by=actor)
    enqueue("audit.check_chain", check.pk)
    return check


def run_check(check_id: int) -> ChainCheck | None:
    """The worker's side: walk the chain, writing progress to the check as it goes, then the verdict."""
    check = ChainCheck.objects.filter(pk=check_id, started_at__isnull=True).first()
    if check is None:  # already run (a redelivered message) or gone
        return None
    mine = ChainCheck.objects.filter(pk=check_id)
    mine.update(started_at=timezone.now())
    result = verify_chain(
        on_start=lambda total: mine.update(events_total=total),
        progress=lambda checked: mine.update(events_checked=checked),
    )
    mine.update(
        finished_at=timezone.now(),
        events_checked=result.events,
        intact=result.intact,
        broken_seq=result.broken.seq if result.broken else None,
        broken_event_id=result.broken.event_id if result.broken else None,
        outcome=result.describe()[:300],
    )
    return ChainCheck.objects.get(pk=check_id)
