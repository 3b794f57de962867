"""Grants synced in batches: claimed together, their outcomes recorded together.

A sync task takes up to N grants of one AWS account in one short transaction (the lease:
claim token and time, set by one conditional UPDATE), so one worker calls AWS for all of them
with one client. Concurrent claimers never take the same grant: on PostgreSQL the candidates
are locked with SKIP LOCKED, and the update re-checks that each grant is still claimable. The outcomes, their
audit events and the notifications (one task for the batch) are recorded in one short
transaction; only outcomes whose claim token still matches are written, so a worker whose
lease ran out and was taken over cannot overwrite the newer worker's result.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Q, Subquery, Value, When
from django.utils import timezone

from access.models import Grant
from access.services import task_names
from access.services.locking import atomic_change
from accounts.models import User
from audit.services import record_many
from audit.transactions import commit_without_waiting_for_disk
from catalog.models import Entitlement
from outbox.services import enqueue, enqueue_each

SYSTEM_ACTOR = "system:iam-sync"


@dataclass(frozen=True)
class GrantWork:
    """What a worker needs to apply one grant, read at claim time."""

    grant_id: int
    claim: uuid.UUID
    desired: str
    user_id: int
    entitlement_id: int
    attempt: int
    # Read with the claim, so the worker needs no further query before calling AWS.
    user: User
    entitlement: Entitlement


@dataclass(frozen=True)
class SyncResult:
    """One grant's outcome: `applied` (AWS read back matches), `failed` (permanent) or `retry` (transient)."""

    work: GrantWork
    result: str
    detail: str = ""


def wake_sync(grant: Grant) -> None:
    """Queue the sync of a grant whose desired or sync state changed, with the caller's change.

    The task claims its grant and whatever else of the account is waiting (claim_grants_for_sync), so
    the messages of one commit for the same entitlement are sent as one (the outbox's coalescing):
    a bulk change of a thousand grants wakes a worker per entitlement, not a thousand no-op tasks.
    """
    enqueue(task_names.SYNC_GRANT, grant.pk, coalesce=sync_wake_key(grant.entitlement_id))


def sync_wake_key(entitlement_id: int) -> str:
    return f"{task_names.SYNC_GRANT}:entitlement:{entitlement_id}"


def claimable(now: datetime) -> Q:
    """Grants a worker may take now: pending, or claimed by a worker whose lease ran out."""
    lease_start = now - timedelta(seconds=settings.GRANT_SYNC_LEASE_SECONDS)
    return Q(sync_state=Grant.SyncState.PENDING) | Q(sync_state=Grant.SyncState.IN_PROGRESS, claimed_at__lt=lease_start)


def claim_grants_for_sync(grant_id: int, *, batch: int) -> list[GrantWork]:
    """Take `grant_id` and up to `batch - 1` other claimable grants of its account, in one transaction.

    Returns nothing if none can be taken; with `batch` 1, only `grant_id` itself. A full batch asks
    for another task at once (one message per account): more may be waiting, and since messages are
    coalesced, nobody else may have been woken for them.
    """
    now, claim = timezone.now(), uuid.uuid4()
    takeable = claimable(now)
    with transaction.atomic():
        # A claim is a lease: losing it in a database crash only means another worker claims again
        # (syncing is idempotent), so it need not wait for its commit to reach the disk.
        commit_without_waiting_for_disk()
        if batch <= 1:
            chosen = [grant_id]
        else:
            account = Grant.objects.filter(pk=grant_id).values("entitlement__account_id")[:1]
            candidates = (
                Grant.objects.filter(takeable, entitlement__account_id=Subquery(account))
                # The grant the message named first, then the oldest.
                .order_by(Case(When(pk=grant_id, then=Value(0)), default=Value(1), output_field=IntegerField()), "pk")
            )
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True, of=("self",))
            # Read first, then update by id: as `pk IN (subquery LIMIT n FOR UPDATE)` PostgreSQL may
            # rescan the subquery for each row it updates, and each rescan finds the next n.
            chosen = list(candidates.values_list("pk", flat=True)[:batch])
        taken = Grant.objects.filter(takeable, pk__in=chosen).update(
            sync_state=Grant.SyncState.IN_PROGRESS,
            sync_claim=claim,
            claimed_at=now,
            sync_attempts=F("sync_attempts") + 1,
        )
        if not taken:
            return []
        claimed = Grant.objects.select_related("user", "entitlement__account").filter(sync_claim=claim)
        grants = list(claimed.order_by("pk"))
        if batch > 1 and len(grants) == batch:
            last = grants[-1]
            enqueue(task_names.SYNC_GRANT, last.pk, coalesce=f"{task_names.SYNC_GRANT}:next-batch:{claim}")
    return [
        GrantWork(g.pk, claim, g.desired, g.user_id, g.entitlement_id, g.sync_attempts, g.user, g.entitlement)
        for g in grants
    ]


