"""How long a sign-in lasts: until the browser closes, and never past PORTAL_SESSION_SECONDS of idleness."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD, own_address, totp_code


@pytest.fixture
def client(db):
    """Sign-ins come from this run's own address, with no failed attempts counted yet."""
    cache.clear()
    return Client(REMOTE_ADDR=own_address())


def signed_in(client, person, *, code: bool = False):
    response = client.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
    if code:
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(person)})
    return response


def test_the_session_cookie_ends_with_the_browser_and_scripts_cannot_read_it(client, cast):
    cookie = signed_in(client, cast.alice).cookies[settings.SESSION_COOKIE_NAME]

    assert (cookie["max-age"], cookie["expires"]) == ("", ""), "no date: the browser drops it when it closes"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_the_server_forgets_a_session_left_idle_for_a_working_day(client, cast):
    cookie = signed_in(client, cast.bob, code=True).cookies[settings.SESSION_COOKIE_NAME]
    session = Session.objects.get(session_key=cookie.value)

    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert abs(session.expire_date - (timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))) < timedelta(
        minutes=1
    )
    assert client.get("/").status_code == 200

    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/")
    assert (response.status_code, response.url) == (302, f"{reverse('account_login')}?next=/")


def test_signing_out_ends_the_session_on_the_server(client, cast):
    cookie = signed_in(client, cast.alice).cookies[settings.SESSION_COOKIE_NAME]

    client.post(reverse("account_logout"))

    assert not Session.objects.filter(session_key=cookie.value).exists()
    assert client.get("/").status_code == 302
