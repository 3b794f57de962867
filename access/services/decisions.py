"""Deciding requests: approve and deny a stage, or several at once.

Every decision locks the beneficiary, then the request row (access.services.locking), then checks
who is acting, then the state: two approvers clicking at once produce one decision, and the loser is
told (StaleState).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from access.routing import may_decide
from access.services import sync_batches, task_names
from access.services.extensions import check_extension, new_end
from access.services.locking import atomic_change, lock_grants, lock_request
from access.services.naming import refuse_shared_iam_name
from access.services.sod_checks import ExceptionTerms, recheck_separation_of_duties, record_exception
from access.services.stages import close_request
from accounts.models import User
from accounts.roles import is_auditor
from audit.services import record
from inputs.refusals import NotAllowed, NotFound, Refusal, StaleState
from outbox.services import enqueue

Decision = ApprovalAssignment.Decision
MISSING = "That request does not exist."


def activate_stage(stage: Approval, now: datetime | None = None) -> None:
    stage.state, stage.activated_at = Approval.State.PENDING, now or timezone.now()
    stage.save(update_fields=["state", "activated_at"])
    enqueue(task_names.APPROVAL_NEEDED, stage.pk)


def locked_request(request_id: int) -> AccessRequest:
    """The request, locked after its beneficiary; raises NotFound."""
    return lock_request(request_id)


def _actors_assignment(access_request: AccessRequest, actor) -> tuple[Approval, ApprovalAssignment]:
    """The stage being decided and the actor's undecided vote in it, or the right refusal.

    A request the actor may not see (not theirs, no vote of theirs on it: selectors.requests_visible_to)
    is NotFound, as a missing one is, so ids tell nothing. One they may see but not decide is
    NotAllowed: their own, or, for an auditor, one they were asked to decide before becoming one.
    """
    if actor.pk in (access_request.requester_id, access_request.beneficiary_id):
        raise NotAllowed("You cannot decide a request for your own access.")
    assignments = list(ApprovalAssignment.objects.filter(approval__request=access_request).select_related("approval"))
    mine = [assignment for assignment in assignments if may_decide(assignment, actor)]
    if not mine:
        raise NotFound(MISSING)
    if is_auditor(actor):
        raise NotAllowed("Auditors read requests and decide none: ask the next approver in the chain to decide.")
    if access_request.state != AccessRequest.State.PENDING:
        raise StaleState(
            f"This request was already {access_request.get_state_display().lower()}; your decision was not recorded."
        )
    current = [a for a in mine if a.approval.state == Approval.State.PENDING and a.decision == Decision.PENDING]
    if not current:
        if any(a.approval.state == Approval.State.WAITING for a in mine):
            raise StaleState("An earlier approval stage is not decided yet; your decision was not recorded.")
        raise StaleState("You already decided this request; your decision was not recorded.")
    # Prefer the vote assigned to the actor by name over the governance admins' shared one.
    current.sort(key=lambda a: a.approver_id is None)
    return current[0].approval, current[0]


def _vote(assignment: ApprovalAssignment, actor, decision: str, comment: str, now, recent_mfa: bool) -> None:
    assignment.decision, assignment.decided_by, assignment.decided_at = decision, actor, now
    assignment.comment, assignment.recent_mfa = comment, recent_mfa
    assignment.save(update_fields=["decision", "decided_by", "decided_at", "comment", "recent_mfa"])


def _void_open_votes(stages) -> None:
    ApprovalAssignment.objects.filter(approval__in=stages, decision=Decision.PENDING).update(decision=Decision.VOID)


def approve(
    *,
    request_id: int,
    actor: User,
    comment: str = "",
    exception: ExceptionTerms | None = None,
    recent_mfa: bool = False,
) -> AccessRequest:
    """Cast the actor's approval; pass the stage when enough approved; finish the request after the last.

    Separation of duties is checked again first, against what the beneficiary holds now: a `block`
    rule refuses the approval, an `exception` rule adds a stage for its owner. Approving that stage
    needs `exception` terms, recorded as an SoD exception in the same transaction. `recent_mfa`: the
    caller saw the actor prove a second factor within the step-up window (kept on the vote).
    """
    return _approve(request_id, actor, (comment or "").strip(), exception, recent_mfa)


@atomic_change
def _approve(request_id: int, actor, comment: str, exception: ExceptionTerms | None, recent_mfa: bool):
    access_request = locked_request(request_id)
    stage, assignment = _actors_assignment(access_request, actor)
    # Before the first audit event (which locks the chain head): the grant this may complete.
    grant = lock_grants(access_request.beneficiary_id, [access_request.entitlement_id]).get(
        access_request.entitlement_id
    )
    now = timezone.now()
    if access_request.kind == AccessRequest.Kind.EXTENSION:
        if grant is None or grant.desired != Grant.Desired.PRESENT:
            raise StaleState(
                f"{access_request.entitlement.name} ended before this extension was decided; "
                "your decision was not recorded."
            )
        check_extension(grant, access_request.term, now)  # still within the maximum
    else:
        refuse_shared_iam_name(access_request.beneficiary, access_request.entitlement)
    # Under the beneficiary's lock: what they hold cannot change until this commits.
    recheck_separation_of_duties(access_request, now)
    if stage.sod_rule_id:
        record_exception(access_request, stage.sod_rule_id, actor, exception, now)
    _vote(assignment, actor, Decision.APPROVED, comment, now, recent_mfa)
    record(
        actor=actor,
        action="approval.approved",
        obj=assignment,
        after={"request": request_id, "stage": stage.step, "comment": comment, "recent_mfa": recent_mfa},
    )
    approvals = stage.assignments.filter(decision=Decision.APPROVED).count()
    if approvals < stage.required:
        return access_request
    stage.state, stage.decided_at = Approval.State.APPROVED, now
    stage.save(update_fields=["state", "decided_at"])
    _void_open_votes([stage])
    following = access_request.approvals.filter(state=Approval.State.WAITING).order_by("step").first()
    if following is not None:
        activate_stage(following, now)
        return access_request
    complete_request(access_request, actor=actor, now=now)
    return access_request


def deny(*, request_id: int, actor: User, comment: str = "", recent_mfa: bool = False) -> AccessRequest:
    """Any approver of the current stage may deny; the request ends there."""
    return _deny(request_id, actor, (comment or "").strip(), recent_mfa)


@atomic_change
def _deny(request_id: int, actor, comment: str, recent_mfa: bool) -> AccessRequest:
    access_request = locked_request(request_id)
    stage, assignment = _actors_assignment(access_request, actor)
    now = timezone.now()
    _vote(assignment, actor, Decision.DENIED, comment, now, recent_mfa)
    stage.state, stage.decided_at = Approval.State.DENIED, now
    stage.save(update_fields=["state", "decided_at"])
    _void_open_votes([stage])
    close_request(access_request, state=AccessRequest.State.DENIED, now=now)
    record(
        actor=actor,
        action="request.denied",
        obj=access_request,
        before={"state": "pending"},
        after={"state": "denied", "stage": stage.step, "comment": comment, "recent_mfa": recent_mfa},
    )
    enqueue(task_names.REQUEST_DECIDED, access_request.pk)
    return access_request


@dataclass(frozen=True)
class BulkOutcome:
    request_id: int
    ok: bool
    message: str


def decide_many(
    *, request_ids: list[int], actor: User, approve_them: bool, comment: str = "", recent_mfa: bool = False
) -> list[BulkOutcome]:
    """Decide several requests, each on its own: one refused request does not undo the others."""
    service = approve if approve_them else deny
    outcomes = []
    for request_id in dict.fromkeys(request_ids):
        try:
            decided = service(request_id=request_id, actor=actor, comment=comment, recent_mfa=recent_mfa)
        except Refusal as exc:
            outcomes.append(BulkOutcome(request_id, False, exc.message))
        else:
            outcomes.append(BulkOutcome(request_id, True, f"{decided.entitlement.name} for {decided.beneficiary}"))
    return outcomes


def complete_request(
    access_request: AccessRequest, *, actor: User | None, now: datetime, system_label: str = "system:auto-approval"
) -> Grant:
    """Every stage passed: approve the request and record the desired grant (or its extension).

    `system_label` names who approved when no person did (an automatic approval, a break glass)."""
    access_request.state, access_request.decided_at = AccessRequest.State.APPROVED, now
    access_request.save(update_fields=["state", "decided_at"])
    record(
        actor=actor,
        actor_label=None if actor else system_label,
        action="request.approved",
        obj=access_request,
        before={"state": "pending"},
        after={"state": "approved"},
    )
    enqueue(task_names.REQUEST_DECIDED, access_request.pk)
    if access_request.kind == AccessRequest.Kind.EXTENSION:
        return _extend_grant(access_request, actor, now)
    return _desire_grant(access_request, actor, now, system_label)


def _desire_grant(access_request: AccessRequest, actor, now, system_label: str) -> Grant:
    # Already locked by the caller, before its first audit event (access.services.locking).
    grant, created = Grant.objects.select_for_update(no_key=True, of=("self",)).get_or_create(
        user_id=access_request.beneficiary_id,
        entitlement_id=access_request.entitlement_id,
        defaults={
            "source": Grant.Source.REQUEST,
            "request": access_request,
            "granted_at": now,
            "duration_days": access_request.duration_days,
            "duration_hours": access_request.duration_hours,
        },
    )
    before = None if created else {"desired": grant.desired, "sync_state": grant.sync_state}
    if not created:
        grant.begin(
            source=Grant.Source.REQUEST,
            request=access_request,
            granted_at=now,
            duration_days=access_request.duration_days,
            duration_hours=access_request.duration_hours,
        )
        grant.save()
    record(
        actor=actor,
        actor_label=None if actor else system_label,
        action="grant.desired_present",
        obj=grant,
        before=before,
        after={
            "user": grant.user_id,
            "entitlement": grant.entitlement_id,
            "request": access_request.pk,
            "desired": "present",
            "sync_state": "pending",
            "duration_days": grant.duration_days,
            "duration_hours": grant.duration_hours,
        },
    )
    sync_batches.wake_sync(grant)
    enqueue(task_names.SOD_RECHECK, grant.user_id)
    return grant


def _extended_grant(access_request: AccessRequest) -> Grant:
    return (
        Grant.objects.select_for_update(no_key=True, of=("self",))
        .select_related("entitlement")
        .get(user_id=access_request.beneficiary_id, entitlement_id=access_request.entitlement_id)
    )


def _extend_grant(access_request: AccessRequest, actor, now) -> Grant:
    grant = _extended_grant(access_request)
    before = {"expires_at": grant.expires_at.isoformat() if grant.expires_at else None}
    grant.expires_at = new_end(grant, access_request.term, now)
    grant.expiry_reminded_days = None
    grant.save(update_fields=["expires_at", "expiry_reminded_days"])
    record(
        actor=actor,
        action="grant.extended",
        obj=grant,
        before=before,
        after={"expires_at": grant.expires_at.isoformat(), "request": access_request.pk},
    )
    return grant
