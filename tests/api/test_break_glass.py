"""Break glass through the API: Alice (allowed for Production admin, with an authenticator app) takes it from a
signed-in browser session; Bob, her manager, reviews it. A token never carries the fresh code breaking glass needs."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from rest_framework.test import APIClient

from access.models import AccessRequest, Grant
from access.services import break_glass as glass
from audit.models import AuditEvent
from tests.conftest import api_token

REASON = "Payments API is down (P1); restarting the stuck ECS tasks by hand"
URL = "/api/break-glass/"


@pytest.fixture
def production(cast, production_admin):
    glass.set_eligibility(
        entitlement_id=production_admin.pk, actor=cast.erin, person_ids=[cast.alice.pk], departments=[]
    )
    TOTP.activate(cast.alice, generate_totp_secret())
    return production_admin


def session_of(person) -> APIClient:
    """A browser session's API calls: signed in with the second factor just now."""
    api = APIClient()
    api.force_login(person)
    return api


def body(production, **changes):
    return {"entitlement": production.pk, "reason": REASON, "ticket": "INC0012345", "duration_hours": 2} | changes


def counts():
    return AccessRequest.objects.count(), Grant.objects.count(), AuditEvent.objects.count()


def test_alice_breaks_glass_and_bob_confirms_it_and_a_second_decision_is_409(cast, production):
    answer = session_of(cast.alice).post(URL, body(production), format="json")

    assert answer.status_code == 201
    created = answer.json()
    assert (created["state"], created["break_glass"], created["ticket"]) == ("approved", True, "INC0012345")
    assert [stage["kind"] for stage in created["stages"]] == ["approval", "review"]
    assert created["stages"][1]["due_at"] is not None
    bob = session_of(cast.bob)
    waiting = bob.get("/api/break-glass/reviews/").json()["results"]
    assert [review["request"]["id"] for review in waiting] == [created["id"]]
    confirmed = bob.post(f"/api/break-glass/reviews/{created['id']}/confirm/", {"comment": "ok"}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["stages"][1]["state"] == "approved"
    again = session_of(cast.carol).post(f"/api/break-glass/reviews/{created['id']}/revoke/", format="json")
    assert again.status_code == 409 and "already confirmed" in again.json()["detail"]
    assert bob.get("/api/break-glass/reviews/").json()["results"] == []


def test_revoking_through_the_api_ends_the_grant(cast, production):
    created = session_of(cast.alice).post(URL, body(production), format="json").json()

    revoked = session_of(cast.bob).post(f"/api/break-glass/reviews/{created['id']}/revoke/", format="json")

    assert revoked.status_code == 200
    assert Grant.objects.get(user=cast.alice, entitlement=production).desired == Grant.Desired.ABSENT


def test_people_not_allowed_are_refused_with_403_and_nothing_changes(cast, production):
    before = counts()
    answer = session_of(cast.dave).post(URL, body(production), format="json")
    assert answer.status_code == 403 and "may not break glass" in answer.json()["detail"]
    assert counts() == before


def test_a_token_cannot_break_glass(cast, production):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token(cast.alice)}")
    before = counts()

    answer = api.post(URL, body(production), format="json")

    assert answer.status_code == 403 and answer.json()["code"] == "step_up_required"
    assert counts() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"ticket": ""}, "ticket"),
        ({"ticket": "not a ticket"}, "ticket"),
        ({"duration_hours": None}, "duration_hours"),
        ({"duration_hours": 99}, "duration_hours"),
    ],
)
def test_a_missing_reason_ticket_or_duration_is_400_and_changes_nothing(cast, production, changes, field):
    before = counts()

    answer = session_of(cast.alice).post(URL, body(production, **changes), format="json")

    assert answer.status_code == 400 and answer.json()["field"] == field
    assert counts() == before


@pytest.mark.parametrize(
    "raw",
    [
        '{"entitlement": %d, "reason": "Payments API is down\\u0000 badly", "ticket": "INC1", "duration_hours": 2}',
        '{"entitlement": %d, "reason": "' + "x" * 5000 + '", "ticket": "INC1", "duration_hours": 2}',
        '{"entitlement": %d, "reason": "Payments API is down for all", "ticket": "' + "9" * 500 + '"}',
        '{"entitlement": %d, "reason": "Payments API is down for all", "ticket": "INC1", "duration_hours": '
        + "9" * 30
        + "}",
        '{"entitlement": %d, "reason": ["a"], "ticket": {"a": 1}, "duration_hours": "two"}',
    ],
)
def test_hostile_bodies_are_400_and_change_nothing(cast, production, raw):
    before = counts()

    answer = session_of(cast.alice).post(URL, (raw % production.pk).encode(), content_type="application/json")

    assert answer.status_code == 400
    assert counts() == before


def test_invalid_utf8_is_400(cast, production):
    raw = b'{"entitlement": 1, "reason": "down \xff\xfe", "ticket": "INC1", "duration_hours": 2}'
    answer = session_of(cast.alice).post(URL, raw, content_type="application/json")
    assert answer.status_code == 400


def test_the_requester_cannot_review_and_others_do_not_see_it(cast, production):
    created = session_of(cast.alice).post(URL, body(production), format="json").json()

    own = session_of(cast.alice).post(f"/api/break-glass/reviews/{created['id']}/confirm/", format="json")
    assert own.status_code == 403
    other = session_of(cast.dave).post(f"/api/break-glass/reviews/{created['id']}/confirm/", format="json")
    assert other.status_code == 404
