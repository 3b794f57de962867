"""Submitting, cancelling, extending and expiring access requests."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment, Grant, term
from access.services import task_names
from access.services.decisions import activate_stage, complete_request
from access.services.extensions import check_extension
from access.services.locking import atomic_change, lock_grants, lock_person, lock_request
from access.services.naming import refuse_shared_iam_name
from access.services.sod_checks import findings_for, plan_with_sod
from access.services.stages import close_request, create_stage
from accounts.models import User
from audit.services import record
from catalog.models import Entitlement, amount_in_words
from inputs.refusals import Duplicate, InvalidInput, NotAllowed, NotFound, StaleState
from outbox.services import enqueue

MIN_JUSTIFICATION = 10
MAX_DURATION_DAYS = 3650  # ten years: anything longer is a typo, and would overflow date arithmetic
MAX_DURATION_HOURS = 24 * 31  # an hours entitlement is for an hour or a shift; a month of hours is days
SYSTEM_ACTOR = "system:access"


@dataclass(frozen=True)
class CartItem:
    entitlement: Entitlement
    duration_days: int | None = None
    duration_hours: int | None = None


def may_request_for(requester: User, beneficiary: User) -> bool:
    """Anyone for themselves; managers for their direct reports; governance admins for anyone."""
    return requester.pk == beneficiary.pk or beneficiary.manager_id == requester.pk or requester.is_governance_admin


def clean_justification(justification: str) -> str:
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise InvalidInput(
            f"Explain why you need this access in at least {MIN_JUSTIFICATION} characters.", field="justification"
        )
    return justification


def check_duration(entitlement: Entitlement, duration_days: int | None, duration_hours: int | None = None) -> None:
    """Refuse, in words, a duration the entitlement does not allow: in the wrong unit (hours asked of a
    days entitlement, or days of an hours one), below its minimum, above its maximum, or none where it
    must end."""
    in_hours = entitlement.in_hours
    field = "duration_hours" if in_hours else "duration_days"
    if duration_days is not None and duration_hours is not None:
        raise InvalidInput("Choose a duration in days or in hours, not both.", field=field)
    if duration_hours is not None and not in_hours:
        raise InvalidInput(f"{entitlement.name} is granted in days, not hours.", field="duration_hours")
    if duration_days is not None and in_hours:
        raise InvalidInput(f"{entitlement.name} is granted in hours, not days.", field="duration_days")
    amount, unit, longest = (
        (duration_hours, "hours", MAX_DURATION_HOURS) if in_hours else (duration_days, "days", MAX_DURATION_DAYS)
    )
    if amount is not None and not 1 <= amount <= longest:
        raise InvalidInput(f"Choose a duration between 1 and {longest} {unit}.", field=field)
    maximum = entitlement.max_duration
    if maximum is None:
        if amount is not None and amount < entitlement.min_duration:
            raise InvalidInput(_too_short(entitlement), field=field)
        return
    if amount is None:
        raise InvalidInput(
            f"{entitlement.name} is time-bound: choose a duration of up to {entitlement.max_duration_words}.",
            field=field,
        )
    if amount < entitlement.min_duration:
        raise InvalidInput(_too_short(entitlement), field=field)
    if amount > maximum:
        raise InvalidInput(f"{entitlement.name} can be held for at most {entitlement.max_duration_words}.", field=field)


def _too_short(entitlement) -> str:
    shortest = amount_in_words(entitlement.min_duration, entitlement.duration_unit)
    return f"{entitlement.name} is granted for at least {shortest}."


def _check_request(requester, beneficiary, entitlement, duration_days, duration_hours=None) -> None:
    if not entitlement.requestable:
        raise InvalidInput(f"{entitlement.name} cannot be requested. Ask its owner how to get it.", field="entitlement")
    if not requester.is_active or requester.is_leaver:
        raise NotAllowed("Leavers cannot request access.")
    if not may_request_for(requester, beneficiary):
        # Not naming the person: an id must not reveal who it belongs to.
        raise NotAllowed("You may request access for yourself and your direct reports only.")
    if not beneficiary.is_active or beneficiary.is_leaver:
        raise InvalidInput(f"{beneficiary} has left: access cannot be requested for them.")
    check_duration(entitlement, duration_days, duration_hours)
    if Grant.objects.filter(user=beneficiary, entitlement=entitlement, desired=Grant.Desired.PRESENT).exists():
        who = "You already have" if beneficiary.pk == requester.pk else f"{beneficiary} already has"
        raise Duplicate(f"{who} {entitlement.name}.")
    refuse_shared_iam_name(beneficiary, entitlement)


def _create(
    requester,
    beneficiary,
    entitlement,
    justification,
    duration_days,
    *,
    duration_hours=None,
    findings=(),
    cart=None,
    kind=AccessRequest.Kind.NEW,
) -> AccessRequest:
    """Create the request and its stages; activate the first, or approve at once if automatic."""
    plan = plan_with_sod(entitlement, requester, beneficiary, findings)
    access_request = AccessRequest.objects.create(
        requester=requester,
        beneficiary=beneficiary,
        entitlement=entitlement,
        justification=justification,
        duration_days=duration_days,
        duration_hours=duration_hours,
        cart=cart,
        sod_findings=[finding.message for finding in findings],
        kind=kind,
    )
    record(
        actor=requester,
        action="request.submitted",
        obj=access_request,
        after={
            "beneficiary": beneficiary.pk,
            "entitlement": entitlement.pk,
            "kind": kind,
            "justification": justification,
            "duration_days": duration_days,
            "duration_hours": duration_hours,
            "policy": plan.policy_name,
            "sod": [finding.message for finding in findings],
        },
    )
    if plan.automatic:
        stage = Approval.objects.create(
            request=access_request,
            step=1,
            label="Automatic approval",
            state=Approval.State.APPROVED,
            activated_at=timezone.now(),
            decided_at=timezone.now(),
        )
        ApprovalAssignment.objects.create(
            approval=stage,
            reason=f"{plan.policy_name} approves low-risk access",
            decision=ApprovalAssignment.Decision.APPROVED,
            automatic=True,
            decided_at=timezone.now(),
        )
        record(
            actor=None,
            actor_label="system:auto-approval",
            action="request.auto_approved",
            obj=access_request,
            after={"policy": plan.policy_name},
        )
        complete_request(access_request, actor=None, now=timezone.now())
        return access_request
    for number, planned in enumerate(plan.stages, start=1):
        create_stage(access_request, number, planned)
    activate_stage(access_request.approvals.get(step=1))
    return access_request


def submit_request(
    *,
    requester: User,
    entitlement: Entitlement,
    justification: str,
    beneficiary: User | None = None,
    duration_days: int | None = None,
    duration_hours: int | None = None,
) -> AccessRequest:
    """Ask for one entitlement. Refuses, changing nothing, whatever is wrong with it."""
    return submit_cart(
        requester=requester,
        beneficiary=beneficiary or requester,
        justification=justification,
        items=[CartItem(entitlement, duration_days, duration_hours)],
    )[0]


def submit_cart(
    *, requester: User, beneficiary: User, justification: str, items: list[CartItem]
) -> list[AccessRequest]:
    """Ask for several entitlements at once: one request each, all or none.

    Every item is checked before anything is written; the first problem is raised with the
    item's name and nothing is created.
    """
    justification = clean_justification(justification)
    if not items:
        raise InvalidInput("Add at least one entitlement to the request.")
    if len({item.entitlement.pk for item in items}) != len(items):
        raise InvalidInput("The same entitlement is in the request twice.")
    cart = uuid.uuid4() if len(items) > 1 else None
    try:
        return _submit(requester, beneficiary, justification, items, cart)
    except IntegrityError:
        pending = (
            AccessRequest.objects.filter(
                beneficiary=beneficiary,
                state=AccessRequest.State.PENDING,
                entitlement__in=[item.entitlement for item in items],
            )
            .select_related("entitlement")
            .first()
        )
        name = pending.entitlement.name if pending else "one of these entitlements"
        who = "You already have" if beneficiary.pk == requester.pk else f"{beneficiary} already has"
        raise Duplicate(f"{who} a pending request for {name}.") from None


@atomic_change
def _submit(requester, beneficiary, justification: str, items: list[CartItem], cart) -> list[AccessRequest]:
    """Check and create under the beneficiary's lock: separation of duties is judged on what they hold
    now, and nothing they hold can change before this commits (a conflicting request being approved
    meanwhile waits, then sees these)."""
    beneficiary = lock_person(beneficiary.pk)
    for item in items:
        _check_request(requester, beneficiary, item.entitlement, item.duration_days, item.duration_hours)
    findings = {
        item.entitlement.pk: findings_for(
            beneficiary, item.entitlement, also={other.entitlement.pk for other in items if other is not item}
        )
        for item in items
    }
    # An automatic approval revives an ended grant: lock it now, before the first audit event.
    lock_grants(beneficiary.pk, findings)
    return [
        _create(
            requester,
            beneficiary,
            item.entitlement,
            justification,
            item.duration_days,
            duration_hours=item.duration_hours,
            findings=findings[item.entitlement.pk],
            cart=cart,
        )
        for item in items
    ]


def request_extension(
    *,
    requester: User,
    grant_id: int,
    duration_days: int | None = None,
    justification: str,
    duration_hours: int | None = None,
) -> AccessRequest:
    """Ask to extend an active time-bound grant; it goes through approval again. Never past the
    entitlement's maximum duration counted from the grant's first activation (access.services.extensions),
    and in the entitlement's unit: hours for an hours entitlement."""
    justification = clean_justification(justification)
    try:
        return _request_extension(requester, grant_id, duration_days, justification, duration_hours)
    except IntegrityError:
        name = Grant.objects.filter(pk=grant_id).values_list("entitlement__name", flat=True).first()
        raise Duplicate(f"There is already a pending request for {name}.") from None


