"""Break glass: pre-approved elevation for the people a governance admin chose, reviewed afterwards.

Someone allowed to break glass for an entitlement (by name, or by their department) gets it at once, with
a reason and a ticket reference, for a duration within the entitlement's bounds. The request is recorded
approved (`request.break_glass`, then `request.approved` as `system:break-glass`), and its grant is queued
for sync through the outbox like any approved grant. The people who would have approved it are told at
once and given an after-the-fact review (an `Approval` of kind `review`, due in REVIEW_HOURS), which
escalates like an approval stage when nobody decides it (access.services.escalation). A reviewer confirms
it, or revokes it, which ends the grant now (removed from AWS and read back by the sync engine).

Nothing preventive is bypassed: separation of duties is judged as at submission, under the person's lock,
and a conflict a `block` rule forbids, or one that needs an exception nobody granted yet, is refused.
"""

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment, BreakGlassEligibility, Grant
from access.routing import ADMINS, may_decide, plan_approvals
from access.selectors import break_glass_grounds
from access.services import task_names
from access.services.decisions import complete_request
from access.services.grants import end_grant
from access.services.locking import atomic_change, lock_grants, lock_person, lock_request
from access.services.naming import refuse_shared_iam_name
from access.services.requests import check_duration
from access.services.sod_checks import findings_for
from access.services.stages import close_request
from accounts.models import User
from accounts.roles import is_auditor, is_governance_admin
from audit.services import record
from catalog.models import Entitlement
from inputs.refusals import Duplicate, InvalidInput, NotAllowed, NotFound, SodBlocked, StaleState
from outbox.services import enqueue

MIN_REASON = 20
MAX_REASON = 2000
MAX_TICKET = 40
# An incident or change ticket: a letter, letters or digits, an optional hyphen, then digits
# (INC0012345, CHG0031337, OPS-123, SEC2-7).
TICKET_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,15}-?[0-9]{1,12}")
REVIEW_HOURS = 24
SYSTEM_ACTOR = "system:break-glass"
PRE_APPROVED_LABEL = "Pre-approved: break glass"
REVIEW_LABEL = "After-the-fact review"
STEP_UP = "Breaking glass"
# Governance admins set these for an entitlement; more would be a group of people, better named by department.
MAX_PEOPLE = 50
MAX_DEPARTMENTS = 20
MAX_DEPARTMENT = 100
CHANGED_ACTION = "catalog.break_glass_changed"

Decision = ApprovalAssignment.Decision


