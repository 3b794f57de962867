"""Break glass: Alice, on call, may take Production admin at once; her approvers review it afterwards.

Production admin is a high-risk role counted in hours (1 to 8), owned by Carol, that nobody may request.
Erin (a governance admin) allows Alice by name, and the Platform department. A request for it would go
to Bob (Alice's manager), then Carol (its owner): they are told at once and review it within 24 hours.
Grace manages Bob, so an undecided review escalates to her. Dave manages another team and may not.
"""

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from access.services import break_glass as glass
from access.services.escalation import escalate_overdue_approvals
from access.services.sync_batches import claim_grants_for_sync
from audit.models import AuditEvent
from inputs.refusals import Duplicate, InvalidInput, NotAllowed, NotFound, SodBlocked, StaleState
from notifications import services as notifications
from notifications.models import Notification
from sod.models import SodRule
from tests.conftest import tasks_queued

REASON = "Payments API is down (P1); restarting the stuck ECS tasks by hand"
TICKET = "INC0012345"


@pytest.fixture
def production(cast, production_admin):
    glass.set_eligibility(
        entitlement_id=production_admin.pk, actor=cast.erin, person_ids=[cast.alice.pk], departments=["Platform"]
    )
    return production_admin


@pytest.fixture
def grace(cast, django_user_model):
    """Bob's manager: the next in the chain when a review of Bob's is not decided in time."""
    grace = django_user_model.objects.create_user(email="grace@example.com", password=None, full_name="Grace Director")
    cast.bob.manager = grace
    cast.bob.save(update_fields=["manager"])
    return grace


@pytest.fixture
def alice_on_call(cast):
    """Alice with an authenticator app, as breaking glass asks for a fresh code."""
    TOTP.activate(cast.alice, generate_totp_secret())
    return cast.alice


def breaks_glass(person, entitlement, **changes):
    values = {"reason": REASON, "ticket": TICKET, "duration_hours": 2, "recent_mfa": True}
    return glass.break_glass(requester=person, entitlement_id=entitlement.pk, **(values | changes))


def review_of(access_request) -> Approval:
    return Approval.objects.get(request=access_request, kind=Approval.Kind.REVIEW)


def counts():
    return AccessRequest.objects.count(), Grant.objects.count(), AuditEvent.objects.count()


# --- who may -------------------------------------------------------------------------------------


def test_alice_gets_access_at_once_and_the_approvers_are_told_in_the_portal_and_by_email(cast, production):
    with tasks_queued() as queued:
        broken = breaks_glass(cast.alice, production)

    assert broken.state == AccessRequest.State.APPROVED and broken.break_glass and broken.ticket == TICKET
    grant = Grant.objects.get(user=cast.alice, entitlement=production)
    assert (grant.desired, grant.sync_state, grant.duration_hours) == ("present", "pending", 2)
    pre_approval = broken.approvals.get(step=1)
    assert pre_approval.label == glass.PRE_APPROVED_LABEL and pre_approval.state == Approval.State.APPROVED
    review = review_of(broken)
    assert review.state == Approval.State.PENDING
    assert review.due_at == review.activated_at + timedelta(hours=24)
    assert set(review.assignments.values_list("approver", flat=True)) == {cast.bob.pk, cast.carol.pk}
    names = [name for name, _ in queued]
    assert "iam.sync_grant" in names  # queued for sync through the outbox like any approved grant
    assert ("notifications.break_glass_review", [review.pk]) in queued
    event = AuditEvent.objects.get(action="request.break_glass")
    assert event.actor_id == cast.alice.pk
    assert (event.after["justification"], event.after["ticket"], event.after["allowed_as"]) == (REASON, TICKET, "named")
    approved = AuditEvent.objects.get(action="request.approved", object_id=str(broken.pk))
    assert approved.actor_label == glass.SYSTEM_ACTOR

    told = notifications.notify_break_glass_review(review.pk)

    assert sorted(told) == sorted([cast.bob.pk, cast.carol.pk])
    notice = Notification.objects.get(recipient=cast.bob, kind=Notification.Kind.BREAK_GLASS_REVIEW)
    assert TICKET in notice.title and "Production admin" in notice.title and notice.emailed_at is not None
    assert sorted(message.to[0].split("<")[1].rstrip(">") for message in mail.outbox) == [
        "bob@example.com",
        "carol@example.com",
    ]
    assert notifications.notify_break_glass_review(review.pk) == []  # a retried task tells nobody twice


