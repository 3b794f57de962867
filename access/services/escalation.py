"""Escalation: a stage nobody decides gets the next approver in the chain.

An approval stage escalates every PORTAL_APPROVAL_ESCALATE_AFTER_HOURS after it became active; a
break glass's after-the-fact review first at its due time (24 h after the break glass), then at the
same interval. Both add the same next person (access.routing's chain) and tell them.
"""

from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment
from access.routing import ADMINS, eligible, policy_for
from access.services import task_names
from access.services.decisions import locked_request
from access.services.locking import atomic_change
from accounts.models import User
from audit.services import record
from outbox.services import enqueue


def escalate_overdue_approvals(now: datetime | None = None) -> int:
    """Add the next approver in the chain to stages nobody decided within the escalation interval, and to
    after-the-fact reviews of break glass past their due time."""
    now = now or timezone.now()
    interval = timedelta(hours=settings.APPROVAL_ESCALATE_AFTER_HOURS)
    candidates = Approval.objects.filter(
        state=Approval.State.PENDING, request__state=AccessRequest.State.PENDING, activated_at__lt=now - interval
    ).values_list("pk", "request_id")[:1000]
    reviews = Approval.objects.filter(
        state=Approval.State.PENDING, kind=Approval.Kind.REVIEW, due_at__lte=now
    ).values_list("pk", "request_id")[:1000]
    every = [*candidates, *reviews]
    return sum(_escalate(stage_id, request_id, now, interval) for stage_id, request_id in every)


def next_escalation_at(stage: Approval, interval: timedelta) -> datetime:
    """When the stage escalates next: an approval `interval` after it became active (then again), a review
    at its due time (then every `interval`)."""
    if stage.kind == Approval.Kind.REVIEW:
        start, intervals = stage.due_at, stage.escalations
    else:
        start, intervals = stage.activated_at, stage.escalations + 1
    if start is None:  # never: a review has a due time (review_has_a_due_time), a pending stage was activated
        raise ValueError(f"the approval stage {stage.pk} has no time to escalate from")
    return start + interval * intervals


@atomic_change
def _escalate(stage_id: int, request_id: int, now: datetime, interval: timedelta) -> bool:
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
        if stage.due_at is None or stage.activated_at is None:  # never: a review is opened active, with a due time
            raise ValueError(f"the break-glass review {stage.pk} has no opening or due time")
        late = round((stage.due_at - stage.activated_at).total_seconds() / 3600)
        late += settings.APPROVAL_ESCALATE_AFTER_HOURS * stage.escalations
        return f"Escalated: break glass not reviewed within {late} hours"
    hours = settings.APPROVAL_ESCALATE_AFTER_HOURS * (stage.escalations + 1)
    return f"Escalated: no decision after {hours} hours"


def _next_in_chain(stage: Approval, why: str) -> tuple[User | None, str]:
    """The manager of someone already assigned, then the policy's fallback, then governance admins."""
    access_request = stage.request
    excluded = {access_request.requester_id, access_request.beneficiary_id}
    assigned = set(stage.assignments.exclude(approver__isnull=True).values_list("approver_id", flat=True))
    people = stage.assignments.filter(approver__isnull=False).select_related("approver__manager")
    for assignment in people:
        approver = cast(User, assignment.approver)  # approver__isnull=False above
        if eligible(approver.manager, excluded | assigned):
            return approver.manager, f"{why} (manager of {approver})"
    policy = policy_for(access_request.entitlement)
    fallback = policy.fallback_approver if policy else None
    if eligible(fallback, excluded | assigned):
        return fallback, f"{why} (fallback approver)"
    return ADMINS, f"{why} (governance admins)"