def clean_reason(reason: object) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if "\x00" in reason:
        raise InvalidInput("The reason contains a NUL character; type it again.", field="reason")
    if len(reason) < MIN_REASON:
        raise InvalidInput(
            f"Say why you are breaking glass in at least {MIN_REASON} characters: what is broken and what you will do.",
            field="reason",
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason to {MAX_REASON} characters; link the ticket for more.", field="reason")
    return reason


def clean_ticket(ticket: object) -> str:
    ticket = (ticket or "").strip().upper() if isinstance(ticket, str) else ""
    if not ticket:
        raise InvalidInput("Give the incident or change ticket this is for, such as INC0012345.", field="ticket")
    if len(ticket) > MAX_TICKET or not TICKET_PATTERN.fullmatch(ticket):
        raise InvalidInput(
            "A ticket reference is letters then digits, with an optional hyphen between, such as INC0012345 or "
            "OPS-123.",
            field="ticket",
        )
    return ticket


def break_glass(
    *,
    requester: User,
    entitlement_id: int,
    reason: str,
    ticket: str,
    duration_days: int | None = None,
    duration_hours: int | None = None,
    recent_mfa: bool,
) -> AccessRequest:
    """Grant the requester the entitlement now, pre-approved, and open its after-the-fact review.

    Refuses, changing nothing: someone not allowed to break glass for it (403), without a second factor
    proven in the step-up window (403: pages and the API ask for it first), a missing or malformed reason,
    ticket or duration (400), access already held (409), a separation-of-duties conflict (409).
    """
    return _break_glass(requester, entitlement_id, reason, ticket, duration_days, duration_hours, recent_mfa)


@atomic_change
def _break_glass(requester, entitlement_id, reason, ticket, duration_days, duration_hours, recent_mfa):
    entitlement = Entitlement.objects.select_related("account").filter(pk=entitlement_id).first()
    if entitlement is None:
        raise NotFound("That entitlement does not exist.")
    # Who may, before what they sent: a person not allowed learns nothing more from their input.
    person = lock_person(requester.pk)
    grounds = break_glass_grounds(person, entitlement.pk)
    if grounds is None:
        raise NotAllowed(f"You may not break glass for {entitlement.name}. Request it, or ask a governance admin.")
    if not recent_mfa:
        raise NotAllowed(f"{STEP_UP} needs a code from your authenticator app entered in the last minutes.")
    reason, ticket = clean_reason(reason), clean_ticket(ticket)
    if duration_days is None and duration_hours is None:
        field = "duration_hours" if entitlement.in_hours else "duration_days"
        raise InvalidInput("Break-glass access always ends: choose how long you need it.", field=field)
    check_duration(entitlement, duration_days, duration_hours)
    if Grant.objects.filter(user=person, entitlement=entitlement, desired=Grant.Desired.PRESENT).exists():
        raise Duplicate(f"You already have {entitlement.name}.")
    refuse_shared_iam_name(person, entitlement)
    findings = findings_for(person, entitlement)  # a `block` rule raises SodBlocked here
    needing = [finding for finding in findings if finding.needs_exception]
    if needing:
        raise SodBlocked(
            f"{needing[0].message} Breaking glass cannot grant an exception: request {entitlement.name} so that the "
            "rule's owner can decide one."
        )
    now = timezone.now()
    # Before the first audit event: a pending request it supersedes, then the grant it revives.
    superseded = _pending_request(person, entitlement)
    lock_grants(person.pk, [entitlement.pk])
    if superseded is not None:  # first: one pending request per person and entitlement
        close_request(superseded, state=AccessRequest.State.CANCELLED, now=now)
    access_request = AccessRequest.objects.create(
        requester=person,
        beneficiary=person,
        entitlement=entitlement,
        justification=reason,
        duration_days=duration_days,
        duration_hours=duration_hours,
        break_glass=True,
        ticket=ticket,
        sod_findings=[finding.message for finding in findings],
    )
    if superseded is not None:
        record(
            actor=person,
            action="request.cancelled",
            obj=superseded,
            before={"state": "pending"},
            after={"state": "cancelled", "superseded_by": access_request.pk},
        )
    record(
        actor=person,
        action="request.break_glass",
        obj=access_request,
        after={
            "beneficiary": person.pk,
            "entitlement": entitlement.pk,
            "justification": reason,
            "ticket": ticket,
            "duration_days": duration_days,
            "duration_hours": duration_hours,
            "allowed_as": grounds,
            "recent_mfa": recent_mfa,
            "sod": [finding.message for finding in findings],
        },
    )
    stage = Approval.objects.create(
        request=access_request,
        step=1,
        label=PRE_APPROVED_LABEL,
        state=Approval.State.APPROVED,
        activated_at=now,
        decided_at=now,
    )
    ApprovalAssignment.objects.create(
        approval=stage,
        reason=f"{person} may break glass ({grounds}); ticket {ticket}",
        decision=Decision.APPROVED,
        automatic=True,
        decided_at=now,
        recent_mfa=recent_mfa,
    )
    complete_request(access_request, actor=None, now=now, system_label=SYSTEM_ACTOR)
    _open_review(access_request, now)
    return access_request


def _pending_request(person, entitlement) -> AccessRequest | None:
    pending_id = (
        AccessRequest.objects.filter(beneficiary=person, entitlement=entitlement, state=AccessRequest.State.PENDING)
        .values_list("pk", flat=True)
        .first()
    )
    if pending_id is None:
        return None
    return AccessRequest.objects.select_for_update(no_key=True, of=("self",)).get(pk=pending_id)


def _open_review(access_request: AccessRequest, now) -> Approval:
    """The after-the-fact review, for the people who would have approved the request (never its requester)."""
    plan = plan_approvals(access_request.entitlement, access_request.requester, access_request.beneficiary)
    reviewers: dict[int | None, str] = {}
    for planned in plan.stages:
        for assignment in planned.assignments:
            key = assignment.approver.pk if assignment.approver is not ADMINS else None
            reviewers.setdefault(key, f"Would have approved it: {assignment.reason}"[:200])
    if not reviewers:
        reviewers[None] = f"Governance admins: {plan.policy_name} would have approved it without a person"[:200]
    due = now + timedelta(hours=REVIEW_HOURS)
    stage = Approval.objects.create(
        request=access_request,
        step=2,
        label=REVIEW_LABEL,
        kind=Approval.Kind.REVIEW,
        state=Approval.State.PENDING,
        activated_at=now,
        due_at=due,
    )
    ApprovalAssignment.objects.bulk_create(
        ApprovalAssignment(approval=stage, approver_id=approver_id, reason=why)
        for approver_id, why in reviewers.items()
    )
    record(
        actor=None,
        actor_label=SYSTEM_ACTOR,
        action="breakglass.review_opened",
        obj=stage,
        after={
            "request": access_request.pk,
            "due_at": due.isoformat(),
            "reviewers": sorted(pk or 0 for pk in reviewers),  # 0: governance admins
        },
    )
    enqueue(task_names.BREAK_GLASS_REVIEW, stage.pk)
    return stage


def review_stage_of(access_request: AccessRequest) -> Approval | None:
    return access_request.approvals.filter(kind=Approval.Kind.REVIEW).first()


def decide_review(
    *, request_id: int, actor: User, confirm: bool, comment: str = "", recent_mfa: bool = False
) -> AccessRequest:
    """Confirm a break glass, or revoke it: the grant it made ends now (if it has not ended already).

    Any one reviewer decides; the second to try is told it was decided (409). Nobody reviews their own
    break glass, auditors review none, and a review the actor was not asked to decide is NotFound.
    """
    comment = (comment or "").strip()
    if len(comment) > MAX_REASON:
        raise InvalidInput(f"Keep the comment to {MAX_REASON} characters.", field="comment")
    return _decide_review(request_id, actor, confirm, comment, recent_mfa)


@atomic_change
def _decide_review(request_id: int, actor, confirm: bool, comment: str, recent_mfa: bool) -> AccessRequest:
    access_request = lock_request(request_id)
    stage = review_stage_of(access_request) if access_request.break_glass else None
    if stage is None:
        raise NotFound("That break-glass review does not exist.")
    due_at = stage.due_at
    if due_at is None:  # never: the constraint review_has_a_due_time
        raise ValueError(f"the break-glass review {stage.pk} has no due time")
    if actor.pk in (access_request.requester_id, access_request.beneficiary_id):
        raise NotAllowed("You cannot review your own break glass.")
    votes = list(stage.assignments.all())
    mine = [vote for vote in votes if may_decide(vote, actor)]
    if not mine:
        raise NotFound("That break-glass review does not exist.")
    if is_auditor(actor):
        raise NotAllowed("Auditors read break-glass reviews and decide none.")
    if stage.state != Approval.State.PENDING:
        done = "confirmed" if stage.state == Approval.State.APPROVED else "revoked"
        decider = next((vote.decided_by for vote in votes if vote.decided_by_id), None)
        by = f" by {decider}" if decider else ""
        raise StaleState(f"This break glass was already {done}{by}; your decision was not recorded.")
    # Before the first audit event: the grant a revocation ends.
    grant = lock_grants(access_request.beneficiary_id, [access_request.entitlement_id]).get(
        access_request.entitlement_id
    )
    now = timezone.now()
    mine.sort(key=lambda vote: vote.approver_id is None)  # the vote naming the actor before the admins' shared one
    vote = mine[0]
    vote.decision = Decision.APPROVED if confirm else Decision.DENIED
    vote.decided_by, vote.decided_at, vote.comment, vote.recent_mfa = actor, now, comment, recent_mfa
    vote.save(update_fields=["decision", "decided_by", "decided_at", "comment", "recent_mfa"])
    stage.state = Approval.State.APPROVED if confirm else Approval.State.DENIED
    stage.decided_at = now
    stage.save(update_fields=["state", "decided_at"])
    stage.assignments.filter(decision=Decision.PENDING).update(decision=Decision.VOID)
    held = grant is not None and grant.request_id == access_request.pk and grant.desired == Grant.Desired.PRESENT
    live = grant if held else None
    record(
        actor=actor,
        action="breakglass.confirmed" if confirm else "breakglass.revoked",
        obj=stage,
        after={
            "request": access_request.pk,
            "comment": comment,
            "recent_mfa": recent_mfa,
            "overdue": now > due_at,
            "grant_ended_now": live is not None and not confirm,
        },
    )
    if live is not None and not confirm:
        end_grant(
            live,
            actor=actor,
            actor_label=None,
            reason=f"Break glass revoked by {actor} in its after-the-fact review",
            action="grant.break_glass_revoked",
            now=now,
        )
    return access_request


def set_eligibility(*, entitlement_id: int, actor: User, person_ids: list[int], departments: list[str]) -> Entitlement:
    """Who may break glass for an entitlement: people by id, departments by name. Replaces the lists whole.

    Governance admins only, never auditors; people must be able to sign in and not be auditors.
    Audited as `catalog.break_glass_changed` (before and after) when anything changed.
    """
    if actor is None or not is_governance_admin(actor) or is_auditor(actor):
        raise NotAllowed("Only governance admins choose who may break glass.")
    person_ids = sorted(set(person_ids))
    departments = sorted({_department(name) for name in departments if (name or "").strip()})
    if len(person_ids) > MAX_PEOPLE:
        raise InvalidInput(f"Name at most {MAX_PEOPLE} people; allow a department instead.", field="people")
    if len(departments) > MAX_DEPARTMENTS:
        raise InvalidInput(f"Allow at most {MAX_DEPARTMENTS} departments.", field="departments")
    return _set_eligibility(entitlement_id, actor, person_ids, departments)


def _department(name) -> str:
    name = str(name).strip()
    if len(name) > MAX_DEPARTMENT or "\x00" in name:
        raise InvalidInput(f"A department name is at most {MAX_DEPARTMENT} characters.", field="departments")
    return name


@atomic_change
def _set_eligibility(entitlement_id: int, actor, person_ids: list[int], departments: list[str]) -> Entitlement:
    entitlement = Entitlement.objects.select_for_update(no_key=True, of=("self",)).filter(pk=entitlement_id).first()
    if entitlement is None:
        raise NotFound("That entitlement does not exist.")
    people = list(get_user_model().objects.filter(pk__in=person_ids))
    if len(people) != len(person_ids):
        raise InvalidInput("One of the people chosen does not exist.", field="people")
    refused = [str(person) for person in people if not person.is_active or person.is_leaver or person.is_auditor]
    if refused:
        raise InvalidInput(
            f"{', '.join(refused)} cannot break glass (left, disabled, or an auditor): choose others.", field="people"
        )
    rows = BreakGlassEligibility.objects.filter(entitlement=entitlement)
    before = _snapshot(rows)
    after = {"people": person_ids, "departments": departments}
    if before == after:
        return entitlement
    rows.delete()
    BreakGlassEligibility.objects.bulk_create(
        [BreakGlassEligibility(entitlement=entitlement, person_id=pk) for pk in person_ids]
        + [BreakGlassEligibility(entitlement=entitlement, department=name) for name in departments]
    )
    record(actor=actor, action=CHANGED_ACTION, obj=entitlement, before=before, after=after)
    return entitlement


def _snapshot(rows) -> dict:
    found = list(rows.values_list("person_id", "department"))
    return {
        "people": sorted(pk for pk, _ in found if pk is not None),
        "departments": sorted(name for _, name in found if name),
    }
