"""The second-factor rule holds on every call made with a token, not only when it is issued.

Before, the MFA middleware saw only browser sessions: a decider's token kept deciding after they removed
their authenticator, and a token issued before someone became a decider needed none at all.
"""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from rest_framework.test import APIClient

from accounts.mfa import ENROL_MESSAGE
from tests.conftest import api_token

REFUSED = {"detail": ENROL_MESSAGE, "field": None, "errors": {}, "code": "mfa_required"}


def script_of(token: str) -> APIClient:
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return script


def test_a_deciders_token_stops_deciding_when_their_second_factor_is_removed(cast, alices_request):
    bobs_script = script_of(api_token(cast.bob))
    assert bobs_script.get("/api/approvals/").status_code == 200

    Authenticator.objects.filter(user=cast.bob).delete()
    response = bobs_script.post(f"/api/requests/{alices_request.pk}/approve/", format="json")

    assert (response.status_code, response.json()) == (403, REFUSED)
    assert bobs_script.get("/api/approvals/").status_code == 403
    alices_request.refresh_from_db()
    assert alices_request.state == "pending"


def test_a_token_issued_before_its_holder_became_a_decider_is_refused(cast, sandbox):
    """Alice has no second factor and gets a token; then she is made an owner of Developers."""
    alices_script = script_of(api_token(cast.alice))
    assert alices_script.get("/api/requests/").status_code == 200

    sandbox.developers.owners.add(cast.alice)

    response = alices_script.get("/api/requests/")
    assert (response.status_code, response.json()) == (403, REFUSED)


def test_enrolling_later_does_not_mend_a_token_issued_without_the_second_factor(cast, sandbox):
    alices_script = script_of(api_token(cast.alice))
    sandbox.developers.owners.add(cast.alice)

    TOTP.activate(cast.alice, generate_totp_secret())

    assert alices_script.get("/api/requests/").status_code == 403


def test_the_middleware_and_the_token_refuse_a_decider_with_the_same_words(cast, client_for):
    Authenticator.objects.filter(user=cast.bob).delete()
    token_answer = script_of(api_token(cast.bob, second_factor=True)).get("/api/approvals/")

    session_answer = client_for(cast.bob).get("/api/approvals/")

    assert (token_answer.status_code, token_answer.json()) == (session_answer.status_code, session_answer.json())
    assert session_answer.json() == REFUSED


def test_someone_who_decides_nothing_keeps_using_a_token_without_a_second_factor(cast):
    assert script_of(api_token(cast.alice)).get("/api/grants/").status_code == 200
