"""Asking for hours through the API: the same rules as the pages, every refusal a 400 in words."""

import pytest

from access import services
from access.models import AccessRequest, Grant
from catalog.models import Entitlement
from tests.api.conftest import GOOD_REASON

AT_MOST_744 = "Ensure this value is less than or equal to 744."
AT_LEAST_1 = "Ensure this value is greater than or equal to 1."


@pytest.fixture
def elevated(cast, sandbox):
    entitlement = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ProdAdmin",
        name="Production admin",
        risk=Entitlement.Risk.LOW,
        duration_unit=Entitlement.DurationUnit.HOURS,
        max_duration_hours=8,
    )
    entitlement.owners.set([cast.carol])
    return entitlement


def ask(client, **body):
    return client.post("/api/requests/", body, format="json")


def test_alice_asks_for_two_hours(cast, elevated, api_for):
    response = ask(api_for(cast.alice), entitlement=elevated.pk, justification=GOOD_REASON, duration_hours=2)

    assert response.status_code == 201
    assert (response.json()["duration_hours"], response.json()["duration_days"]) == (2, None)
    assert AccessRequest.objects.get().duration_hours == 2


def test_the_catalog_says_the_unit_and_its_bounds(cast, elevated, api_for):
    listed = api_for(cast.alice).get(f"/api/catalog/{elevated.pk}/").json()
    assert (listed["duration_unit"], listed["min_duration"], listed["max_duration_hours"]) == ("hours", 1, 8)


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ({"duration_hours": 9}, ("Production admin can be held for at most 8 hours.", "duration_hours", {})),
        ({"duration_days": 1}, ("Production admin is granted in hours, not days.", "duration_days", {})),
        (
            {"duration_hours": 10**12},
            ("Ensure this value is less than or equal to 744.", "duration_hours", {"duration_hours": [AT_MOST_744]}),
        ),
        ({"duration_hours": 10**30}, ("That number is too large.", None, {})),
        ({"duration_hours": "2\x00"}, ("The text contains a character that is not allowed (NUL).", None, {})),
        (
            {"duration_hours": 0},
            ("Ensure this value is greater than or equal to 1.", "duration_hours", {"duration_hours": [AT_LEAST_1]}),
        ),
    ],
)
def test_refusals_are_400_in_words(cast, elevated, api_for, body, answer):
    response = ask(api_for(cast.alice), entitlement=elevated.pk, justification=GOOD_REASON, **body)

    detail, field, errors = answer
    assert response.status_code == 400
    assert response.json() == {"detail": detail, "field": field, "errors": errors}
    assert not AccessRequest.objects.exists()


def test_hours_on_a_days_entitlement_are_refused(cast, sandbox, api_for):
    response = ask(api_for(cast.alice), entitlement=sandbox.developers.pk, justification=GOOD_REASON, duration_hours=2)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Developers is granted in days, not hours.",
        "field": "duration_hours",
        "errors": {},
    }


def test_an_extension_by_hours(cast, elevated, api_for):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=elevated, justification=GOOD_REASON, duration_hours=2
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    grant = Grant.objects.get()
    services.record_sync_success(services.claim_grant_for_sync(grant.pk), evidence="read back")

    client = api_for(cast.alice)
    too_long = client.post(
        f"/api/grants/{grant.pk}/extend/", {"duration_hours": 7, "justification": GOOD_REASON}, format="json"
    )
    assert too_long.status_code == 400
    assert "so it can be extended at most 6 more hours" in too_long.json()["detail"]

    asked = client.post(
        f"/api/grants/{grant.pk}/extend/", {"duration_hours": 3, "justification": GOOD_REASON}, format="json"
    )
    assert asked.status_code == 201
    assert (asked.json()["kind"], asked.json()["duration_hours"]) == ("extension", 3)
    (listed,) = client.get("/api/grants/").json()["results"]
    assert listed["duration_hours"] == 2


def test_a_cart_mixes_hours_and_days(cast, sandbox, elevated, api_for):
    response = api_for(cast.alice).post(
        "/api/requests/cart/",
        {
            "justification": GOOD_REASON,
            "items": [
                {"entitlement": elevated.pk, "duration_hours": 4},
                {"entitlement": sandbox.developers.pk, "duration_days": 3},
            ],
        },
        format="json",
    )

    assert response.status_code == 201
    asked = {(item["entitlement"]["id"], item["duration_days"], item["duration_hours"]) for item in response.json()}
    assert asked == {(elevated.pk, None, 4), (sandbox.developers.pk, 3, None)}
