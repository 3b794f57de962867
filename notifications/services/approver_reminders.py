"""Reminding approvers of steps that have waited too long."""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment
from notifications import wording
from notifications.models import Notification
from notifications.services.recipients import active, create, governance_admins

Kind = Notification.Kind
Vote = ApprovalAssignment.Decision


def _waiting_stages_by_person(active_before) -> dict[int, list[Approval]]:
    """Each person's undecided stages activated before `active_before`, oldest first."""
    assignments = (
        ApprovalAssignment.objects.filter(
            decision=Vote.PENDING,
            approval__state=Approval.State.PENDING,
            approval__request__state=AccessRequest.State.PENDING,
            approval__activated_at__lt=active_before,
        )
        .select_related("approval__request__entitlement", "approval__request__beneficiary")
        .order_by("approval__activated_at", "approval_id")
    )
    admins = governance_admins(excluding=())
    waiting: dict[int, dict[int, Approval]] = {}
    for assignment in assignments:
        stage = assignment.approval
        if assignment.approver_id is not None:
            people = [assignment.approver_id]
        else:
            own = {stage.request.requester_id, stage.request.beneficiary_id}
            people = [pk for pk in admins if pk not in own]
        for pk in people:
            # Keyed by stage: someone both named and an admin on one stage counts it once.
            waiting.setdefault(pk, {}).setdefault(stage.pk, stage)
    return {pk: list(stages.values()) for pk, stages in waiting.items()}


def remind_approvers(now=None) -> int:
    """Send each approver ONE reminder listing the steps that waited longer than the reminder interval.

    Nobody is reminded twice within APPROVAL_REMIND_EVERY_HOURS. Returns how many people were reminded.
    """
    now = now or timezone.now()
    interval = timedelta(hours=settings.APPROVAL_REMIND_EVERY_HOURS)
    waiting = _waiting_stages_by_person(active_before=now - interval)
    reminded = set(
        Notification.objects.filter(
            kind=Kind.APPROVAL_REMINDER, recipient_id__in=waiting, created_at__gt=now - interval
        ).values_list("recipient_id", flat=True)
    )
    texts = {pk: wording.approvals_waiting(waiting[pk], now) for pk in active(waiting) if pk not in reminded}
    return len(create(Kind.APPROVAL_REMINDER, reverse("access:inbox"), texts, now=now))
