"""Signing in for an API token is the sign-in page's own flow: allauth's limits per address and per
account (codes included), one answer for every refusal, and the second factor the page would ask for.

The attacks these stop were found on the endpoint before: a throttle keyed on a header the client sends,
unlimited code guessing, answers that told a right password from a wrong one, and a password alone
giving a token to someone whose second factor is a security key.
"""

import itertools

import pytest
from allauth.mfa.models import Authenticator
from rest_framework.test import APIClient

from accounts.api_sign_in import REFUSED
from accounts.models import ApiToken
from tests.conftest import PASSWORD, own_address, totp_code

WRONG = "wrong-password-entirely"
_forged = (f"203.0.113.{n}" for n in itertools.count(1))


def sign_in(email, password, *, forwarded_for=None, **extra):
    """POST /api/token/ from this run's own address, claiming to be `forwarded_for` (a new one each time
    unless given) in X-Forwarded-For, as an attacker behind no proxy would."""
    client = APIClient(REMOTE_ADDR=own_address())
    return client.post(
        "/api/token/",
        {"email": email, "password": password, **extra},
        format="json",
        HTTP_X_FORWARDED_FOR=forwarded_for or next(_forged),
    )


def security_key_only(person):
    """`person`'s only second factor is a security key (WebAuthn): no app, no recovery codes."""
    Authenticator.objects.filter(user=person).delete()
    Authenticator.objects.create(
        user=person, type=Authenticator.Type.WEBAUTHN, data={"name": "YubiKey", "credential": {}}
    )


def test_password_guessing_with_a_new_forwarded_for_each_time_is_still_limited_per_account(cast):
    answers = [sign_in("alice@example.com", WRONG).status_code for _ in range(5)]

    assert answers == [400] * 5
    assert sign_in("alice@example.com", PASSWORD).status_code == 429, "the right password too, once locked"
    assert not ApiToken.objects.exists()


def test_password_guessing_across_accounts_with_a_new_forwarded_for_each_time_is_limited_per_address(cast):
    answers = [sign_in(f"guess-{n}@example.com", WRONG).status_code for n in range(10)]

    assert answers == [400] * 10
    assert sign_in("alice@example.com", PASSWORD).status_code == 429


def test_the_api_and_the_sign_in_page_share_one_lockout(cast, client):
    for _ in range(5):
        client.post("/accounts/login/", {"login": "alice@example.com", "password": WRONG}, REMOTE_ADDR=own_address())

    assert sign_in("alice@example.com", PASSWORD).status_code == 429


def test_authenticator_codes_are_limited_too(cast):
    """With Bob's password, an attacker guessing his code: five tries, then even the right code is refused."""
    answers = [sign_in("bob@example.com", PASSWORD, code=f"{n:06d}").status_code for n in range(5)]

    assert answers == [400] * 5
    assert sign_in("bob@example.com", PASSWORD, code=totp_code(cast.bob)).status_code == 429
    assert not ApiToken.objects.exists()


def test_a_missing_code_counts_like_a_wrong_one(cast):
    """Else a right password would show itself by never running into the limit."""
    answers = [sign_in("bob@example.com", PASSWORD).status_code for _ in range(5)]

    assert answers == [400] * 5
    assert sign_in("bob@example.com", PASSWORD, code=totp_code(cast.bob)).status_code == 429


def _decider_not_enrolled(cast):
    Authenticator.objects.filter(user=cast.bob).delete()
    return "bob@example.com", PASSWORD, ""


def _security_key_only(cast):
    security_key_only(cast.dave)
    return "dave@example.com", PASSWORD, "123456"


def _deactivated(cast):
    cast.alice.is_active = False
    cast.alice.save()
    return "alice@example.com", PASSWORD, ""


# Each case: (email, password, code) to send, after any set-up the case needs.
REFUSALS = {
    "wrong password": lambda cast: ("alice@example.com", WRONG, ""),
    "unknown email": lambda cast: ("nobody@example.com", PASSWORD, ""),
    "malformed email": lambda cast: ("not an address", PASSWORD, ""),
    "missing code": lambda cast: ("bob@example.com", PASSWORD, ""),
    "wrong code": lambda cast: ("bob@example.com", PASSWORD, "000000"),
    "wrong password, right code": lambda cast: ("bob@example.com", WRONG, totp_code(cast.bob)),
    "decider not enrolled": _decider_not_enrolled,
    "security key only": _security_key_only,
    "deactivated": _deactivated,
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_every_refused_sign_in_gets_the_same_answer(cast, refusal):
    email, password, code = REFUSALS[refusal](cast)

    response = sign_in(email, password, code=code)

    assert (response.status_code, response.json()) == (400, {"detail": REFUSED, "field": None, "errors": {}})
    assert not ApiToken.objects.exists()


def test_a_security_key_only_decider_gets_no_token_with_the_password(cast):
    security_key_only(cast.dave)

    response = sign_in("dave@example.com", PASSWORD)

    assert (response.status_code, response.json()["detail"]) == (400, REFUSED)
    assert not ApiToken.objects.exists()


def test_someone_without_a_second_factor_gets_a_token_that_says_so(cast):
    response = sign_in("alice@example.com", PASSWORD)

    assert response.status_code == 200
    assert not ApiToken.objects.get(user=cast.alice).second_factor
