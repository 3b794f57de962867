"""My access through the API: where its sync stands, giving it back, asking to keep it longer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant
from tests.api.conftest import GOOD_REASON


@pytest.fixture
def alices_grant(cast, alices_request):
    """Bob approved Alice's request: the grant waits for the sync engine."""
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    return Grant.objects.get(user=cast.alice)


@pytest.fixture
def time_bound_grant(cast, sandbox):
    """Alice holds Developers, applied in AWS, for five more days."""
    return Grant.objects.create(
        user=cast.alice,
        entitlement=sandbox.developers,
        source=Grant.Source.ADMIN,
        duration_days=7,
        expires_at=timezone.now() + timedelta(days=5),
        sync_state=Grant.SyncState.APPLIED,
    )


def test_my_grants_show_their_sync_state(cast, api_for, alices_grant):
    response = api_for(cast.alice).get("/api/grants/")

    assert response.status_code == 200
    (grant,) = response.json()["results"]
    assert grant["id"] == alices_grant.pk
    assert grant["entitlement"]["name"] == "Developers"
    assert (grant["desired"], grant["sync_state"], grant["last_error"], grant["expires_at"]) == (
        "present",
        "pending",
        "",
        None,
    )


@pytest.mark.parametrize("who", ["bob", "carol", "erin"])
def test_nobody_else_sees_my_grants(cast, api_for, alices_grant, who):
    assert api_for(getattr(cast, who)).get("/api/grants/").json()["results"] == []


def test_holder_gives_access_back(cast, api_for, alices_grant):
    client = api_for(cast.alice)

    response = client.post(f"/api/grants/{alices_grant.pk}/give_back/")

    assert response.status_code == 200
    assert (response.json()["desired"], response.json()["sync_state"]) == ("absent", "pending")
    assert response.json()["end_reason"] == "Given back by Alice Engineer"
    assert client.get("/api/grants/").json()["results"] == []


def test_giving_back_twice_is_refused(cast, api_for, alices_grant):
    client = api_for(cast.alice)
    client.post(f"/api/grants/{alices_grant.pk}/give_back/")

    response = client.post(f"/api/grants/{alices_grant.pk}/give_back/")

    assert response.status_code == 400
    assert response.json()["detail"] == "Developers is already being removed."


@pytest.mark.parametrize("who", ["bob", "erin"])
def test_nobody_else_gives_my_access_back(cast, api_for, alices_grant, who):
    response = api_for(getattr(cast, who)).post(f"/api/grants/{alices_grant.pk}/give_back/")

    assert response.status_code == 404
    alices_grant.refresh_from_db()
    assert alices_grant.desired == Grant.Desired.PRESENT


def test_giving_back_an_unknown_grant_is_not_found(cast, api_for, alices_grant):
    assert api_for(cast.alice).post(f"/api/grants/{alices_grant.pk + 1000}/give_back/").status_code == 404


# --- extensions -----------------------------------------------------------------------------


def extend(client, grant, **body):
    return client.post(f"/api/grants/{grant.pk}/extend/", body, format="json")


def test_holder_asks_to_keep_time_bound_access_longer(cast, api_for, time_bound_grant):
    response = extend(api_for(cast.alice), time_bound_grant, duration_days=14, justification=GOOD_REASON)

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["state"], body["duration_days"]) == ("extension", "pending", 14)
    assert body["stages"][0]["assignments"][0]["approver"]["id"] == cast.bob.pk


def test_asking_twice_for_an_extension_conflicts(cast, api_for, time_bound_grant):
    client = api_for(cast.alice)
    extend(client, time_bound_grant, duration_days=14, justification=GOOD_REASON)

    response = extend(client, time_bound_grant, duration_days=14, justification=GOOD_REASON)

    assert response.status_code == 409
    assert AccessRequest.objects.count() == 1


def test_access_without_an_end_date_cannot_be_extended(cast, api_for, alices_grant):
    response = extend(api_for(cast.alice), alices_grant, duration_days=14, justification=GOOD_REASON)

    assert response.status_code == 400
    assert response.json()["detail"] == "Only active access with an end date can be extended."


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (
            {"duration_days": 14, "justification": "longer"},
            {
                "detail": "Explain why you need this access in at least 10 characters.",
                "field": "justification",
                "errors": {},
            },
        ),
        (
            {"justification": GOOD_REASON},
            {
                "detail": "This field is required.",
                "field": "duration_days",
                "errors": {"duration_days": ["This field is required."]},
            },
        ),
        (
            {"duration_days": 0, "justification": GOOD_REASON},
            {
                "detail": "Ensure this value is greater than or equal to 1.",
                "field": "duration_days",
                "errors": {"duration_days": ["Ensure this value is greater than or equal to 1."]},
            },
        ),
    ],
)
def test_malformed_extension_is_refused_on_its_field(cast, api_for, time_bound_grant, body, refusal):
    response = extend(api_for(cast.alice), time_bound_grant, **body)

    assert response.status_code == 400
    assert response.json() == refusal
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_nobody_else_extends_my_access(cast, api_for, time_bound_grant, who):
    response = extend(api_for(getattr(cast, who)), time_bound_grant, duration_days=14, justification=GOOD_REASON)

    assert response.status_code == 404
    assert not AccessRequest.objects.exists()