@atomic_change  # retried should it lose a deadlock: only the claim holder's outcome is written anyway
def record_sync_results(results: list[SyncResult]) -> list[int]:
    """Record a batch's outcomes in one transaction; returns the ids of the grants whose claim still held.

    `retry` gives the grant back to the queue (pending, with the error); `applied` and
    `failed` are final, audited and, where the holder should hear of it, notified.
    """
    if not results:
        return []
    by_id = {result.work.grant_id: result for result in results}
    now = timezone.now()
    with transaction.atomic():
        grants = Grant.objects.select_for_update(no_key=True, of=("self",)).filter(pk__in=by_id).order_by("pk")
        held = [grant for grant in grants if grant.sync_claim == by_id[grant.pk].work.claim]
        events: list[dict] = []
        changed: list[Grant] = []
        fields: set[str] = set()
        tell: defaultdict[int, list[int]] = defaultdict(list)
        for grant in held:
            result = by_id[grant.pk]
            if result.result == "retry":
                fields.update(grant.requeue(error=result.detail))
                changed.append(grant)
                continue
            event, newly_live = _settle(grant, result, now, fields)
            events.append(event)
            changed.append(grant)
            if grant.desired == Grant.Desired.PRESENT and (grant.sync_state == Grant.SyncState.FAILED or newly_live):
                tell[grant.user_id].append(grant.pk)
        _write_outcomes(changed, sorted(fields))
        record_many(events)
        # One message for the batch (a send costs the worker more CPU than recording a grant), its grants
        # by person, so each holder's notifications are made together.
        told = [grant_id for grant_ids in tell.values() for grant_id in grant_ids]
        if told:
            enqueue(task_names.GRANTS_SYNCED, told)
        _read_ended_activity(grant for grant in held if grant.sync_state == Grant.SyncState.REVOKED)
    return [grant.pk for grant in held]


def _read_ended_activity(revoked) -> None:
    """A grant that was active and is now read back gone (expiry, given back, revoked, leaver): its CloudTrail
    activity is read once more for the whole window, now that the window is closed, so the final summary is
    complete. Only where the account has a trail; the daily read catches files CloudTrail delivers late."""
    ids = [grant.pk for grant in revoked if grant.activated_at is not None and grant.ended_at is not None]
    if not ids:
        return
    with_trail = Grant.objects.filter(pk__in=ids).exclude(entitlement__account__cloudtrail_bucket="")
    enqueue_each(
        task_names.SUMMARISE_ACTIVITY, [(pk,) for pk in with_trail.order_by("pk").values_list("pk", flat=True)]
    )


def _write_outcomes(grants: list[Grant], fields: list[str]) -> None:
    """Save the batch's grants with one UPDATE per distinct set of values (most of a batch shares one).

    Not bulk_update: its CASE per field and row costs more CPU to build than the whole AWS call.
    """
    alike = defaultdict(list)
    for grant in grants:
        alike[tuple(getattr(grant, name) for name in fields)].append(grant.pk)
    for values, ids in alike.items():
        Grant.objects.filter(pk__in=ids).update(**dict(zip(fields, values, strict=True)))


def _settle(grant: Grant, result: SyncResult, now, fields: set) -> tuple[dict, bool]:
    """Move one grant to its final state; return its audit event and whether its holder hears "live"."""
    if result.result == "applied":
        state = Grant.SyncState.APPLIED if grant.desired == Grant.Desired.PRESENT else Grant.SyncState.REVOKED
        action, error, details = f"grant.{state}", "", {"evidence": result.detail}
    else:
        state, action, error = Grant.SyncState.FAILED, "grant.sync_failed", result.detail
        details = {"error": result.detail}
    before = {"sync_state": grant.sync_state}
    # The holder hears "live" once per grant, not again when the reconciler re-applies it.
    newly_live = grant.verified_at is None or bool(grant.granted_at and grant.verified_at < grant.granted_at)
    grant.sync_state, grant.last_error, grant.sync_claim, grant.claimed_at = state, error, None, None
    fields.update(["sync_state", "last_error", "sync_claim", "claimed_at"])
    if state in (Grant.SyncState.APPLIED, Grant.SyncState.REVOKED):
        grant.verified_at = now
        fields.add("verified_at")
    if state == Grant.SyncState.APPLIED and grant.activated_at is None:
        # The first activation of this life of the grant: extensions are capped from it.
        grant.activated_at = now
        fields.add("activated_at")
    if state == Grant.SyncState.APPLIED and grant.term and grant.expires_at is None:
        # Time-bound access (days or hours) is counted from when it is active in AWS, not from the request.
        grant.expires_at = now + grant.term
        fields.add("expires_at")
        details = {**details, "expires_at": grant.expires_at.isoformat()}
    if state == Grant.SyncState.REVOKED and grant.ended_at:
        # How long removal took, from the decision (expiry, give-back, leaver) to AWS read back.
        details = {**details, "seconds_to_removal": round((now - grant.ended_at).total_seconds(), 3)}
    after = {"request": grant.request_id, "sync_state": state, "attempt": result.work.attempt, **details}
    event = {"actor": None, "actor_label": SYSTEM_ACTOR, "action": action, "obj": grant, "before": before}
    return {**event, "after": after}, newly_live and state != Grant.SyncState.FAILED
