"""Asking for access through the API: the same rules as the pages, refusals as HTTP statuses."""

import pytest

from access.models import AccessRequest
from audit.models import AuditEvent
from catalog.models import Entitlement
from tests.api.conftest import GOOD_REASON


def ask(client, **body):
    return client.post("/api/requests/", body, format="json")


def test_employee_asks_for_an_entitlement(cast, sandbox, api_for):
    response = ask(api_for(cast.alice), entitlement=sandbox.developers.pk, justification=GOOD_REASON)

    assert response.status_code == 201
    body = response.json()
    created = AccessRequest.objects.get()
    assert body["id"] == created.pk
    assert (body["state"], body["kind"], body["justification"]) == ("pending", "new", GOOD_REASON)
    assert body["beneficiary"]["email"] == body["requester"]["email"] == "alice@example.com"
    (stage,) = body["stages"]
    assert (stage["label"], stage["state"]) == ("Manager", "pending")
    (vote,) = stage["assignments"]
    assert vote["approver_name"] == "Bob Manager"
    assert (vote["reason"], vote["decision"], vote["decided_at"]) == ("Manager of Alice Engineer", "pending", None)
    assert AuditEvent.objects.filter(action="request.submitted").count() == 1


def test_manager_asks_for_a_report(cast, sandbox, api_for):
    response = ask(
        api_for(cast.bob), entitlement=sandbox.developers.pk, justification=GOOD_REASON, beneficiary=cast.alice.pk
    )

    assert response.status_code == 201
    assert response.json()["beneficiary"]["id"] == cast.alice.pk
    assert response.json()["requester"]["id"] == cast.bob.pk


def test_employee_cannot_ask_for_someone_outside_their_reports(cast, sandbox, api_for):
    """Carol's id answers as an id nobody has: it tells Alice nothing about who is in the portal."""
    response = ask(
        api_for(cast.alice), entitlement=sandbox.developers.pk, justification=GOOD_REASON, beneficiary=cast.carol.pk
    )
    nobody = ask(api_for(cast.alice), entitlement=sandbox.developers.pk, justification=GOOD_REASON, beneficiary=987654)

    assert response.status_code == nobody.status_code == 400
    assert response.json()["errors"] == {"beneficiary": [f'Invalid pk "{cast.carol.pk}" - object does not exist.']}
    assert nobody.json()["errors"] == {"beneficiary": ['Invalid pk "987654" - object does not exist.']}
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize("justification", ["", "   ", "need it"])
def test_short_justification_is_refused_on_its_field(cast, sandbox, api_for, justification):
    response = ask(api_for(cast.alice), entitlement=sandbox.developers.pk, justification=justification)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Explain why you need this access in at least 10 characters.",
        "field": "justification",
        "errors": {},
    }
    assert not AccessRequest.objects.exists()


def test_missing_fields_are_named(cast, api_for):
    response = ask(api_for(cast.alice))

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This field is required.",
        "field": "entitlement",
        "errors": {"entitlement": ["This field is required."], "justification": ["This field is required."]},
    }


@pytest.mark.parametrize("entitlement_id", [999999, "Developers", None])
def test_tampered_entitlement_is_refused_on_its_field(cast, sandbox, api_for, entitlement_id):
    response = ask(api_for(cast.alice), entitlement=entitlement_id, justification=GOOD_REASON)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["entitlement"]


def test_entitlement_that_is_not_requestable_is_refused(cast, sandbox, api_for):
    response = ask(api_for(cast.alice), entitlement=sandbox.breakglass.pk, justification=GOOD_REASON)

    assert response.status_code == 400
    assert response.json()["detail"] == "Break-glass admins cannot be requested. Ask its owner how to get it."
    assert not AccessRequest.objects.exists()


@pytest.fixture
def time_bound(sandbox) -> Entitlement:
    sandbox.developers.max_duration_days = 30
    sandbox.developers.save()
    return sandbox.developers


def test_duration_above_the_entitlements_maximum_is_refused(cast, time_bound, api_for):
    response = ask(api_for(cast.alice), entitlement=time_bound.pk, justification=GOOD_REASON, duration_days=31)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Developers can be held for at most 30 days.",
        "field": "duration_days",
        "errors": {},
    }


def test_duration_within_the_maximum_is_kept(cast, time_bound, api_for):
    response = ask(api_for(cast.alice), entitlement=time_bound.pk, justification=GOOD_REASON, duration_days=30)

    assert response.status_code == 201
    assert response.json()["duration_days"] == 30


