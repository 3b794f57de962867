"""Deciding requests through the API: only the assigned approver, never one's own, never twice."""

import pytest

from access import services
from access.models import AccessRequest, Grant
from catalog.models import Entitlement
from tests.api.conftest import GOOD_REASON


def approve(client, request_id, **body):
    return client.post(f"/api/requests/{request_id}/approve/", body, format="json")


def deny(client, request_id, **body):
    return client.post(f"/api/requests/{request_id}/deny/", body, format="json")


def test_manager_approves(cast, api_for, alices_request):
    response = approve(api_for(cast.bob), alices_request.pk, comment="ok for Q4")

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "approved"
    (vote,) = body["stages"][0]["assignments"]
    assert (vote["decision"], vote["comment"], vote["decided_by"]["id"]) == ("approved", "ok for Q4", cast.bob.pk)
    assert vote["decided_at"] is not None
    assert Grant.objects.filter(user=cast.alice, desired=Grant.Desired.PRESENT).exists()


def test_manager_denies(cast, api_for, alices_request):
    response = deny(api_for(cast.bob), alices_request.pk, comment="use ReadOnly instead")

    assert response.status_code == 200
    assert response.json()["state"] == "denied"
    assert response.json()["stages"][0]["assignments"][0]["comment"] == "use ReadOnly instead"
    assert not Grant.objects.exists()


def test_comment_is_optional(cast, api_for, alices_request):
    assert approve(api_for(cast.bob), alices_request.pk).status_code == 200


def test_overlong_comment_is_refused_on_its_field(cast, api_for, alices_request):
    response = approve(api_for(cast.bob), alices_request.pk, comment="x" * 2001)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["comment"]
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.PENDING


def test_beneficiary_cannot_approve_own_request(cast, api_for, alices_request):
    response = approve(api_for(cast.alice), alices_request.pk)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You cannot decide a request for your own access.",
        "field": None,
        "errors": {},
    }
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.PENDING


@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
@pytest.mark.parametrize("decide", [approve, deny])
def test_someone_who_is_not_the_approver_is_told_it_does_not_exist(cast, api_for, alices_request, who, decide):
    response = decide(api_for(getattr(cast, who)), alices_request.pk)

    assert response.status_code == 404
    assert response.json()["detail"] == "That request does not exist."
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.PENDING


@pytest.mark.parametrize("decide", [approve, deny])
def test_unknown_request_is_not_found(cast, api_for, alices_request, decide):
    response = decide(api_for(cast.bob), alices_request.pk + 1000)

    assert response.status_code == 404
    assert response.json()["detail"] == "That request does not exist."


@pytest.mark.parametrize("second", [approve, deny])
def test_deciding_again_after_approval_conflicts(cast, api_for, alices_request, second):
    bob = api_for(cast.bob)
    approve(bob, alices_request.pk)

    response = second(bob, alices_request.pk)

    assert response.status_code == 409
    assert "already approved; your decision was not recorded" in response.json()["detail"]


def test_approving_a_denied_request_conflicts(cast, api_for, alices_request):
    bob = api_for(cast.bob)
    deny(bob, alices_request.pk)

    assert approve(bob, alices_request.pk).status_code == 409


@pytest.mark.parametrize("action", ["approve", "deny", "cancel"])
def test_decisions_refuse_get(cast, api_for, alices_request, action):
    response = api_for(cast.bob).get(f"/api/requests/{alices_request.pk}/{action}/")

    assert response.status_code == 405
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.PENDING


# --- two stages: the manager, then the owner ----------------------------------------------


@pytest.fixture
def two_stage_request(cast, sandbox):
    sandbox.developers.risk = Entitlement.Risk.MEDIUM
    sandbox.developers.save()
    return services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)


def test_owner_cannot_decide_before_the_manager(cast, api_for, two_stage_request):
    response = approve(api_for(cast.carol), two_stage_request.pk)

    assert response.status_code == 409
    assert response.json()["detail"].startswith("An earlier approval stage is not decided yet")


