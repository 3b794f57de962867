"""Escalation: a stage nobody decides gets the next approver in the chain.

An approval stage escalates every PORTAL_APPROVAL_ESCALATE_AFTER_HOURS after it became active; a
break glass's after-the-fact review first at its due time (24 h after the break glass), then at the
same interval. Both add the same next person (access.routing's chain) and tell them.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment
from access.routing import ADMINS, eligible, policy_for
from access.services import task_names
from access.services.decisions import locked_request
from access.services.locking import atomic_change
from audit.services import record
from outbox.services import enqueue


def escalate_overdue_approvals(now=None) -> int:
    """Add the next approver in the chain to stages nobody decided within the escalation interval, and to
    after-the-fact reviews of break glass past their due time."""
    now = now or timezone.now()
    interval = timedelta(hours=settings.APPROVAL_ESCALATE_AFTER_HOURS)
    candidates = Approval.objects.filter(
        state=Approval.State.PENDING, request__state=AccessRequest.State.PENDING, activated_at__lt=now - interval
    ).values_list("pk", "request_id")[:1000]
    reviews = Approval.objects.filter(state=Approval.State.PENDING, kind=Approval.Kind.REVIEW, due_at__lte=now)
    reviews = reviews.values_list("pk", "request_id")[:1000]
    every = [*candidates, *reviews]
    return sum(_escalate(stage_id, request_id, now, interval) for stage_id, request_id in every)


def next_escalation_at(stage: Approval, interval: timedelta):
    """When the stage escalates next: an approval `interval` after it became active (then again), a review
    at its due time (then every `interval`)."""
    if stage.kind == Approval.Kind.REVIEW:
        return stage.due_at + interval * stage.escalations
    return stage.activated_at + interval * (stage.escalations + 1)


@atomic_change
def _escalate(stage_id: int, request_id: int, now, interval) -> bool:
    locked_request(request_id)
    stage = Approval.objects.select_related("request__beneficiary", "request__entitlement").get(pk=stage_id)
    if stage.state != Approval.State.PENDING or next_escalation_at(stage, interval) > now:
        return False
    target, reason = _next_in_chain(stage, _why(stage))
    if target is not None or not stage.assignments.filter(approver__isnull=True).exists():
        ApprovalAssignment.objects.create(approval=stage, approver=target, reason=reason)
    stage.escalations += 1
    stage.save(update_fields=["escalations"])
    record(
        actor=None,
        actor_label="system:escalation",
        action="approval.escalated",
        obj=stage,
        after={"request": request_id, "to": target.pk if target else "governance admins", "reason": reason},
    )
    review = stage.kind == Approval.Kind.REVIEW
    enqueue(task_names.BREAK_GLASS_REVIEW if review else task_names.APPROVAL_NEEDED, stage.pk)
    return True


def _why(stage: Approval) -> str:
    if stage.kind == Approval.Kind.REVIEW:
        late = round((stage.due_at - stage.activated_at).total_seconds() / 3600)
        late += settings.APPROVAL_ESCALATE_AFTER_HOURS * stage.escalations
        return f"Escalated: break glass not reviewed within {late} hours"
    hours = settings.APPROVAL_ESCALATE_AFTER_HOURS * (stage.escalations + 1)
    return f"Escalated: no decision after {hours} hours"


def _next_in_chain(stage: Approval, why: str):
    """The manager of someone already assigned, then the policy's fallback, then governance admins."""
    access_request = stage.request
    excluded = {access_request.requester_id, access_request.beneficiary_id}
    assigned = set(stage.assignments.exclude(approver__isnull=True).values_list("approver_id", flat=True))
    people = stage.assignments.filter(approver__isnull=False).select_related("approver__manager")
    for assignment in people:
        manager = assignment.approver.manager
        if eligible(manager, excluded | assigned):
            return manager, f"{why} (manager of {assignment.approver})"
    policy = policy_for(access_request.entitlement)
    fallback = policy.fallback_approver if policy else None
    if eligible(fallback, excluded | assigned):
        return fallback, f"{why} (fallback approver)"
    return ADMINS, f"{why} (governance admins)"
