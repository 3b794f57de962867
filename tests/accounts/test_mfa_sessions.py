"""How long a sign-in lasts: until the browser closes, never past PORTAL_SESSION_SECONDS of idleness, and
never past PORTAL_SESSION_MAX_SECONDS in all."""

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


def test_a_busy_session_still_ends_when_the_sign_in_is_too_old(client, cast):
    """Every request slides the idle limit; the sign-in's own age does not slide."""
    from accounts.session_limits import SIGNED_IN_AT

    signed_in(client, cast.alice)
    assert client.get("/").status_code == 200
    session = client.session
    session[SIGNED_IN_AT] -= settings.SESSION_MAX_SECONDS - 60
    session.save()
    assert client.get("/").status_code == 200, "a minute left"

    session = client.session
    session[SIGNED_IN_AT] -= 120
    session.save()
    response = client.get("/")

    assert (response.status_code, response.url) == (302, f"{reverse('account_login')}?next=/")
    page = client.get(response.url)
    assert "Your sign-in has lasted as long as it may" in page.content.decode()
    assert client.get("/").status_code == 302, "signed out, not just turned away once"
