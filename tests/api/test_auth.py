"""Who may call the API at all: tokens for scripts, sessions with CSRF for the browser, nobody anonymous."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from access.models import AccessRequest
from accounts.api_sign_in import REFUSED
from accounts.models import ApiToken
from tests.api.conftest import GOOD_REASON
from tests.conftest import PASSWORD, totp_code

EVERY_ENDPOINT = [
    ("get", "/api/"),
    ("get", "/api/catalog/"),
    ("get", "/api/catalog/1/"),
    ("get", "/api/requests/"),
    ("post", "/api/requests/"),
    ("post", "/api/requests/cart/"),
    ("get", "/api/requests/1/"),
    ("post", "/api/requests/1/cancel/"),
    ("post", "/api/requests/1/approve/"),
    ("post", "/api/requests/1/deny/"),
    ("get", "/api/approvals/"),
    ("post", "/api/approvals/bulk/"),
    ("get", "/api/grants/"),
    ("post", "/api/grants/1/give_back/"),
    ("post", "/api/grants/1/extend/"),
    ("get", "/api/schema/"),
    ("get", "/api/docs/"),
]


@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
def test_anonymous_callers_are_refused_everywhere(db, anonymous, method, path):
    response = getattr(anonymous, method)(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def obtain_token(email, password, **extra):
    return APIClient().post("/api/token/", {"email": email, "password": password, **extra}, format="json")


def test_a_person_trades_email_and_password_for_a_token(cast):
    response = obtain_token("alice@example.com", PASSWORD, name="laptop")

    assert response.status_code == 200
    token = ApiToken.objects.get(user=cast.alice)
    assert (token.name, response.json()["name"]) == ("laptop", "laptop")
    assert parse_datetime(response.json()["expires_at"]) == token.expiry
    assert abs(token.expiry - (token.created + timedelta(days=settings.API_TOKEN_DAYS))) < timedelta(seconds=1)


def test_asking_again_for_the_same_device_replaces_its_token(cast):
    first = obtain_token("alice@example.com", PASSWORD).json()["token"]

    second = obtain_token("Alice@Example.com", PASSWORD).json()["token"]

    assert second != first and ApiToken.objects.filter(user=cast.alice).count() == 1
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api.get("/api/requests/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert api.get("/api/requests/").status_code == 200


def test_each_device_has_its_own_token(cast):
    obtain_token("alice@example.com", PASSWORD, name="laptop")
    obtain_token("alice@example.com", PASSWORD, name="ci-deploy")

    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["ci-deploy", "laptop"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("alice@example.com", "wrong-password-entirely"), ("nobody@example.com", PASSWORD), ("alice@example.com", "")],
)
def test_wrong_credentials_get_no_token(cast, email, password):
    response = obtain_token(email, password)

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_deactivated_person_gets_no_token(cast):
    cast.alice.is_active = False
    cast.alice.save()

    assert obtain_token("alice@example.com", PASSWORD).status_code == 400
    assert not ApiToken.objects.exists()


def test_password_guessing_is_slowed_down(cast):
    for _attempt in range(5):
        assert obtain_token("alice@example.com", "wrong-password-entirely").status_code == 400

    assert obtain_token("alice@example.com", PASSWORD).status_code == 429


def test_token_authenticates_without_csrf(cast, sandbox):
    token = obtain_token("alice@example.com", PASSWORD).json()["token"]
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.post(
        "/api/requests/", {"entitlement": sandbox.developers.pk, "justification": GOOD_REASON}, format="json"
    )

    assert response.status_code == 201


def test_a_bad_token_is_refused(cast):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.get("/api/requests/").status_code == 401


def test_a_token_that_is_not_utf8_is_refused_not_a_server_error(cast):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token caf\u00e9")

    assert client.get("/api/requests/").status_code == 401


@pytest.fixture
def alices_browser(cast):
    """Alice signed in to the pages; her browser calls the API with the session cookie."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    return client


def test_session_reads_need_no_csrf_token(alices_browser):
    assert alices_browser.get("/api/requests/").status_code == 200


def test_session_post_without_csrf_token_is_refused(alices_browser, sandbox):
    response = alices_browser.post(
        "/api/requests/", {"entitlement": sandbox.developers.pk, "justification": GOOD_REASON}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert not AccessRequest.objects.exists()


def test_session_post_with_csrf_token_is_accepted(alices_browser, sandbox):
    secret = "a" * 32
    alices_browser.cookies["csrftoken"] = secret

    response = alices_browser.post(
        "/api/requests/",
        {"entitlement": sandbox.developers.pk, "justification": GOOD_REASON},
        format="json",
        HTTP_X_CSRFTOKEN=secret,
    )

    assert response.status_code == 201


def test_someone_with_an_authenticator_app_gives_its_code_for_a_token(cast):
    """Bob decides on access and has an app: his password alone must not be a way round it."""
    without = obtain_token("bob@example.com", PASSWORD)
    assert without.status_code == 400 and without.json()["detail"] == REFUSED
    wrong = obtain_token("bob@example.com", PASSWORD, code="000000")
    assert wrong.status_code == 400 and not ApiToken.objects.exists()

    right = obtain_token("bob@example.com", PASSWORD, code=totp_code(cast.bob))

    assert right.status_code == 200
    assert ApiToken.objects.get(user=cast.bob).second_factor


def test_a_recovery_code_stands_in_for_the_app_once(cast):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    code = RecoveryCodes.activate(cast.bob).generate_codes()[0]

    assert obtain_token("bob@example.com", PASSWORD, code=code).status_code == 200
    assert obtain_token("bob@example.com", PASSWORD, code=code).status_code == 400


def test_a_decider_without_a_second_factor_gets_no_token(cast):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=cast.bob).delete()

    response = obtain_token("bob@example.com", PASSWORD)

    assert (response.status_code, response.json()["detail"]) == (400, REFUSED)
    assert not ApiToken.objects.exists()


def test_a_token_ends_after_its_days_and_a_new_one_replaces_it(cast):
    old = obtain_token("alice@example.com", PASSWORD).json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get("/api/requests/").status_code == 200
    ApiToken.objects.filter(user=cast.alice).update(expiry=timezone.now() - timedelta(seconds=1))

    refused = api.get("/api/requests/")

    assert refused.status_code == 401
    assert not ApiToken.objects.exists(), "an expired token is deleted when next presented"
    new = obtain_token("alice@example.com", PASSWORD).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api.get("/api/requests/").status_code == 200