def test_a_department_allowed_breaks_glass_too(cast, production):
    broken = breaks_glass(cast.carol, production)

    event = AuditEvent.objects.get(action="request.break_glass", object_id=str(broken.pk))
    assert event.after["allowed_as"] == "department Platform"
    # Carol owns it, so she is no reviewer of her own: her manager chain has nobody, the owners' stage nobody else.
    reviewers = set(review_of(broken).assignments.values_list("approver", flat=True))
    assert cast.carol.pk not in reviewers and reviewers


@pytest.mark.parametrize("who", ["dave", "bob", "frank", "erin"])
def test_people_not_allowed_are_refused_and_nothing_changes(cast, production, who):
    before = counts()

    with pytest.raises(NotAllowed):
        breaks_glass(getattr(cast, who), production)

    assert counts() == before


def test_a_person_not_allowed_is_refused_before_their_input_is_judged(cast, production):
    with pytest.raises(NotAllowed):
        breaks_glass(cast.dave, production, reason="", ticket="")


def test_an_auditor_cannot_be_allowed(cast, production):
    with pytest.raises(InvalidInput, match="auditor"):
        glass.set_eligibility(entitlement_id=production.pk, actor=cast.erin, person_ids=[cast.frank.pk], departments=[])
    with pytest.raises(NotAllowed):
        glass.set_eligibility(entitlement_id=production.pk, actor=cast.frank, person_ids=[], departments=[])


def test_without_a_fresh_second_factor_nothing_is_granted(cast, production):
    before = counts()
    with pytest.raises(NotAllowed, match="authenticator"):
        breaks_glass(cast.alice, production, recent_mfa=False)
    assert counts() == before


# --- what must be sent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   it broke   "}, "reason"),
        ({"reason": "x" * (glass.MAX_REASON + 1)}, "reason"),
        ({"reason": REASON + "\x00"}, "reason"),
        ({"ticket": ""}, "ticket"),
        ({"ticket": "see slack"}, "ticket"),
        ({"ticket": "INC-" + "9" * 40}, "ticket"),
        ({"ticket": "123456"}, "ticket"),
        ({"duration_hours": None}, "duration_hours"),
        ({"duration_hours": 9}, "duration_hours"),
        ({"duration_hours": None, "duration_days": 1}, "duration_days"),
    ],
)
def test_a_missing_or_malformed_reason_ticket_or_duration_is_refused_and_nothing_changes(
    cast, production, changes, field
):
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        breaks_glass(cast.alice, production, **changes)

    assert refused.value.field == field and refused.value.status == 400
    assert counts() == before


def test_tickets_are_kept_in_capitals(cast, production):
    assert breaks_glass(cast.alice, production, ticket=" ops-123 ").ticket == "OPS-123"


def test_access_already_held_is_refused(cast, production):
    breaks_glass(cast.alice, production)
    with pytest.raises(Duplicate):
        breaks_glass(cast.alice, production)


def test_a_pending_request_for_it_is_superseded(cast, sandbox):
    glass.set_eligibility(
        entitlement_id=sandbox.developers.pk, actor=cast.erin, person_ids=[cast.alice.pk], departments=[]
    )
    asked = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)

    broken = breaks_glass(cast.alice, sandbox.developers, duration_hours=None, duration_days=1)

    asked.refresh_from_db()
    assert asked.state == AccessRequest.State.CANCELLED and broken.state == AccessRequest.State.APPROVED
    cancelled = AuditEvent.objects.get(action="request.cancelled", object_id=str(asked.pk))
    assert cancelled.after["superseded_by"] == broken.pk


# --- separation of duties is not bypassed --------------------------------------------------------


def test_a_toxic_combination_is_refused_and_nothing_changes(cast, sandbox, production):
    Grant.objects.create(
        user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN, granted_at=timezone.now()
    )
    rule = SodRule.objects.create(name="Develop and run production", why="no unreviewed changes", owner=cast.dave)
    rule.set_a.set([sandbox.developers])
    rule.set_b.set([production])
    before = counts()

    with pytest.raises(SodBlocked, match="Develop and run production"):
        breaks_glass(cast.alice, production)

    assert counts() == before