@atomic_change
def _request_extension(
    requester, grant_id: int, duration_days: int | None, justification: str, duration_hours: int | None
) -> AccessRequest:
    holder_id = Grant.objects.filter(pk=grant_id).values_list("user_id", flat=True).first()
    if holder_id is None:
        raise NotFound("That access does not exist.")
    holder = lock_person(holder_id)
    locked = Grant.objects.select_for_update(no_key=True, of=("self",)).select_related("entitlement__account")
    grant = locked.get(pk=grant_id)
    if not may_request_for(requester, holder):
        raise NotFound("That access does not exist.")
    if grant.desired != Grant.Desired.PRESENT or grant.ends_at is None:
        raise InvalidInput("Only active access with an end date can be extended.")
    entitlement = grant.entitlement
    if not entitlement.requestable:
        raise InvalidInput(f"{entitlement.name} cannot be requested. Ask its owner how to get it.", field="entitlement")
    field = "duration_hours" if entitlement.in_hours else "duration_days"
    if duration_days is None and duration_hours is None:
        raise InvalidInput("Choose how long to extend it by.", field=field)
    check_duration(entitlement, duration_days, duration_hours)
    extra = term(duration_days, duration_hours)
    if extra is None:  # never here: no duration, and a zero one, were both refused above
        raise InvalidInput("Choose how long to extend it by.", field=field)
    check_extension(grant, extra, timezone.now())
    # Keeping access longer is checked like getting it: a `block` rule broken since refuses it.
    findings = findings_for(holder, entitlement)
    created = _create(
        requester,
        holder,
        entitlement,
        justification,
        duration_days,
        duration_hours=duration_hours,
        findings=findings,
        kind=AccessRequest.Kind.EXTENSION,
    )
    # Whoever decides sees what was done with the access so far: a fresh read of its CloudTrail files.
    if entitlement.account.cloudtrail_bucket:
        enqueue(task_names.SUMMARISE_ACTIVITY, grant.pk)
    return created


