"""Submitting a request: what is accepted, what is refused, and that a refusal changes nothing."""

import pytest

from access import services
from access.models import AccessRequest, Approval, Grant
from audit.models import AuditEvent
from inputs.refusals import Duplicate, InvalidInput, NotAllowed

GOOD_REASON = "Deploying the billing service for the Q4 release"


def test_employee_request_goes_to_their_manager(cast, sandbox):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=f"  {GOOD_REASON}  "
    )

    assert access_request.state == AccessRequest.State.PENDING
    assert access_request.beneficiary == cast.alice
    assert access_request.justification == GOOD_REASON
    stage = access_request.approvals.get()
    assert (stage.step, stage.state) == (1, Approval.State.PENDING)
    vote = stage.assignments.get()
    assert (vote.approver, vote.reason) == (cast.bob, "Manager of Alice Engineer")
    event = AuditEvent.objects.get(action="request.submitted")
    assert event.actor == cast.alice
    assert event.object_id == str(access_request.pk)
    assert event.after["policy"] == "Built-in default for low risk"


def test_person_without_manager_is_routed_to_governance_admins(cast, sandbox):
    access_request = services.submit_request(
        requester=cast.carol, entitlement=sandbox.developers, justification=GOOD_REASON
    )

    vote = access_request.approvals.get().assignments.get()
    assert vote.approver is None
    assert vote.reason == "Governance admins: Carol Owner has no manager who may decide"


@pytest.mark.parametrize("justification", ["", "   ", "too short"])
def test_blank_or_short_justification_is_refused(cast, sandbox, justification):
    with pytest.raises(InvalidInput) as refused:
        services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=justification)

    assert refused.value.field == "justification"
    assert "Explain why you need this access" in refused.value.message
    assert not AccessRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_non_requestable_entitlement_is_refused(cast, sandbox):
    with pytest.raises(InvalidInput, match="Break-glass admins cannot be requested"):
        services.submit_request(requester=cast.alice, entitlement=sandbox.breakglass, justification=GOOD_REASON)

    assert not AccessRequest.objects.exists()


def test_second_pending_request_for_same_entitlement_is_refused(cast, sandbox):
    services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)

    with pytest.raises(Duplicate, match="already have a pending request for Developers"):
        services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)

    assert AccessRequest.objects.count() == 1
    assert AuditEvent.objects.filter(action="request.submitted").count() == 1


def test_request_for_access_already_held_says_so(cast, sandbox):
    first = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)
    services.approve(request_id=first.pk, actor=cast.bob)

    with pytest.raises(Duplicate, match="You already have Developers"):
        services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)

    assert Grant.objects.count() == 1


def test_leaver_cannot_request(cast, sandbox):
    cast.alice.employment_status = cast.alice.EmploymentStatus.LEAVER
    cast.alice.save()

    with pytest.raises(NotAllowed, match="Leavers cannot request access"):
        services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)