def test_a_combination_that_needs_an_exception_is_refused_too(cast, sandbox, production):
    Grant.objects.create(
        user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN, granted_at=timezone.now()
    )
    rule = SodRule.objects.create(
        name="Develop and run production", why="no unreviewed changes", owner=cast.dave, enforcement="exception"
    )
    rule.set_a.set([sandbox.developers])
    rule.set_b.set([production])

    with pytest.raises(SodBlocked, match="cannot grant an exception"):
        breaks_glass(cast.alice, production)


# --- the after-the-fact review -------------------------------------------------------------------


def test_an_undecided_review_escalates_after_24_hours_like_an_approval(cast, production, grace, settings):
    broken = breaks_glass(cast.alice, production)
    review = review_of(broken)
    notifications.notify_break_glass_review(review.pk)

    assert escalate_overdue_approvals(now=review.due_at - timedelta(minutes=1)) == 0
    with tasks_queued() as queued:
        assert escalate_overdue_approvals(now=review.due_at + timedelta(seconds=1)) == 1

    added = review.assignments.get(approver=grace)
    assert added.reason == "Escalated: break glass not reviewed within 24 hours (manager of Bob Manager)"
    assert queued == [("notifications.break_glass_review", [review.pk])]
    assert notifications.notify_break_glass_review(review.pk) == [grace.pk]  # only the newly asked
    # Then every escalation interval after the due time, as approvals escalate.
    interval = timedelta(hours=settings.APPROVAL_ESCALATE_AFTER_HOURS)
    assert escalate_overdue_approvals(now=review.due_at + interval - timedelta(minutes=1)) == 0
    assert escalate_overdue_approvals(now=review.due_at + interval + timedelta(seconds=1)) == 1
    review.refresh_from_db()
    assert review.escalations == 2
    assert AuditEvent.objects.filter(action="approval.escalated", after__request=broken.pk).count() == 2


def test_a_decided_review_does_not_escalate(cast, production):
    broken = breaks_glass(cast.alice, production)
    glass.decide_review(request_id=broken.pk, actor=cast.bob, confirm=True)

    assert escalate_overdue_approvals(now=timezone.now() + timedelta(days=3)) == 0


def test_confirming_keeps_the_access_and_a_second_decision_is_refused(cast, production):
    broken = breaks_glass(cast.alice, production)

    glass.decide_review(request_id=broken.pk, actor=cast.bob, confirm=True, comment="Seen the incident")

    review = review_of(broken)
    assert review.state == Approval.State.APPROVED
    assert set(review.assignments.values_list("decision", flat=True)) == {"approved", "void"}
    assert Grant.objects.get(user=cast.alice, entitlement=production).desired == Grant.Desired.PRESENT
    with pytest.raises(StaleState, match="already confirmed by Bob Manager"):
        glass.decide_review(request_id=broken.pk, actor=cast.carol, confirm=False)


def test_revoking_ends_the_grant_now_and_it_is_read_back_through_the_normal_path(cast, production):
    broken = breaks_glass(cast.alice, production)
    grant = Grant.objects.get(user=cast.alice, entitlement=production)
    Grant.objects.filter(pk=grant.pk).update(sync_state=Grant.SyncState.APPLIED, activated_at=timezone.now())

    with tasks_queued() as queued:
        glass.decide_review(request_id=broken.pk, actor=cast.carol, confirm=False, comment="Not a P1")

    grant.refresh_from_db()
    assert (grant.desired, grant.sync_state) == ("absent", "pending")
    assert "revoked by Carol Owner" in grant.end_reason
    assert "iam.sync_grant" in [name for name, _ in queued]
    assert AuditEvent.objects.filter(action="grant.break_glass_revoked", object_id=str(grant.pk)).exists()
    # The sync engine removes it and reads it back, as for any ended grant.
    [work] = claim_grants_for_sync(grant.pk, batch=1)
    assert work.desired == Grant.Desired.ABSENT
    services.record_sync_success(work, evidence="ListAttachedRolePolicies: no portal-assume-ProductionAdmin")
    grant.refresh_from_db()
    assert grant.sync_state == Grant.SyncState.REVOKED


