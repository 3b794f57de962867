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
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from access.models import Grant
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


def _claimable(now) -> Q:
    lease_start = now - timedelta(seconds=settings.GRANT_SYNC_LEASE_SECONDS)
    return Q(sync_state=Grant.SyncState.PENDING) | Q(sync_state=Grant.SyncState.IN_PROGRESS, claimed_at__lt=lease_start)


def claim_grant_for_sync(grant_id: int) -> GrantWork | None:
    """Take the grant for syncing, or return None if it needs no work or another worker holds it."""
    now, claim = timezone.now(), uuid.uuid4()
    taken = Grant.objects.filter(_claimable(now), pk=grant_id).update(
        sync_state=Grant.SyncState.IN_PROGRESS, sync_claim=claim, claimed_at=now, sync_attempts=F("sync_attempts") + 1
    )
    if not taken:
        return None
    grant = Grant.objects.only("desired", "user_id", "entitlement_id", "sync_attempts").get(pk=grant_id)
    return GrantWork(grant.pk, claim, grant.desired, grant.user_id, grant.entitlement_id, grant.sync_attempts)


def _finish(work: GrantWork, *, sync_state: str, error: str, action: str, details: dict) -> bool:
    now = timezone.now()
    with transaction.atomic():
        grant = Grant.objects.select_for_update().filter(pk=work.grant_id, sync_claim=work.claim).first()
        if grant is None:
            return False  # the lease was taken over; the newer worker's outcome stands
        before = {"sync_state": grant.sync_state}
        grant.sync_state, grant.last_error, grant.sync_claim, grant.claimed_at = sync_state, error, None, None
        fields = ["sync_state", "last_error", "sync_claim", "claimed_at"]
        if sync_state in (Grant.SyncState.APPLIED, Grant.SyncState.REVOKED):
            grant.verified_at = now
            fields.append("verified_at")
        grant.save(update_fields=fields)
        record(
            actor=None,
            actor_label=SYSTEM_ACTOR,
            action=action,
            obj=grant,
            before=before,
            after={"sync_state": sync_state, "attempt": work.attempt, **details},
        )
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
