"""Telling people about changes the access app announces: one function per task it sends.

Tasks run after the change has committed, so each function reads the current state first
and does nothing if the record moved on (a stage decided before its "approval needed" task
ran is not announced). Each is safe to run twice: the unique constraints on Notification
drop the duplicates a retry would create.
"""

from django.urls import reverse
from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from notifications import wording
from notifications.models import Notification
from notifications.services.delivery import send_emails_to
from notifications.services.recipients import active, create, governance_admins

Kind = Notification.Kind
Vote = ApprovalAssignment.Decision
DECISION_KIND: dict[str, str] = {
    AccessRequest.State.APPROVED: Kind.REQUEST_APPROVED,
    AccessRequest.State.DENIED: Kind.REQUEST_DENIED,
    AccessRequest.State.EXPIRED: Kind.REQUEST_EXPIRED,
}


def notify_approval_needed(approval_id: int) -> list[int]:
    """Tell each undecided assignee of an active stage that it waits for them, once per stage.

    An assignment without an approver tells every governance admin except the requester and
    the beneficiary. Escalation re-sends this for the same stage: only people not yet told
    about the stage are told. Returns the ids of the people told now.
    """
    stage = (
        Approval.objects.select_related("request__requester", "request__beneficiary", "request__entitlement__account")
        .filter(pk=approval_id)
        .first()
    )
    if stage is None or stage.state != Approval.State.PENDING or stage.request.state != AccessRequest.State.PENDING:
        return []  # decided or closed before this task ran
    access_request = stage.request
    reasons: dict[int, str] = {}
    named: dict[int, str] = {}
    for assignment in stage.assignments.filter(decision=Vote.PENDING):
        if assignment.approver_id is None:
            for admin_id in governance_admins({access_request.requester_id, access_request.beneficiary_id}):
                reasons.setdefault(admin_id, assignment.reason)
        else:
            named[assignment.approver_id] = assignment.reason
    # A person assigned by name reads why they were named, not the admins' shared reason.
    reasons.update({pk: named[pk] for pk in active(named)})
    told = set(
        Notification.objects.filter(kind=Kind.APPROVAL_NEEDED, about_stage=stage.pk).values_list(
            "recipient_id", flat=True
        )
    )
    texts = {pk: wording.approval_needed(stage, reason) for pk, reason in reasons.items() if pk not in told}
    return create(
        Kind.APPROVAL_NEEDED, reverse("access:inbox"), texts, about_stage=stage.pk, about_request=access_request.pk
    )


def notify_break_glass_review(approval_id: int) -> list[int]:
    """Tell the people asked to review a break glass, at once: in the portal and by email straight away,
    not at the next email pass. Escalation sends this again for the same review: only people not told yet
    are told. Returns the ids of the people told now."""
    stage = (
        Approval.objects.select_related("request__requester", "request__beneficiary", "request__entitlement__account")
        .filter(pk=approval_id, kind=Approval.Kind.REVIEW)
        .first()
    )
    if stage is None or stage.state != Approval.State.PENDING:
        return []  # decided before this task ran
    access_request = stage.request
    own = {access_request.requester_id, access_request.beneficiary_id}
    reasons: dict[int, str] = {}
    named: dict[int, str] = {}
    for assignment in stage.assignments.filter(decision=Vote.PENDING):
        if assignment.approver_id is None:
            for admin_id in governance_admins(own):
                reasons.setdefault(admin_id, assignment.reason)
        elif assignment.approver_id not in own:
            named[assignment.approver_id] = assignment.reason
    reasons.update({pk: named[pk] for pk in active(named)})
    told = set(
        Notification.objects.filter(kind=Kind.BREAK_GLASS_REVIEW, about_stage=stage.pk).values_list(
            "recipient_id", flat=True
        )
    )
    texts = {pk: wording.break_glass_review(stage, reason) for pk, reason in reasons.items() if pk not in told}
    people = create(
        Kind.BREAK_GLASS_REVIEW, reverse("access:inbox"), texts, about_stage=stage.pk, about_request=access_request.pk
    )
    send_emails_to(people)
    return people


def notify_request_decided(request_id: int) -> list[int]:
    """Tell the requester, and the beneficiary if someone else, how their request ended.

    Approvals name every approver and their comment; a denial names who denied it and why;
    an expiry says nobody decided in time. Cancelled requests are not announced: the person
    who would be told is the one who cancelled.
    """
    access_request = (
        AccessRequest.objects.select_related("requester", "beneficiary", "entitlement__account")
        .filter(pk=request_id)
        .first()
    )
    if access_request is None or (kind := DECISION_KIND.get(access_request.state)) is None:
        return []
    votes = list(
        ApprovalAssignment.objects.filter(approval__request=access_request)
        .select_related("decided_by")
        .order_by("approval__step", "decided_at", "pk")
    )
    if kind == Kind.REQUEST_APPROVED:
        text = wording.request_approved(access_request, [vote for vote in votes if vote.decision == Vote.APPROVED])
    elif kind == Kind.REQUEST_DENIED:
        text = wording.request_denied(access_request, next((v for v in votes if v.decision == Vote.DENIED), None))
    else:
        text = wording.request_expired(access_request)
    told = set(
        Notification.objects.filter(kind__in=Notification.DECISION_KINDS, about_request=access_request.pk).values_list(
            "recipient_id", flat=True
        )
    )
    people = [pk for pk in active({access_request.requester_id, access_request.beneficiary_id}) if pk not in told]
    return create(kind, reverse("access:my_requests"), dict.fromkeys(people, text), about_request=access_request.pk)


def notify_grant_synced(grant_id: int) -> list[int]:
    """After a sync: tell the holder their access is live, or that it failed and admins were told (and tell them).

    A grant whose sync state moved on again before this ran (re-queued, still syncing) is not announced.
    """
    grant = Grant.objects.select_related("user", "entitlement__account").filter(pk=grant_id).first()
    if grant is None:
        return []
    holder = active([grant.user_id])
    about = {"about_grant": grant.pk, "about_request": grant.request_id}
    if grant.sync_state == Grant.SyncState.APPLIED and grant.desired == Grant.Desired.PRESENT:
        texts = dict.fromkeys(holder, wording.access_live(grant))
        return create(Kind.ACCESS_LIVE, reverse("access:my_access"), texts, **about)
    if grant.sync_state != Grant.SyncState.FAILED:
        return []
    told = []
    if grant.desired == Grant.Desired.PRESENT:
        texts = dict.fromkeys(holder, wording.sync_failed_for_holder(grant))
        told += create(Kind.SYNC_FAILED, reverse("access:my_access"), texts, **about)
    admin_texts = dict.fromkeys(governance_admins(excluding=()), wording.sync_failed_for_admins(grant))
    told += create(Kind.SYNC_FAILED, reverse("admin:access_grant_change", args=[grant.pk]), admin_texts, **about)
    return told


def notify_access_ending(grant_id: int, days: int) -> list[int]:
    """Remind the holder their time-bound access ends in `days` days, pointing to My access to extend it."""
    grant = Grant.objects.select_related("user", "entitlement__account").filter(pk=grant_id).first()
    if grant is None or grant.desired != Grant.Desired.PRESENT or grant.expires_at is None:
        return []  # ended or made permanent before this ran
    now = timezone.now()
    if grant.expires_at <= now:
        return []
    texts = dict.fromkeys(active([grant.user_id]), wording.access_ending(grant, days, now))
    return create(Kind.ACCESS_ENDING, reverse("access:my_access"), texts, about_grant=grant.pk)