@pytest.mark.parametrize("duration_days", [0, -1, 100000])
def test_duration_out_of_any_range_is_refused_on_its_field(cast, sandbox, api_for, duration_days):
    response = ask(
        api_for(cast.alice), entitlement=sandbox.developers.pk, justification=GOOD_REASON, duration_days=duration_days
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["duration_days"]


def test_second_pending_request_for_the_same_access_conflicts(cast, sandbox, api_for, alices_request):
    response = ask(api_for(cast.alice), entitlement=sandbox.developers.pk, justification=GOOD_REASON)

    assert response.status_code == 409
    assert response.json()["detail"] == "You already have a pending request for Developers."


# --- the cart: several entitlements, all or none ------------------------------------------


@pytest.fixture
def readonly(sandbox) -> Entitlement:
    return Entitlement.objects.create(
        account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk=Entitlement.Risk.LOW, max_duration_days=7
    )


def checkout(client, items, justification=GOOD_REASON):
    return client.post("/api/requests/cart/", {"justification": justification, "items": items}, format="json")


def test_cart_creates_one_request_per_entitlement(cast, sandbox, readonly, api_for):
    items = [{"entitlement": sandbox.developers.pk}, {"entitlement": readonly.pk, "duration_days": 7}]

    response = checkout(api_for(cast.alice), items)

    assert response.status_code == 201
    created = response.json()
    assert [(item["entitlement"]["name"], item["duration_days"]) for item in created] == [
        ("Developers", None),
        ("Read-only", 7),
    ]
    assert created[0]["cart"] == created[1]["cart"] is not None


def test_cart_with_one_bad_item_creates_nothing(cast, sandbox, readonly, api_for):
    items = [{"entitlement": readonly.pk, "duration_days": 7}, {"entitlement": sandbox.breakglass.pk}]

    response = checkout(api_for(cast.alice), items)

    assert response.status_code == 400
    assert "Break-glass admins cannot be requested" in response.json()["detail"]
    assert not AccessRequest.objects.exists()


def test_empty_cart_is_refused(cast, api_for):
    response = checkout(api_for(cast.alice), [])

    assert response.status_code == 400
    assert response.json()["detail"] == "Add at least one entitlement to the request."


def test_cart_names_the_malformed_item(cast, sandbox, api_for):
    response = checkout(api_for(cast.alice), [{"entitlement": sandbox.developers.pk}, {"duration_days": 3}])

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This field is required.",
        "field": "items.1.entitlement",
        "errors": {"items.1.entitlement": ["This field is required."]},
    }


# --- reading requests -----------------------------------------------------------------------


def test_my_requests_lists_those_i_asked_for_and_those_for_me(cast, sandbox, api_for, alices_request):
    readonly = Entitlement.objects.create(
        account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk=Entitlement.Risk.LOW
    )
    ask(api_for(cast.bob), entitlement=readonly.pk, justification=GOOD_REASON, beneficiary=cast.alice.pk)

    alices = api_for(cast.alice).get("/api/requests/").json()
    bobs = api_for(cast.bob).get("/api/requests/").json()
    carols = api_for(cast.carol).get("/api/requests/").json()

    assert [item["entitlement"]["name"] for item in alices["results"]] == ["Read-only", "Developers"]
    assert [item["entitlement"]["name"] for item in bobs["results"]] == ["Read-only"]
    assert carols == {"count": 0, "count_capped": False, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_requester_beneficiary_and_approver_see_a_request_with_its_stages(cast, api_for, alices_request, who):
    response = api_for(getattr(cast, who)).get(f"/api/requests/{alices_request.pk}/")

    assert response.status_code == 200
    assert response.json()["stages"][0]["assignments"][0]["approver"]["id"] == cast.bob.pk


@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
def test_another_persons_request_is_not_found(cast, api_for, alices_request, who):
    response = api_for(getattr(cast, who)).get(f"/api/requests/{alices_request.pk}/")

    assert response.status_code == 404


@pytest.mark.parametrize("path", ["999999", "99999999999999999999", "abc", "-1"])
def test_tampered_request_ids_are_not_found(cast, api_for, alices_request, path):
    assert api_for(cast.alice).get(f"/api/requests/{path}/").status_code == 404


# --- cancelling -----------------------------------------------------------------------------


def test_requester_cancels_a_pending_request(cast, api_for, alices_request):
    response = api_for(cast.alice).post(f"/api/requests/{alices_request.pk}/cancel/")

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert response.json()["stages"][0]["state"] == "closed"


def test_cancelling_twice_conflicts(cast, api_for, alices_request):
    client = api_for(cast.alice)
    client.post(f"/api/requests/{alices_request.pk}/cancel/")

    response = client.post(f"/api/requests/{alices_request.pk}/cancel/")

    assert response.status_code == 409
    assert response.json() == {"detail": "This request is already cancelled.", "field": None, "errors": {}}


@pytest.mark.parametrize("who", ["bob", "dave"])
def test_nobody_else_can_cancel(cast, api_for, alices_request, who):
    response = api_for(getattr(cast, who)).post(f"/api/requests/{alices_request.pk}/cancel/")

    assert response.status_code == 404
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.PENDING


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_requests_change_only_through_their_actions(cast, api_for, alices_request, method):
    response = getattr(api_for(cast.alice), method)(f"/api/requests/{alices_request.pk}/", {"state": "approved"})

    assert response.status_code == 405
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.PENDING
