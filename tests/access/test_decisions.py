"""Deciding requests: only an assigned approver, never one's own, never twice; refusals change nothing."""

import pytest
from django.db.models import Model

from access import services
from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from inputs.refusals import NotAllowed, NotFound, StaleState
from tests.conftest import tasks_queued

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def alices_request(cast, sandbox):
    return services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)


@pytest.fixture
def deployers(cast, sandbox):
    """Medium risk: the built-in policy asks the manager, then an owner."""
    entitlement = Entitlement.objects.create(
        account=sandbox.account, aws_name="Deployers", name="Deployers", risk=Entitlement.Risk.MEDIUM
    )
    entitlement.owners.set([cast.carol])
    return entitlement


def snapshot(*objects: Model) -> list:
    """Every column of the rows, plus how many audit events, grants and undecided votes exist."""
    rows = [type(obj).objects.filter(pk=obj.pk).values().get() for obj in objects]
    votes = ApprovalAssignment.objects.filter(decision="pending").count()
    return [rows, AuditEvent.objects.count(), Grant.objects.count(), votes]


def test_manager_approval_records_the_desired_grant(cast, sandbox, alices_request):
    with tasks_queued() as queued:
        services.approve(request_id=alices_request.pk, actor=cast.bob, comment="ok for Q4")

    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.APPROVED
    vote = ApprovalAssignment.objects.get(approval__request=alices_request)
    assert (vote.decision, vote.decided_by, vote.comment) == (
        ApprovalAssignment.Decision.APPROVED,
        cast.bob,
        "ok for Q4",
    )
    grant = Grant.objects.get()
    assert (grant.user, grant.entitlement, grant.source, grant.request) == (
        cast.alice,
        sandbox.developers,
        Grant.Source.REQUEST,
        alices_request,
    )
    assert (grant.desired, grant.sync_state) == (Grant.Desired.PRESENT, Grant.SyncState.PENDING)
    assert sorted(name for name, _ in queued) == [
        "access.sod_recheck_user",
        "iam.sync_grant",
        "notifications.request_decided",
    ], "with the decision: exactly one sync, the requester told, separation of duties re-checked"
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["request.submitted", "approval.approved", "request.approved", "grant.desired_present"]


def test_two_stage_request_waits_for_the_owner_after_the_manager(cast, deployers):
    access_request = services.submit_request(requester=cast.alice, entitlement=deployers, justification=GOOD_REASON)
    first, second = access_request.approvals.order_by("step")
    assert (first.state, second.state) == (Approval.State.PENDING, Approval.State.WAITING)

    with pytest.raises(StaleState, match="earlier approval stage is not decided yet"):
        services.approve(request_id=access_request.pk, actor=cast.carol)
    services.approve(request_id=access_request.pk, actor=cast.bob)

    access_request.refresh_from_db()
    second.refresh_from_db()
    assert access_request.state == AccessRequest.State.PENDING
    assert second.state == Approval.State.PENDING and not Grant.objects.exists()
    services.approve(request_id=access_request.pk, actor=cast.carol)
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.APPROVED
    assert Grant.objects.get().user == cast.alice


def test_manager_cannot_vote_again_on_the_owner_stage(cast, deployers):
    access_request = services.submit_request(requester=cast.alice, entitlement=deployers, justification=GOOD_REASON)
    services.approve(request_id=access_request.pk, actor=cast.bob)

    with pytest.raises(StaleState, match="You already decided this request"):
        services.approve(request_id=access_request.pk, actor=cast.bob)


def test_manager_can_deny_and_the_request_ends(cast, deployers):
    access_request = services.submit_request(requester=cast.alice, entitlement=deployers, justification=GOOD_REASON)

    services.deny(request_id=access_request.pk, actor=cast.bob, comment="use ReadOnly instead")

    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.DENIED
    assert list(access_request.approvals.values_list("state", flat=True)) == ["denied", "closed"]
    assert not ApprovalAssignment.objects.filter(decision="pending").exists()
    assert not Grant.objects.exists()
    assert AuditEvent.objects.last().after == {
        "state": "denied",
        "stage": 1,
        "comment": "use ReadOnly instead",
        "recent_mfa": False,
    }


