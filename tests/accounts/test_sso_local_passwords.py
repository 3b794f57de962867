"""Local passwords switched off (PORTAL_LOCAL_PASSWORDS=false): single sign-on only, but for the
break-glass accounts named in PORTAL_BREAK_GLASS_EMAILS."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.adapters import CHANGES_SSO_ONLY, SIGN_IN_SSO_ONLY
from accounts.models import User
from tests.accounts.identity_providers import LocalOidcProvider, configure_oidc, sign_in_with_oidc
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
BREAK_GLASS = "breakglass@example.com"


@pytest.fixture
def oidc(settings, monkeypatch):
    with LocalOidcProvider() as idp:
        configure_oidc(settings, monkeypatch, idp)
        yield idp


@pytest.fixture
def sso_only(settings, oidc):
    settings.LOCAL_PASSWORDS = False
    settings.BREAK_GLASS_EMAILS = [BREAK_GLASS]
    return oidc


@pytest.fixture
def break_glass(db):
    return User.objects.create_superuser(email=BREAK_GLASS, password=PASSWORD, full_name="Break Glass")


def password_sign_in(client: Client, email: str, password: str = PASSWORD, query: str = ""):
    return client.post(f"{reverse('account_login')}{query}", {"login": email, "password": password})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_with_passwords_on_a_password_signs_in(cast, oidc, client):
    response = password_sign_in(client, "alice@example.com")

    assert response.status_code == 302
    assert signed_in(client)


def test_the_sign_in_page_shows_only_the_sso_button(cast, sso_only, client):
    page = client.get(reverse("account_login")).content.decode()

    assert "Sign in with Example SSO" in page
    assert 'name="password"' not in page
    assert "Password sign-in is switched off" in page


def test_a_correct_password_no_longer_signs_in(cast, sso_only, client):
    response = password_sign_in(client, "alice@example.com")

    assert response.status_code == 200
    assert SIGN_IN_SSO_ONLY in response.content.decode()
    assert not signed_in(client)


def test_single_sign_on_still_signs_in(cast, sso_only, client):
    sign_in_with_oidc(client, sso_only, sub="00u-alice", email="alice@example.com")

    assert signed_in(client)


def test_passwords_are_refused_wherever_django_checks_them(cast, sso_only, client):
    assert authenticate(email="alice@example.com", password=PASSWORD) is None
    # An address of its own, so the endpoint's per-address throttle counts this request alone.
    address = f"198.51.100.{secrets.randbelow(254) + 1}"
    token = client.post(reverse("api:token"), {"email": "alice@example.com", "password": PASSWORD}, REMOTE_ADDR=address)
    assert token.status_code == 400
    assert "Unable to log in" in token.content.decode()


def test_a_break_glass_account_keeps_password_sign_in(sso_only, break_glass, client):
    page = client.get(f"{reverse('account_login')}?break_glass=1").content.decode()
    assert 'name="password"' in page

    password_sign_in(client, BREAK_GLASS, query="?break_glass=1")

    assert signed_in(client)
    assert client.session["_auth_user_id"] == str(break_glass.pk)


def test_a_wrong_break_glass_password_reads_like_any_refusal(sso_only, break_glass, client):
    response = password_sign_in(client, BREAK_GLASS, password="not-the-password-at-all", query="?break_glass=1")

    assert SIGN_IN_SSO_ONLY in response.content.decode()
    assert not signed_in(client)


def test_a_password_reset_is_refused_and_mails_nothing(cast, sso_only, client):
    response = client.post(reverse("account_reset_password"), {"email": "alice@example.com"})

    assert response.status_code == 200
    assert CHANGES_SSO_ONLY in response.content.decode()
    assert mail.outbox == []


def test_a_password_change_is_refused(cast, sso_only, client):
    client.force_login(cast.alice)

    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a-brand-new-passphrase-2026",
            "password2": "a-brand-new-passphrase-2026",
        },
    )

    assert response.status_code == 200
    assert CHANGES_SSO_ONLY in response.content.decode()
    cast.alice.refresh_from_db()
    assert cast.alice.check_password(PASSWORD)


def test_switching_passwords_off_without_single_sign_on_stops_start_up():
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PORTAL_", "DJANGO_"))}
    environment.update(DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_LOCAL_PASSWORDS="false")

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "PORTAL_LOCAL_PASSWORDS=false needs single sign-on" in result.stderr
