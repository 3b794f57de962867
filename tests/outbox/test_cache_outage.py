"""The cache (where sign-in attempts are counted) unreachable: signing in answers 503 in words with
Retry-After, on the page and for an API token, never a 500; people already signed in carry on.
"""

import socket

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from access import services
from accounts.models import ApiToken
from outbox.outages import RETRY_AFTER_SECONDS
from tests.conftest import PASSWORD, own_address

WORDS = "cannot reach its cache, where sign-in attempts are counted"


def a_port_nobody_listens_on() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{a_port_nobody_listens_on()}/1",
        }
    }


def test_signing_in_on_the_page_answers_503_with_retry_after(client, cast, cache_down):
    page = client.get(reverse("account_login"))
    response = client.post(
        reverse("account_login"), {"login": cast.alice.email, "password": PASSWORD}, REMOTE_ADDR=own_address()
    )

    assert page.status_code == 200, "the form itself needs no cache"
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert WORDS in response.content.decode() and "Unavailable for a moment" in response.content.decode()
    assert "_auth_user_id" not in client.session, "not signed in"


def test_asking_for_an_api_token_answers_503_in_json_with_retry_after(cast, cache_down):
    response = APIClient(REMOTE_ADDR=own_address()).post(
        "/api/token/", {"email": cast.alice.email, "password": PASSWORD, "name": "laptop"}, format="json"
    )

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert WORDS in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_someone_signed_in_carries_on_deciding_while_the_cache_is_down(client_for, cast, sandbox, cache_down):
    alices_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification="Deploying the billing service for Q4"
    )
    bob = client_for(cast.bob)

    inbox = bob.get(reverse("access:inbox"))
    approved = bob.post(reverse("access:approve", args=[alices_request.pk]))

    assert (inbox.status_code, approved.status_code) == (200, 302)
    alices_request.refresh_from_db()
    assert alices_request.state == "approved"