def test_revoking_after_the_grant_ended_records_the_decision_and_ends_nothing_twice(cast, production):
    broken = breaks_glass(cast.alice, production)
    grant = Grant.objects.get(user=cast.alice, entitlement=production)
    services.give_back(grant_id=grant.pk, actor=cast.alice)

    glass.decide_review(request_id=broken.pk, actor=cast.bob, confirm=False)

    assert review_of(broken).state == Approval.State.DENIED
    assert not AuditEvent.objects.filter(action="grant.break_glass_revoked").exists()
    revoked = AuditEvent.objects.get(action="breakglass.revoked")
    assert revoked.after["grant_ended_now"] is False


def test_nobody_reviews_their_own_break_glass(cast, production):
    glass.set_eligibility(
        entitlement_id=production.pk, actor=cast.erin, person_ids=[cast.bob.pk, cast.erin.pk], departments=[]
    )
    bobs = breaks_glass(cast.bob, production)
    erins = breaks_glass(cast.erin, production)

    assert cast.bob.pk not in review_of(bobs).assignments.values_list("approver", flat=True)
    with pytest.raises(NotAllowed, match="your own"):
        glass.decide_review(request_id=bobs.pk, actor=cast.bob, confirm=True)
    # Erin has no manager: governance admins review hers, and she is not one of them for it.
    assert review_of(erins).assignments.filter(approver__isnull=True).exists()
    with pytest.raises(NotAllowed, match="your own"):
        glass.decide_review(request_id=erins.pk, actor=cast.erin, confirm=True)
    assert cast.erin.pk not in notifications.notify_break_glass_review(review_of(erins).pk)


def test_people_not_asked_cannot_see_the_review_and_auditors_decide_none(cast, production):
    broken = breaks_glass(cast.alice, production)
    with pytest.raises(NotFound):
        glass.decide_review(request_id=broken.pk, actor=cast.dave, confirm=False)
    ApprovalAssignment.objects.create(approval=review_of(broken), approver=cast.frank, reason="asked before")
    with pytest.raises(NotAllowed, match="Auditors"):
        glass.decide_review(request_id=broken.pk, actor=cast.frank, confirm=False)


def test_an_ordinary_request_has_no_break_glass_review(cast, sandbox):
    ordinary = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    with pytest.raises(NotFound):
        glass.decide_review(request_id=ordinary.pk, actor=cast.bob, confirm=True)


# --- pages ---------------------------------------------------------------------------------------


def test_the_break_glass_action_shows_only_to_people_allowed(cast, production, client_for):
    page = reverse("access:entitlement", args=[production.pk])
    assert b'data-testid="break-glass"' in client_for(cast.alice).get(page).content
    assert b'data-testid="break-glass"' not in client_for(cast.dave).get(page).content


