"""Submitting and deciding access requests."""

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.errors import Duplicate, InvalidInput, NotAllowed, NotFound, StaleState
from access.models import AccessRequest, Approval, Grant
from access.routing import first_step_route, may_decide
from audit.services import record

MIN_JUSTIFICATION = 10
SYNC_TASK = "iam.sync_grant"


def submit_request(*, requester, entitlement, justification: str) -> AccessRequest:
    """Ask for `entitlement` for the requester; route the first approval step.

    Refuses, changing nothing: a blank or too short justification, an entitlement that is
    not requestable, a leaver, access already held, a request already pending.
    """
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise InvalidInput(
            f"Explain why you need this access in at least {MIN_JUSTIFICATION} characters.", field="justification"
        )
    if not entitlement.requestable:
        raise InvalidInput(f"{entitlement.name} cannot be requested. Ask its owner how to get it.")
    if requester.is_leaver or not requester.is_active:
        raise NotAllowed("Leavers cannot request access.")
    beneficiary = requester
    if Grant.objects.filter(user=beneficiary, entitlement=entitlement, desired=Grant.Desired.PRESENT).exists():
        raise Duplicate(f"You already have {entitlement.name}.")

    route = first_step_route(beneficiary)
    try:
        with transaction.atomic():
            access_request = AccessRequest.objects.create(
                requester=requester, beneficiary=beneficiary, entitlement=entitlement, justification=justification
            )
            Approval.objects.create(request=access_request, step=1, approver=route.approver, routing_note=route.note)
            record(
                actor=requester,
                action="request.submitted",
                obj=access_request,
                after={
                    "beneficiary": beneficiary.pk,
                    "entitlement": entitlement.pk,
                    "justification": justification,
                    "approver": route.approver.pk if route.approver else None,
                    "routing": route.note,
                },
            )
    except IntegrityError:
        # The partial unique constraint caught a concurrent or earlier pending request.
        raise Duplicate(f"You already have a pending request for {entitlement.name}.") from None
    return access_request


def _locked_pending_step(request_id: int, actor) -> tuple[AccessRequest, Approval]:
    """Lock the request, then check who is acting, then that it is still undecided."""
    try:
        access_request = AccessRequest.objects.select_for_update().select_related("entitlement").get(pk=request_id)
    except AccessRequest.DoesNotExist:
        raise NotFound("That request does not exist.") from None
    if actor.pk in (access_request.requester_id, access_request.beneficiary_id):
        raise NotAllowed("You cannot decide a request for your own access.")
    step = (
        access_request.approvals.select_for_update().order_by("step").filter(decision=Approval.Decision.PENDING).first()
    )
    decidable = step or access_request.approvals.order_by("-step").first()
    if decidable is None or not may_decide(decidable, actor):
        raise NotAllowed("You are not an approver of this request.")
    if access_request.state != AccessRequest.State.PENDING or step is None:
        raise StaleState(
            f"This request was already {access_request.get_state_display().lower()}; your decision was not recorded."
        )
    return access_request, step


def _decide_step(step: Approval, actor, decision: str, comment: str, now) -> None:
    step.decision, step.decided_by, step.decided_at, step.comment = decision, actor, now, comment
    step.save(update_fields=["decision", "decided_by", "decided_at", "comment"])


def approve(*, request_id: int, actor, comment: str = "") -> AccessRequest:
    """Approve the pending step; when it is the last, record the grant and queue its sync.

    Exactly one grant and one sync result from any number of concurrent approvals: the
    request row is locked, and the loser of the race sees a decided request (StaleState).
    """
    comment = (comment or "").strip()
    with transaction.atomic():
        access_request, step = _locked_pending_step(request_id, actor)
        now = timezone.now()
        _decide_step(step, actor, Approval.Decision.APPROVED, comment, now)
        record(actor=actor, action="approval.approved", obj=step, after={"request": request_id, "comment": comment})
        if access_request.approvals.filter(decision=Approval.Decision.PENDING).exists():
            return access_request
        access_request.state, access_request.decided_at = AccessRequest.State.APPROVED, now
        access_request.save(update_fields=["state", "decided_at"])
        record(
            actor=actor,
            action="request.approved",
            obj=access_request,
            before={"state": "pending"},
            after={"state": "approved"},
        )
        grant = _desire_grant(access_request, actor, now)
        transaction.on_commit(lambda: current_app.send_task(SYNC_TASK, args=[grant.pk]))
    return access_request


def deny(*, request_id: int, actor, comment: str = "") -> AccessRequest:
    """Deny the pending step, which ends the request."""
    comment = (comment or "").strip()
    with transaction.atomic():
        access_request, step = _locked_pending_step(request_id, actor)
        now = timezone.now()
        _decide_step(step, actor, Approval.Decision.DENIED, comment, now)
        access_request.state, access_request.decided_at = AccessRequest.State.DENIED, now
        access_request.save(update_fields=["state", "decided_at"])
        record(
            actor=actor,
            action="request.denied",
            obj=access_request,
            before={"state": "pending"},
            after={"state": "denied", "comment": comment},
        )
    return access_request


def _desire_grant(access_request: AccessRequest, actor, now) -> Grant:
    grant, created = Grant.objects.select_for_update().get_or_create(
        user_id=access_request.beneficiary_id,
        entitlement_id=access_request.entitlement_id,
        defaults={"source": Grant.Source.REQUEST, "request": access_request, "granted_at": now},
    )
    before = None if created else {"desired": grant.desired, "sync_state": grant.sync_state}
    if not created:
        grant.source, grant.request, grant.granted_at = Grant.Source.REQUEST, access_request, now
        grant.desired, grant.sync_state, grant.last_error = Grant.Desired.PRESENT, Grant.SyncState.PENDING, ""
        grant.save(update_fields=["source", "request", "granted_at", "desired", "sync_state", "last_error"])
    record(
        actor=actor,
        action="grant.desired_present",
        obj=grant,
        before=before,
        after={
            "user": grant.user_id,
            "entitlement": grant.entitlement_id,
            "request": access_request.pk,
            "desired": "present",
            "sync_state": "pending",
        },
    )
    return grant