def cancel_request(*, request_id: int, actor: User) -> AccessRequest:
    """The requester (or the beneficiary) withdraws a pending request."""
    return _cancel(request_id, actor)


@atomic_change
def _cancel(request_id: int, actor) -> AccessRequest:
    access_request = lock_request(request_id)
    if actor.pk not in (access_request.requester_id, access_request.beneficiary_id):
        raise NotFound("That request does not exist.")
    if access_request.state != AccessRequest.State.PENDING:
        raise StaleState(f"This request is already {access_request.get_state_display().lower()}.")
    close_request(access_request, state=AccessRequest.State.CANCELLED, now=timezone.now())
    record(
        actor=actor,
        action="request.cancelled",
        obj=access_request,
        before={"state": "pending"},
        after={"state": "cancelled"},
    )
    return access_request


def expire_stale_requests(now: datetime | None = None) -> int:
    """Requests with no decision after PORTAL_REQUEST_EXPIRY_DAYS end as expired."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REQUEST_EXPIRY_DAYS)
    stale_ids = list(
        AccessRequest.objects.filter(state=AccessRequest.State.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:1000]
    )
    return sum(_expire_request(request_id, now) for request_id in stale_ids)


@atomic_change
def _expire_request(request_id: int, now) -> bool:
    access_request = lock_request(request_id)
    if access_request.state != AccessRequest.State.PENDING:
        return False  # decided meanwhile
    close_request(access_request, state=AccessRequest.State.EXPIRED, now=now)
    record(
        actor=None,
        actor_label=SYSTEM_ACTOR,
        action="request.expired",
        obj=access_request,
        before={"state": "pending"},
        after={"state": "expired", "after_days": settings.REQUEST_EXPIRY_DAYS},
    )
    enqueue(task_names.REQUEST_DECIDED, access_request.pk)
    return True
