"""Moving a grant's sync state. The IAM sync engine calls these around its AWS calls.

A worker claims a grant with a conditional update (so two workers never apply the same
grant at once), does its AWS work outside any transaction, then records the outcome with
the claim token it was given: a worker whose lease ran out and was taken over cannot
overwrite the newer worker's result.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from access.errors import InvalidInput, NotFound
from access.models import Grant
from access.services import outbox
from access.services.locking import atomic_change
from audit.services import record

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
    user: object = None
    entitlement: object = None


def _claimable(now) -> Q:
    lease_start = now - timedelta(seconds=settings.GRANT_SYNC_LEASE_SECONDS)
    return Q(sync_state=Grant.SyncState.PENDING) | Q(sync_state=Grant.SyncState.IN_PROGRESS, claimed_at__lt=lease_start)


def claim_grant_for_sync(grant_id: int) -> GrantWork | None:
    """Take the grant for syncing, or return None if it needs no work or another worker holds it."""
    now, claim = timezone.now(), uuid.uuid4()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A claim is a lease: losing it in a database crash only means another worker claims again
            # (syncing is idempotent), so it need not wait for its commit to reach the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        taken = Grant.objects.filter(_claimable(now), pk=grant_id).update(
            sync_state=Grant.SyncState.IN_PROGRESS,
            sync_claim=claim,
            claimed_at=now,
            sync_attempts=F("sync_attempts") + 1,
        )
        if not taken:
            return None
        grant = Grant.objects.select_related("user", "entitlement__account").get(pk=grant_id)
    return GrantWork(
        grant.pk,
        claim,
        grant.desired,
        grant.user_id,
        grant.entitlement_id,
        grant.sync_attempts,
        grant.user,
        grant.entitlement,
    )


@atomic_change  # retried should it lose a deadlock: only the claim holder's outcome is written anyway
def _finish(work: GrantWork, *, sync_state: str, error: str, action: str, details: dict) -> bool:
    now = timezone.now()
    with transaction.atomic():
        grant = Grant.objects.select_for_update().filter(pk=work.grant_id, sync_claim=work.claim).first()
        if grant is None:
            return False  # the lease was taken over; the newer worker's outcome stands
        before = {"sync_state": grant.sync_state}
        # The holder hears "live" once per grant, not again when the reconciler re-applies it.
        newly_granted = grant.verified_at is None or (grant.granted_at and grant.verified_at < grant.granted_at)
        grant.sync_state, grant.last_error, grant.sync_claim, grant.claimed_at = sync_state, error, None, None
        fields = ["sync_state", "last_error", "sync_claim", "claimed_at"]
        if sync_state in (Grant.SyncState.APPLIED, Grant.SyncState.REVOKED):
            grant.verified_at = now
            fields.append("verified_at")
        if sync_state == Grant.SyncState.APPLIED and grant.activated_at is None:
            grant.activated_at = now
            fields.append("activated_at")
        if sync_state == Grant.SyncState.APPLIED and grant.duration_days and grant.expires_at is None:
            # Time-bound access is counted from when it is active in AWS, not from the request.
            grant.expires_at = now + timedelta(days=grant.duration_days)
            fields.append("expires_at")
            details = {**details, "expires_at": grant.expires_at.isoformat()}
        if sync_state == Grant.SyncState.REVOKED and grant.ended_at:
            # How long removal took, from the decision (expiry, give-back, leaver) to AWS read back.
            details = {**details, "seconds_to_removal": round((now - grant.ended_at).total_seconds(), 3)}
        grant.save(update_fields=fields)
        record(
            actor=None,
            actor_label=SYSTEM_ACTOR,
            action=action,
            obj=grant,
            before=before,
            after={"request": grant.request_id, "sync_state": sync_state, "attempt": work.attempt, **details},
        )
        if grant.desired == Grant.Desired.PRESENT and (sync_state == Grant.SyncState.FAILED or newly_granted):
            outbox.send_after_commit(outbox.GRANT_SYNCED, grant.pk)
    return True


def record_sync_success(work: GrantWork, *, evidence: str) -> bool:
    """AWS was read back and matches the desired state."""
    state = Grant.SyncState.APPLIED if work.desired == Grant.Desired.PRESENT else Grant.SyncState.REVOKED
    return _finish(work, sync_state=state, error="", action=f"grant.{state}", details={"evidence": evidence})


def record_sync_failure(work: GrantWork, *, error: str) -> bool:
    """A permanent error: shown to admins, not retried until someone fixes the cause."""
    return _finish(
        work, sync_state=Grant.SyncState.FAILED, error=error, action="grant.sync_failed", details={"error": error}
    )


def release_claim(work: GrantWork, *, error: str) -> bool:
    """A transient error: give the grant back to the queue with the error, for a later retry."""
    released = Grant.objects.filter(pk=work.grant_id, sync_claim=work.claim).update(
        sync_state=Grant.SyncState.PENDING, sync_claim=None, claimed_at=None, last_error=error
    )
    return bool(released)


def grants_waiting_for_sync(limit: int) -> list[int]:
    """Grants a lost message or a dead worker left behind, oldest first."""
    return list(
        Grant.objects.filter(_claimable(timezone.now())).order_by("created_at").values_list("pk", flat=True)[:limit]
    )


def end_grant(grant: Grant, *, actor, actor_label: str | None, reason: str, action: str, now) -> None:
    """Set desired absent and queue the removal from AWS (read back before it counts as revoked)."""
    before = {"desired": grant.desired, "sync_state": grant.sync_state}
    grant.desired, grant.sync_state, grant.last_error = Grant.Desired.ABSENT, Grant.SyncState.PENDING, ""
    grant.ended_at, grant.end_reason, grant.sync_claim, grant.claimed_at = now, reason, None, None
    grant.save(
        update_fields=["desired", "sync_state", "last_error", "ended_at", "end_reason", "sync_claim", "claimed_at"]
    )
    record(
        actor=actor,
        actor_label=actor_label,
        action=action,
        obj=grant,
        before=before,
        after={"request": grant.request_id, "desired": "absent", "reason": reason},
    )
    outbox.send_after_commit(outbox.SYNC_GRANT, grant.pk)
    outbox.send_after_commit(outbox.SOD_RECHECK, grant.user_id)


def give_back(*, grant_id: int, actor) -> Grant:
    """The holder gives access back before it ends."""
    return _give_back(grant_id, actor)


@atomic_change
def _give_back(grant_id: int, actor) -> Grant:
    locked = Grant.objects.select_for_update(no_key=True, of=("self",)).select_related("entitlement")
    grant = locked.filter(pk=grant_id).first()
    if grant is None or grant.user_id != actor.pk:
        raise NotFound("That access does not exist.")
    if grant.desired != Grant.Desired.PRESENT:
        raise InvalidInput(f"{grant.entitlement.name} is already being removed.")
    end_grant(
        grant,
        actor=actor,
        actor_label=None,
        reason=f"Given back by {actor}",
        action="grant.given_back",
        now=timezone.now(),
    )
    return grant


def expire_grants(now=None, batch: int = 500) -> int:
    """Time-bound grants past their end: desired absent, removed from AWS by the sync engine."""
    now = now or timezone.now()
    due = list(
        Grant.objects.filter(desired=Grant.Desired.PRESENT, expires_at__lte=now).values_list("pk", flat=True)[:batch]
    )
    for grant_id in due:
        _expire(grant_id, now)
    return len(due)


@atomic_change
def _expire(grant_id: int, now) -> None:
    # The grant alone, then the audit head: an extension being approved locks the grant before the head too.
    grant = Grant.objects.select_for_update(no_key=True).get(pk=grant_id)
    if grant.desired != Grant.Desired.PRESENT or grant.expires_at is None or grant.expires_at > now:
        return  # extended or ended meanwhile
    end_grant(grant, actor=None, actor_label="system:expiry", reason="Expired", action="grant.expired", now=now)


# Nearest first: a grant with less than a day left gets only the one-day reminder, not both at once.
EXPIRY_REMINDER_DAYS = (1, 7)


def due_expiry_reminders(now=None) -> list[tuple[int, int]]:
    """Mark and return (grant id, days left) for holders to remind 7 days and 1 day before the end."""
    now = now or timezone.now()
    reminders = []
    for days in EXPIRY_REMINDER_DAYS:
        due = Grant.objects.filter(
            Q(expiry_reminded_days__isnull=True) | Q(expiry_reminded_days__gt=days),
            desired=Grant.Desired.PRESENT,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        )
        with transaction.atomic():
            grant_ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:1000])
            Grant.objects.filter(pk__in=grant_ids).update(expiry_reminded_days=days)
            for grant_id in grant_ids:
                outbox.send_after_commit(outbox.EXPIRY_REMINDER, grant_id, days)
        reminders += [(grant_id, days) for grant_id in grant_ids]
    return reminders
