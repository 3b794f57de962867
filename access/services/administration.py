"""What governance admins and the HR feed do to grants: end a leaver's access, retry a failed sync,
grant directly. Each audited, each through the same ledger rules as requests."""

from datetime import datetime

from django.utils import timezone

from access.models import AccessRequest, Grant, LeaverStep
from access.services import sync_batches, task_names
from access.services.grants import end_grant
from access.services.locking import atomic_change, lock_grants, lock_person
from access.services.naming import refuse_shared_iam_name
from access.services.requests import check_duration, clean_justification
from access.services.sod_checks import findings_for
from access.services.stages import close_request
from accounts.models import User
from accounts.roles import require_governance_admin
from audit.services import record
from catalog.models import Entitlement
from inputs.refusals import Duplicate, InvalidInput, NotAllowed, NotFound, SodBlocked, StaleState
from outbox.services import enqueue


def end_access_of_leaver(*, person: User, actor: User | None, left_at: datetime) -> int:
    """A leaver holds nothing: every present grant becomes desired-absent, pending requests end.

    Runs inside the transaction that marked the person a leaver (see accounts.signals.person_left),
    which holds the person's lock; requests then grants are locked, in id order, before anything is audited.
    """
    pending = list(
        AccessRequest.objects.select_for_update(no_key=True, of=("self",))
        .filter(beneficiary=person, state=AccessRequest.State.PENDING)
        .order_by("pk")
    )
    grants = list(
        Grant.objects.select_for_update(no_key=True, of=("self",))
        .filter(user=person, desired=Grant.Desired.PRESENT)
        .order_by("pk")
    )
    label = None if actor else "system:leaver"
    for grant in grants:
        end_grant(grant, actor=actor, actor_label=label, reason="Leaver", action="grant.leaver_removed", now=left_at)
    for access_request in pending:
        close_request(access_request, state=AccessRequest.State.CANCELLED, now=left_at)
        record(
            actor=actor,
            actor_label=label,
            action="request.cancelled",
            obj=access_request,
            before={"state": "pending"},
            after={"state": "cancelled", "reason": "Leaver"},
        )
    return len(grants)


def retry_grant(*, grant_id: int, actor: User) -> Grant:
    """A governance admin fixed what made a grant fail; put it back in the queue for the sync engine."""
    require_governance_admin(actor, "retry a failed sync")
    return _retry(grant_id, actor)


@atomic_change
def _retry(grant_id: int, actor) -> Grant:
    grant = Grant.objects.select_for_update(no_key=True, of=("self",)).filter(pk=grant_id).first()
    if grant is None:
        raise NotFound("That grant does not exist.")
    if grant.sync_state != Grant.SyncState.FAILED:
        raise StaleState(f"This grant is {grant.get_sync_state_display().lower()}, not failed; nothing to retry.")
    before = {"sync_state": grant.sync_state, "last_error": grant.last_error}
    # The error stays shown until the next try settles it.
    grant.save(update_fields=grant.requeue(error=None))
    record(
        actor=actor,
        action="grant.retry",
        obj=grant,
        before=before,
        after={"request": grant.request_id, "sync_state": "pending"},
    )
    sync_batches.wake_sync(grant)
    if LeaverStep.objects.filter(person_id=grant.user_id, kind=LeaverStep.Kind.GRANTS).exists():
        # A leaver's removal tried again: their account's steps run again too, so the `grants` step
        # (failed with this grant's error) waits for the retry, and their page reaches "nothing left".
        enqueue(task_names.LEAVER_ACCOUNT, grant.user_id, grant.entitlement.account_id)
    return grant


def grant_by_admin(
    *,
    actor: User,
    user: User,
    entitlement: Entitlement,
    justification: str,
    duration_days: int | None = None,
    duration_hours: int | None = None,
) -> Grant:
    """A governance admin grants access directly, without a request; audited as such and SoD-checked.

    A conflict with a `block` rule refuses it; one with an `exception` rule also refuses it, since
    only the rule's owner may approve an exception (the admin can request it through the catalog).
    """
    require_governance_admin(actor, "grant access directly")
    if user.pk == actor.pk:
        raise NotAllowed("You cannot grant access to yourself; request it like anyone else.")
    justification = clean_justification(justification)
    check_duration(entitlement, duration_days, duration_hours)
    return _grant_by_admin(actor, user, entitlement, justification, duration_days, duration_hours)


@atomic_change
def _grant_by_admin(
    actor, user, entitlement, justification: str, duration_days: int | None, duration_hours: int | None
) -> Grant:
    # The person first: whether they left, and what they hold for separation of duties, cannot change
    # until this commits.
    user = lock_person(user.pk)
    if not user.is_active or user.is_leaver:
        raise InvalidInput(f"{user} has left: access cannot be granted to them.")
    grant = lock_grants(user.pk, [entitlement.pk]).get(entitlement.pk)
    if grant is not None and grant.desired == Grant.Desired.PRESENT:
        raise Duplicate(f"{user} already has {entitlement.name}.")
    refuse_shared_iam_name(user, entitlement)
    findings = findings_for(user, entitlement)  # raises SodBlocked
    if any(finding.needs_exception for finding in findings):
        needing = next(finding for finding in findings if finding.needs_exception)
        raise SodBlocked(f"{needing.message} An exception from the rule's owner is needed: request it instead.")
    now = timezone.now()
    if grant is None:
        grant = Grant.objects.create(
            user=user,
            entitlement=entitlement,
            source=Grant.Source.ADMIN,
            granted_at=now,
            duration_days=duration_days,
            duration_hours=duration_hours,
        )
    else:
        grant.begin(
            source=Grant.Source.ADMIN,
            request=None,
            granted_at=now,
            duration_days=duration_days,
            duration_hours=duration_hours,
        )
        grant.save()
    record(
        actor=actor,
        action="grant.admin_granted",
        obj=grant,
        after={
            "user": user.pk,
            "entitlement": entitlement.pk,
            "justification": justification,
            "duration_days": duration_days,
            "duration_hours": duration_hours,
            "desired": "present",
        },
    )
    sync_batches.wake_sync(grant)
    enqueue(task_names.SOD_RECHECK, user.pk)
    return grant
