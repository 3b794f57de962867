"""Deciding requests: only the approver, never one's own, never twice, and every refusal changes nothing."""

import pytest
from django.db.models import Model

from access import services
from access.errors import NotAllowed, NotFound, StaleState
from access.models import AccessRequest, Approval, Grant
from audit.models import AuditEvent

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def alices_request(cast, sandbox):
    return services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)


def snapshot(*objects: Model) -> list:
    """Every column of the rows, plus how many audit events and grants exist."""
    rows = [type(obj).objects.filter(pk=obj.pk).values().get() for obj in objects]
    return [
        rows,
        AuditEvent.objects.count(),
        Grant.objects.count(),
        Approval.objects.filter(decision="pending").count(),
    ]


def test_manager_approval_records_desired_grant(cast, sandbox, alices_request, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.approve(request_id=alices_request.pk, actor=cast.bob, comment="ok for Q4")

    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.APPROVED
    step = alices_request.approvals.get()
    assert (step.decision, step.decided_by, step.comment) == (Approval.Decision.APPROVED, cast.bob, "ok for Q4")
    grant = Grant.objects.get()
    assert (grant.user, grant.entitlement, grant.source, grant.request) == (
        cast.alice,
        sandbox.developers,
        Grant.Source.REQUEST,
        alices_request,
    )
    assert (grant.desired, grant.sync_state) == (Grant.Desired.PRESENT, Grant.SyncState.PENDING)
    assert len(callbacks) == 1, "exactly one sync is queued, after commit"
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["request.submitted", "approval.approved", "request.approved", "grant.desired_present"]


def test_manager_can_deny(cast, alices_request):
    services.deny(request_id=alices_request.pk, actor=cast.bob, comment="use ReadOnly instead")

    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.DENIED
    assert not Grant.objects.exists()
    assert AuditEvent.objects.last().after == {"state": "denied", "comment": "use ReadOnly instead"}


@pytest.mark.parametrize("decide", [services.approve, services.deny])
def test_deciding_a_request_that_is_not_pending_is_refused(cast, alices_request, decide):
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    before = snapshot(alices_request)

    with pytest.raises(StaleState, match="already approved; your decision was not recorded"):
        decide(request_id=alices_request.pk, actor=cast.bob)

    assert snapshot(alices_request) == before


@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
def test_someone_who_is_not_the_approver_is_refused(cast, alices_request, who):
    before = snapshot(alices_request)

    with pytest.raises(NotAllowed, match="You are not an approver of this request"):
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

    assert Grant.objects.get().user == cast.carol


def test_unknown_request_is_not_found(cast, alices_request):
    with pytest.raises(NotFound):
        services.approve(request_id=alices_request.pk + 1000, actor=cast.bob)


def test_approving_again_after_revocation_reuses_the_ledger_row(cast, sandbox, alices_request):
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    Grant.objects.update(desired=Grant.Desired.ABSENT, sync_state=Grant.SyncState.REVOKED)
    again = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)

    services.approve(request_id=again.pk, actor=cast.bob)

    grant = Grant.objects.get()
    assert (grant.request, grant.desired, grant.sync_state) == (again, Grant.Desired.PRESENT, Grant.SyncState.PENDING)
