"""Marking leavers through the API: governance admins only, everything they hold goes."""

import pytest
from rest_framework.test import APIClient

from access import services
from access.models import Grant
from tests.conftest import PASSWORD, api_token

GOOD_REASON = "Deploying the billing service for the Q4 release"


def test_admin_marks_a_leaver_and_their_access_goes(api_for, cast, sandbox):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)

    response = api_for(cast.erin).post(f"/api/people/{cast.alice.pk}/leaver/")

    assert response.status_code == 200
    assert response.json()["employment_status"] == "leaver"
    assert Grant.objects.get().desired == Grant.Desired.ABSENT
    again = api_for(cast.erin).post(f"/api/people/{cast.alice.pk}/leaver/")
    assert (again.status_code, again.json()["detail"]) == (409, "Alice Engineer is already a leaver.")


def test_a_leavers_token_stops_working(api_for, cast):
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {api_token(cast.alice)}")
    assert script.get("/api/grants/").status_code == 200

    api_for(cast.erin).post(f"/api/people/{cast.alice.pk}/leaver/")

    assert script.get("/api/grants/").status_code == 401
    signed_in = APIClient()
    assert not signed_in.login(email="alice@example.com", password=PASSWORD)


@pytest.mark.parametrize("who", ["bob", "frank"])
def test_only_governance_admins_mark_leavers(api_for, cast, who):
    response = api_for(getattr(cast, who)).post(f"/api/people/{cast.alice.pk}/leaver/")

    assert response.status_code == 403
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver


def test_unknown_person_is_not_found(api_for, cast):
    assert api_for(cast.erin).post("/api/people/99999/leaver/").status_code == 404
    assert api_for(cast.erin).get(f"/api/people/{cast.alice.pk}/leaver/").status_code == 405
