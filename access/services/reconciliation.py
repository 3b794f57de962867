"""Grant ledger changes the reconciler and drift adoption ask for (iam calls these, never the models).

Each one locks the grant, checks its state, changes it and audits it in one transaction, and
queues the sync (by task name, on commit) when AWS has to change.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from access.models import Grant
from access.services import sync_batches, task_names
from access.services.locking import atomic_change, lock_grants, lock_person
from access.services.sod_checks import findings_for
from accounts.models import User
from accounts.roles import require_governance_admin
from audit.services import record
from catalog.models import Entitlement
from inputs.refusals import InvalidInput, NotAllowed, StaleState
from outbox.services import enqueue

RECONCILER = "system:reconciler"


def reapply_missing_grant(grant_id: int, *, read_at: datetime, evidence: str) -> Grant:
    """An applied grant AWS no longer shows: back to pending and queued, audited `grant.drift_missing`.

    Raises StaleState, changing nothing, if the grant moved on since AWS was read: it is no
    longer desired present and applied, or it was read back from AWS at or after `read_at`.
    """
    with transaction.atomic():
        grant = Grant.objects.select_for_update(no_key=True).get(pk=grant_id)
        if grant.desired != Grant.Desired.PRESENT or grant.sync_state != Grant.SyncState.APPLIED:
            raise StaleState(f"Grant {grant_id} is no longer present and applied.")
        if grant.verified_at is not None and grant.verified_at >= read_at:
            raise StaleState(f"Grant {grant_id} was read back from AWS after the reconciler read the account.")
        before = {"sync_state": grant.sync_state, "verified_at": _iso(grant.verified_at)}
        grant.save(update_fields=grant.requeue())
        record(
            actor=None,
            actor_label=RECONCILER,
            action="grant.drift_missing",
            obj=grant,
            before=before,
            after={"request": grant.request_id, "sync_state": "pending", "evidence": evidence},
        )
        sync_batches.wake_sync(grant)
    return grant


def requeue_absent_grant(grant_id: int, *, read_at: datetime, evidence: str) -> bool:
    """A grant to be absent that AWS still shows: its removal is queued again.

    A revoked grant (AWS was read back without it, so someone put the access back) returns
    to pending, audited `grant.drift_still_present`; a pending one (its message was lost) is
    only queued again. Returns True if the grant's state changed. Raises StaleState, changing
    nothing, if the grant is desired present again, being synced, failed (admins retry it),
    or was read back from AWS at or after `read_at`.
    """
    with transaction.atomic():
        grant = Grant.objects.select_for_update(no_key=True).get(pk=grant_id)
        if grant.desired != Grant.Desired.ABSENT or grant.sync_state not in (
            Grant.SyncState.REVOKED,
            Grant.SyncState.PENDING,
        ):
            raise StaleState(f"Grant {grant_id} is not waiting to be or already removed.")
        if grant.verified_at is not None and grant.verified_at >= read_at:
            raise StaleState(f"Grant {grant_id} was read back from AWS after the reconciler read the account.")
        changed = grant.sync_state == Grant.SyncState.REVOKED
        if changed:
            grant.save(update_fields=grant.requeue())
            record(
                actor=None,
                actor_label=RECONCILER,
                action="grant.drift_still_present",
                obj=grant,
                before={"sync_state": "revoked", "verified_at": _iso(grant.verified_at)},
                after={"request": grant.request_id, "sync_state": "pending", "evidence": evidence},
            )
        sync_batches.wake_sync(grant)
    return changed


def adopt_grant(*, person: User, entitlement: Entitlement, actor: User, seen_at: datetime, evidence: str) -> Grant:
    """Record access AWS already gives as a grant from import: desired present, applied, no request.

    Creates the person's grant for the entitlement, or revives their ended one (revoked),
    audited `grant.adopted` by the admin. `verified_at` is `seen_at`, when AWS was last read
    showing the access. Nothing is queued for AWS (it already matches); separation of duties is
    re-checked. Raises NotAllowed for anyone but a governance admin and for the admin's own access,
    InvalidInput for a leaver,
    SodBlocked when a `block` rule forbids the combination, and StaleState if the person has a
    grant for it that is present or still being removed.
    """
    require_governance_admin(actor, "adopt access found in AWS")
    if person.pk == actor.pk:
        # Adopting is approving access after the fact: nobody approves their own, by this door either.
        raise NotAllowed("You cannot adopt your own access found in AWS: another governance admin decides on it.")
    return _adopt(person, entitlement, actor, seen_at, evidence)


@atomic_change
def _adopt(person, entitlement, actor, seen_at, evidence: str) -> Grant:
    person = lock_person(person.pk)  # first: whether they left and what they hold cannot change meanwhile
    if not person.is_active or person.is_leaver:
        raise InvalidInput(f"{person} has left: remove the access instead of adopting it.")
    grant = lock_grants(person.pk, [entitlement.pk]).get(entitlement.pk)
    if grant is not None and not (
        grant.desired == Grant.Desired.ABSENT and grant.sync_state == Grant.SyncState.REVOKED
    ):
        raise StaleState(
            f"{person} already has a grant for {entitlement.name} "
            f"({grant.get_desired_display().lower()}, {grant.get_sync_state_display().lower()})."
        )
    findings_for(person, entitlement)  # a `block` rule refuses adoption (SodBlocked); others become violations
    now = timezone.now()
    before = None if grant is None else {"desired": grant.desired, "sync_state": grant.sync_state}
    grant = grant or Grant(user=person, entitlement=entitlement)
    _make_adopted(grant, verified_at=seen_at, now=now)
    grant.save()
    record(
        actor=actor,
        action="grant.adopted",
        obj=grant,
        before=before,
        after={"source": "import", "desired": "present", "sync_state": "applied", "evidence": evidence},
    )
    enqueue(task_names.SOD_RECHECK, person.pk)
    return grant


def _make_adopted(grant: Grant, *, verified_at, now) -> None:
    grant.begin(
        source=Grant.Source.IMPORT,
        request=None,
        granted_at=now,
        duration_days=None,
        sync_state=Grant.SyncState.APPLIED,
        verified_at=verified_at,
    )


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
