"""A mover's pending approvals follow their new manager.

When a person's manager changes (accounts.services.upsert_person: the HR feed, single sign-on, SCIM), the
manager stages of their pending requests are planned again from the chart as it now stands: the votes the
old chain was asked for and has not cast are set aside (void) and the new manager (or, when nobody may
decide, the fallback or the governance admins) is asked instead. Stages already decided, and the other
stages (owners, named approvers, separation of duties), are left as they are.
"""

from access.models import AccessRequest, Approval, ApprovalAssignment
from access.routing import LABELS, plan_manager_stage
from access.services import task_names
from access.services.locking import lock_request
from accounts.models import User
from audit.services import record
from catalog.models import ApprovalStage
from outbox.services import enqueue

Decision = ApprovalAssignment.Decision
MANAGER_LABEL = LABELS[ApprovalStage.Approvers.MANAGER]


def reroute_pending_approvals(*, person: User, actor: User | None = None, actor_label: str | None = None) -> int:
    """Re-plan the manager stages of `person`'s pending requests; returns how many stages changed.

    Runs inside the caller's transaction, which has locked `person` (the mover) first; the requests are
    locked next, by id, and the audit head last (docs/architecture.md, locks).
    """
    request_ids = list(
        AccessRequest.objects.filter(beneficiary_id=person.pk, state=AccessRequest.State.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changed = 0
    for request_id in request_ids:
        access_request = lock_request(request_id)
        if access_request.state != AccessRequest.State.PENDING:
            continue
        stages = access_request.approvals.select_for_update(no_key=True, of=("self",)).filter(
            label=MANAGER_LABEL, state__in=[Approval.State.WAITING, Approval.State.PENDING]
        )
        for stage in stages.order_by("step"):
            if _reroute(stage, access_request, actor, actor_label):
                changed += 1
    return changed


def _reroute(stage: Approval, access_request: AccessRequest, actor, actor_label) -> bool:
    if stage.assignments.filter(decision=Decision.APPROVED).exists():
        return False  # a vote already cast stands; the stage is no longer only the old chain's to decide
    planned = plan_manager_stage(access_request.entitlement, access_request.requester, access_request.beneficiary)
    wanted = {item.approver.pk if item.approver else None: item for item in planned.assignments}
    open_votes = list(stage.assignments.filter(decision=Decision.PENDING))
    if {vote.approver_id for vote in open_votes} == set(wanted):
        return False
    before = sorted((vote.approver_id or 0) for vote in open_votes)
    stale = [vote.pk for vote in open_votes if vote.approver_id not in wanted]
    ApprovalAssignment.objects.filter(pk__in=stale).update(decision=Decision.VOID)
    existing = {vote.approver_id: vote for vote in stage.assignments.all()}
    for approver_id, item in wanted.items():
        vote = existing.get(approver_id)
        if vote is None:
            ApprovalAssignment.objects.create(approval=stage, approver=item.approver, reason=item.reason)
        elif vote.decision == Decision.VOID:
            # Asked before (an earlier move, or an escalation), set aside since: asked again.
            vote.decision, vote.reason = Decision.PENDING, item.reason
            vote.save(update_fields=["decision", "reason"])
    record(
        actor=actor,
        actor_label=actor_label,
        action="approval.rerouted",
        obj=stage,
        before={"request": access_request.pk, "approvers": before},
        after={
            "request": access_request.pk,
            "approvers": sorted(key or 0 for key in wanted),
            "reason": "; ".join(item.reason for item in planned.assignments),
        },
    )
    if stage.state == Approval.State.PENDING:
        enqueue(task_names.APPROVAL_NEEDED, stage.pk)
    return True