def test_alice_breaks_glass_on_the_page_and_sees_it_on_her_timeline(alice_on_call, production, client_for):
    client = client_for(alice_on_call)
    url = reverse("access:break_glass", args=[production.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert b'<label class="form-label" for="id_ticket">Ticket reference</label>' in form.content

    answer = client.post(url, {"reason": REASON, "ticket": TICKET, "duration_hours": "2"})

    assert answer.status_code == 302 and answer.url == reverse("access:my_requests")
    timeline = client.get(answer.url).content.decode()
    assert "Break glass by Alice Engineer: granted at once, pre-approved" in timeline
    assert f"Ticket {TICKET}: {REASON}" in timeline
    assert "Waiting for the after-the-fact review, due" in timeline


def test_the_page_refuses_people_not_allowed_with_403(cast, production, client_for):
    client = client_for(cast.dave)
    url = reverse("access:break_glass", args=[production.pk])
    before = counts()

    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": REASON, "ticket": TICKET, "duration_hours": "2"}).status_code == 403
    assert counts() == before


@pytest.mark.parametrize(
    ("sent", "words"),
    [
        ({"ticket": TICKET, "duration_hours": "2"}, "Say why you are breaking glass"),
        ({"reason": REASON, "duration_hours": "2"}, "Give the incident or change ticket"),
        ({"reason": REASON, "ticket": "whatever", "duration_hours": "2"}, "such as INC0012345 or OPS-123"),
        ({"reason": "short", "ticket": TICKET, "duration_hours": "2"}, "at least 20 characters"),
        ({"reason": REASON, "ticket": TICKET, "duration_hours": "12"}, "Select a valid choice"),
    ],
)
def test_the_page_says_what_is_missing_in_words_with_400(alice_on_call, production, client_for, sent, words):
    before = counts()

    answer = client_for(alice_on_call).post(reverse("access:break_glass", args=[production.pk]), sent)

    assert answer.status_code == 400 and words in answer.content.decode()
    assert counts() == before


@pytest.mark.parametrize(
    "body",
    [
        b"reason=Payments+API+is+down%00+really&ticket=INC0012345&duration_hours=2",
        b"reason=Payments+API+is+down+\xff\xfe&ticket=INC0012345&duration_hours=2",
        b"reason=" + b"x" * 3000 + b"&ticket=INC0012345&duration_hours=2",
        b"reason=Payments+API+is+down+for+everyone&ticket=" + b"9" * 500 + b"&duration_hours=2",
        b"reason=Payments+API+is+down+for+everyone&ticket=INC1&duration_hours=" + b"9" * 40,
    ],
)
def test_hostile_input_is_refused_with_400_and_changes_nothing(alice_on_call, production, client_for, body):
    before = counts()

    answer = client_for(alice_on_call).post(
        reverse("access:break_glass", args=[production.pk]), body, content_type="application/x-www-form-urlencoded"
    )

    assert answer.status_code == 400
    assert counts() == before


def test_without_a_fresh_code_the_page_asks_for_one_first(alice_on_call, production, client_for, settings):
    settings.STEP_UP_SECONDS = 0
    before = counts()

    answer = client_for(alice_on_call).post(
        reverse("access:break_glass", args=[production.pk]), {"reason": REASON, "ticket": TICKET, "duration_hours": 2}
    )

    assert answer.status_code == 302 and "reauthenticate" in answer.url
    assert counts() == before


def test_the_inbox_shows_the_review_with_its_due_time_and_the_reviewer_decides_there(cast, production, client_for):
    broken = breaks_glass(cast.alice, production)
    client = client_for(cast.bob)

    inbox = client.get(reverse("access:inbox")).content.decode()

    assert "Break glass to review" in inbox and TICKET in inbox and f'data-testid="review-{broken.pk}"' in inbox
    assert review_of(broken).due_at.strftime("%Y-%m-%dT%H:%M") in inbox
    answer = client.post(reverse("access:review_revoke", args=[broken.pk]), {"comment": "Not an incident"})
    assert answer.status_code == 302
    assert Grant.objects.get(user=cast.alice, entitlement=production).desired == Grant.Desired.ABSENT
    again = client_for(cast.carol).post(reverse("access:review_confirm", args=[broken.pk]))
    assert again.status_code == 409 and "already revoked by Bob Manager" in again.content.decode()


def test_the_requester_cannot_review_on_the_page(cast, production, client_for):
    broken = breaks_glass(cast.alice, production)
    assert client_for(cast.alice).post(reverse("access:review_confirm", args=[broken.pk])).status_code == 403
    assert client_for(cast.dave).post(reverse("access:review_confirm", args=[broken.pk])).status_code == 404


def test_erin_chooses_who_may_break_glass_on_the_console(cast, production, client_for):
    url = reverse("access:break_glass_eligibility", args=[production.pk])
    page = client_for(cast.erin).get(reverse("access:entitlement_edit", args=[production.pk])).content.decode()
    assert 'for="id_people">People who may break glass</label>' in page

    answer = client_for(cast.erin).post(url, {"people": [str(cast.dave.pk)], "departments": ["Finance"]})

    assert answer.status_code == 302
    event = AuditEvent.objects.filter(action=glass.CHANGED_ACTION).latest("seq")
    assert event.after == {"people": [cast.dave.pk], "departments": ["Finance"]}
    assert event.before == {"people": [cast.alice.pk], "departments": ["Platform"]}


def test_the_console_refuses_others_and_bad_choices_in_words(cast, production, client_for):
    url = reverse("access:break_glass_eligibility", args=[production.pk])
    before = AuditEvent.objects.count()

    assert client_for(cast.frank).post(url, {"people": [str(cast.dave.pk)]}).status_code == 403
    assert client_for(cast.carol).post(url, {"people": [str(cast.dave.pk)]}).status_code == 403
    refused = client_for(cast.erin).post(url, {"people": [str(cast.frank.pk)]})
    assert refused.status_code == 400 and "auditor" in refused.content.decode()
    unknown = client_for(cast.erin).post(url, {"departments": ["Nowhere"]})
    assert unknown.status_code == 400 and "Select a valid choice" in unknown.content.decode()
    assert AuditEvent.objects.count() == before
