"""A request's stages: created from a plan, and closed when the request ends without a decision."""

from datetime import datetime

from access.models import AccessRequest, Approval, ApprovalAssignment
from access.routing import PlannedStage


def create_stage(access_request: AccessRequest, step: int, planned: PlannedStage) -> Approval:
    """One planned stage (access.routing.PlannedStage) and the votes of the people planned for it."""
    stage = Approval.objects.create(
        request=access_request,
        step=step,
        label=planned.label,
        required=planned.required,
        sod_rule_id=planned.sod_rule_id,
    )
    ApprovalAssignment.objects.bulk_create(
        ApprovalAssignment(approval=stage, approver=item.approver, reason=item.reason) for item in planned.assignments
    )
    return stage


def close_request(access_request: AccessRequest, *, state: str, now: datetime) -> None:
    """Move a locked, pending request to `state` (denied, cancelled or expired), closing its open stages.

    The caller audits it.
    """
    access_request.state, access_request.decided_at = state, now
    access_request.save(update_fields=["state", "decided_at"])
    open_stages = access_request.approvals.filter(state__in=[Approval.State.WAITING, Approval.State.PENDING])
    ApprovalAssignment.objects.filter(approval__in=open_stages, decision=ApprovalAssignment.Decision.PENDING).update(
        decision=ApprovalAssignment.Decision.VOID
    )
    open_stages.update(state=Approval.State.CLOSED, decided_at=now)