def test_owner_decides_once_the_manager_approved(cast, api_for, two_stage_request):
    after_manager = approve(api_for(cast.bob), two_stage_request.pk).json()
    assert after_manager["state"] == "pending"
    assert [stage["state"] for stage in after_manager["stages"]] == ["approved", "pending"]

    response = approve(api_for(cast.carol), two_stage_request.pk)

    assert response.status_code == 200
    assert response.json()["state"] == "approved"


# --- the approval inbox ---------------------------------------------------------------------


def inbox(client) -> list[dict]:
    response = client.get("/api/approvals/")
    assert response.status_code == 200
    return response.json()["results"]


def test_inbox_shows_the_steps_waiting_for_me(cast, api_for, alices_request):
    (step,) = inbox(api_for(cast.bob))

    assert (step["step"], step["label"], step["reasons"]) == (1, "Manager", ["Manager of Alice Engineer"])
    assert step["request"]["id"] == alices_request.pk
    assert step["request"]["beneficiary"]["name"] == "Alice Engineer"


@pytest.mark.parametrize("who", ["alice", "carol", "dave", "erin"])
def test_inbox_of_others_is_empty(cast, api_for, alices_request, who):
    assert inbox(api_for(getattr(cast, who))) == []


def test_inbox_moves_to_the_next_stage(cast, api_for, two_stage_request):
    approve(api_for(cast.bob), two_stage_request.pk)

    assert inbox(api_for(cast.bob)) == []
    assert [step["label"] for step in inbox(api_for(cast.carol))] == ["Entitlement owner"]


def test_governance_admins_decide_what_nobody_else_may(cast, sandbox, api_for):
    """Bob has no manager, so his own request falls to the governance admins."""
    bobs = services.submit_request(requester=cast.bob, entitlement=sandbox.developers, justification=GOOD_REASON)

    (step,) = inbox(api_for(cast.erin))
    response = approve(api_for(cast.erin), bobs.pk)

    assert step["request"]["id"] == bobs.pk
    assert response.status_code == 200
    (vote,) = response.json()["stages"][0]["assignments"]
    assert (vote["approver"], vote["approver_name"], vote["decided_by"]["id"]) == (
        None,
        "Governance admins",
        cast.erin.pk,
    )


# --- bulk decisions -------------------------------------------------------------------------


def bulk(client, **body):
    return client.post("/api/approvals/bulk/", body, format="json")


def test_bulk_decides_each_request_on_its_own(cast, sandbox, api_for, alices_request):
    bobs_own = services.submit_request(requester=cast.bob, entitlement=sandbox.developers, justification=GOOD_REASON)

    response = bulk(
        api_for(cast.bob),
        request_ids=[alices_request.pk, bobs_own.pk, 999999],
        decision="approve",
        comment="quarterly batch",
    )

    assert response.status_code == 200
    assert response.json() == [
        {"request_id": alices_request.pk, "ok": True, "message": "Developers for Alice Engineer"},
        {"request_id": bobs_own.pk, "ok": False, "message": "You cannot decide a request for your own access."},
        {"request_id": 999999, "ok": False, "message": "That request does not exist."},
    ]
    alices_request.refresh_from_db()
    bobs_own.refresh_from_db()
    assert (alices_request.state, bobs_own.state) == (AccessRequest.State.APPROVED, AccessRequest.State.PENDING)


def test_bulk_deny(cast, api_for, alices_request):
    response = bulk(api_for(cast.bob), request_ids=[alices_request.pk], decision="deny")

    assert response.json()[0]["ok"] is True
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.DENIED


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"request_ids": [1], "decision": "maybe"}, ["decision"]),
        ({"request_ids": [], "decision": "approve"}, ["request_ids"]),
        ({"request_ids": ["one"], "decision": "approve"}, ["request_ids.0"]),
        ({"request_ids": list(range(1, 102)), "decision": "approve"}, ["request_ids"]),
        ({}, ["request_ids", "decision"]),
    ],
)
def test_malformed_bulk_decision_is_refused(cast, api_for, alices_request, body, fields):
    response = bulk(api_for(cast.bob), **body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == fields
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.PENDING