@pytest.mark.parametrize("decide", [services.approve, services.deny])
def test_deciding_a_request_that_is_not_pending_is_refused(cast, alices_request, decide):
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    before = snapshot(alices_request)

    with pytest.raises(StaleState, match="already approved; your decision was not recorded"):
        decide(request_id=alices_request.pk, actor=cast.bob)

    assert snapshot(alices_request) == before


@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
def test_someone_who_is_not_the_approver_is_refused(cast, alices_request, who):
    """As if the request did not exist: it is not theirs to see (a missing id answers the same)."""
    before = snapshot(alices_request)

    with pytest.raises(NotFound, match="That request does not exist"):
        services.approve(request_id=alices_request.pk, actor=getattr(cast, who))

    assert snapshot(alices_request) == before


def test_beneficiary_cannot_approve_own_request(cast, alices_request):
    before = snapshot(alices_request)

    with pytest.raises(NotAllowed, match="You cannot decide a request for your own access"):
        services.approve(request_id=alices_request.pk, actor=cast.alice)

    assert snapshot(alices_request) == before


def test_admin_cannot_approve_own_request_routed_to_admins(cast, sandbox):
    """Erin has no manager, so her request goes to governance admins, of whom she is one."""
    own = services.submit_request(requester=cast.erin, entitlement=sandbox.developers, justification=GOOD_REASON)
    before = snapshot(own)

    with pytest.raises(NotAllowed, match="your own access"):
        services.approve(request_id=own.pk, actor=cast.erin)

    assert snapshot(own) == before


def test_governance_admin_decides_requests_of_people_without_manager(cast, sandbox):
    carols = services.submit_request(requester=cast.carol, entitlement=sandbox.developers, justification=GOOD_REASON)

    services.approve(request_id=carols.pk, actor=cast.erin)

    vote = ApprovalAssignment.objects.get(approval__request=carols)
    assert (vote.approver, vote.decided_by) == (None, cast.erin)
    assert Grant.objects.get().user == cast.carol


def test_unknown_request_is_not_found(cast, alices_request):
    with pytest.raises(NotFound):
        services.approve(request_id=alices_request.pk + 1000, actor=cast.bob)


def test_bulk_decision_decides_each_and_reports_the_refused(cast, sandbox, deployers):
    first = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)
    second = services.submit_request(requester=cast.alice, entitlement=deployers, justification=GOOD_REASON)
    carols = services.submit_request(requester=cast.carol, entitlement=sandbox.developers, justification=GOOD_REASON)

    outcomes = services.decide_many(request_ids=[first.pk, second.pk, carols.pk], actor=cast.bob, approve_them=True)

    assert [(outcome.request_id, outcome.ok) for outcome in outcomes] == [
        (first.pk, True),
        (second.pk, True),
        (carols.pk, False),
    ]
    assert outcomes[2].message == "That request does not exist."
    assert AccessRequest.objects.get(pk=first.pk).state == AccessRequest.State.APPROVED
    assert AccessRequest.objects.get(pk=second.pk).state == AccessRequest.State.PENDING, "now with the owner"


def test_approving_again_after_revocation_reuses_the_ledger_row(cast, sandbox, alices_request):
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    Grant.objects.update(desired=Grant.Desired.ABSENT, sync_state=Grant.SyncState.REVOKED)
    again = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)

    services.approve(request_id=again.pk, actor=cast.bob)

    grant = Grant.objects.get()
    assert (grant.request, grant.desired, grant.sync_state) == (again, Grant.Desired.PRESENT, Grant.SyncState.PENDING)


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_the_decision_pages_refuse_anyone_but_the_approver(client_for, cast, alices_request, who):
    from django.urls import reverse

    before = snapshot(alices_request)
    client = client_for(getattr(cast, who))

    answers = [
        client.post(reverse("access:approve", args=[alices_request.pk])).status_code,
        client.post(reverse("access:deny", args=[alices_request.pk]), {"comment": "No"}).status_code,
    ]
    client.post(reverse("access:bulk_decide"), {"decision": "deny", "request_ids": [alices_request.pk]})

    # Alice sees her own request and may not decide it (403); to the others it is as if it did not exist.
    assert answers == ([403, 403] if who == "alice" else [404, 404])
    assert snapshot(alices_request) == before
