"""Moving a grant's sync state. The IAM sync engine calls these around its AWS calls.

A worker claims a grant with a conditional update (so two workers never apply the same
grant at once), does its AWS work outside any transaction, then records the outcome with
the claim token it was given: a worker whose lease ran out and was taken over cannot
overwrite the newer worker's result.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from access.models import Grant
from access.services import sync_batches, task_names
from access.services.locking import atomic_change
from access.services.sync_batches import GrantWork, SyncResult
from accounts.models import User
from audit.services import record
from inputs.refusals import InvalidInput, NotFound
from outbox.services import enqueue, enqueue_each

SYSTEM_ACTOR = "system:iam-sync"


_claimable = sync_batches.claimable


def claim_grant_for_sync(grant_id: int) -> GrantWork | None:
    """Take the grant for syncing, or return None if it needs no work or another worker holds it."""
    taken = sync_batches.claim_grants_for_sync(grant_id, batch=1)
    return taken[0] if taken else None


def _finish(work: GrantWork, result: str, detail: str) -> bool:
    return bool(sync_batches.record_sync_results([SyncResult(work, result, detail)]))


def record_sync_success(work: GrantWork, *, evidence: str) -> bool:
    """AWS was read back and matches the desired state."""
    return _finish(work, "applied", evidence)


def record_sync_failure(work: GrantWork, *, error: str) -> bool:
    """A permanent error: shown to admins, not retried until someone fixes the cause."""
    return _finish(work, "failed", error)


def release_claim(work: GrantWork, *, error: str) -> bool:
    """A transient error: give the grant back to the queue with the error, for a later retry."""
    released = Grant.objects.filter(pk=work.grant_id, sync_claim=work.claim).update(**Grant.requeued(error))
    return bool(released)


def grants_waiting_for_sync(limit: int) -> list[tuple[int, int]]:
    """Grants a lost message or a dead worker left behind, oldest first, as (grant id, entitlement id)."""
    waiting = Grant.objects.filter(_claimable(timezone.now())).order_by("created_at")
    return list(waiting.values_list("pk", "entitlement_id")[:limit])


def end_grant(
    grant: Grant, *, actor: User | None, actor_label: str | None, reason: str, action: str, now: datetime
) -> None:
    """Set desired absent and queue the removal from AWS (read back before it counts as revoked)."""
    before = {"desired": grant.desired, "sync_state": grant.sync_state}
    grant.save(update_fields=grant.end(reason=reason, now=now))
    record(
        actor=actor,
        actor_label=actor_label,
        action=action,
        obj=grant,
        before=before,
        after={"request": grant.request_id, "desired": "absent", "reason": reason},
    )
    sync_batches.wake_sync(grant)
    enqueue(task_names.SOD_RECHECK, grant.user_id)


def give_back(*, grant_id: int, actor: User) -> Grant:
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


def expire_grants(now: datetime | None = None, batch: int = 500) -> int:
    """Time-bound grants past their end: desired absent, removed from AWS by the sync engine.

    Runs every minute on beat (PORTAL_EXPIRE_GRANTS_SECONDS), so an hour grant ends within that of its
    end (fixed, like a days grant's, when the sync engine reads it back active); the query is served by a
    partial index on live grants, so a run with nothing due is cheap."""
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


def due_expiry_reminders(now: datetime | None = None) -> list[tuple[int, int]]:
    """Mark and return (grant id, days left) for holders to remind 7 days and 1 day before the end."""
    now = now or timezone.now()
    reminders = []
    for days in EXPIRY_REMINDER_DAYS:
        due = Grant.objects.filter(
            Q(expiry_reminded_days__isnull=True) | Q(expiry_reminded_days__gt=days),
            desired=Grant.Desired.PRESENT,
            # An hour grant is elevation for a shift: its holder watches the countdown, not a "1 day left" email.
            duration_hours__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        )
        with transaction.atomic():
            grant_ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:1000])
            Grant.objects.filter(pk__in=grant_ids).update(expiry_reminded_days=days)
            enqueue_each(task_names.EXPIRY_REMINDER, [(grant_id, days) for grant_id in grant_ids])
        reminders += [(grant_id, days) for grant_id in grant_ids]
    return reminders
