"""Ending a request without a decision: its open stages close and their undecided votes are void."""

from access.models import AccessRequest, Approval, ApprovalAssignment


def close_request(access_request: AccessRequest, *, state: str, now) -> None:
    """Move a locked, pending request to `state` (cancelled or expired). The caller audits it."""
    access_request.state, access_request.decided_at = state, now
    access_request.save(update_fields=["state", "decided_at"])
    open_stages = access_request.approvals.filter(state__in=[Approval.State.WAITING, Approval.State.PENDING])
    ApprovalAssignment.objects.filter(approval__in=open_stages, decision=ApprovalAssignment.Decision.PENDING).update(
        decision=ApprovalAssignment.Decision.VOID
    )
    open_stages.update(state=Approval.State.CLOSED, decided_at=now)
