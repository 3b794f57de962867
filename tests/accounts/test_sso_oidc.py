"""Single sign-on with OpenID Connect, against a provider the test serves on 127.0.0.1.

Gina is new: the IdP knows her, the portal does not yet. Alice, Bob and the rest are the cast.
"""

from urllib.parse import urlsplit

import pytest
import requests as http
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.services import mark_leaver
from audit.models import AuditEvent
from portal import sso_settings
from tests.accounts.identity_providers import LocalOidcProvider, configure_oidc, sign_in_with_oidc
from tests.conftest import PASSWORD

GINA = {
    "sub": "00u-gina",
    "email": "gina@example.com",
    "email_verified": True,
    "name": "Gina Newhire",
    "title": "Site Reliability Engineer",
    "department": "Engineering",
    "manager_email": "bob@example.com",
}


@pytest.fixture
def oidc(settings, monkeypatch):
    with LocalOidcProvider() as idp:
        configure_oidc(settings, monkeypatch, idp)
        yield idp


def signed_in_as(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def events(action: str, person: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(person.pk)).order_by("seq"))


def test_the_sign_in_page_offers_the_configured_provider(db, oidc, client):
    page = client.get(reverse("account_login"))

    assert page.status_code == 200
    assert "Sign in with Example SSO" in page.content.decode()
    assert 'name="password"' in page.content.decode()  # local passwords stay on unless switched off


def test_without_sso_settings_there_is_no_button_and_no_provider(db, client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    page = client.get(reverse("account_login"))

    assert "Sign in with" not in page.content.decode()
    assert 'name="password"' in page.content.decode()
    assert client.post(reverse("openid_connect_login", kwargs={"provider_id": "idp"})).status_code == 404


def test_a_plain_link_to_the_provider_asks_to_confirm_before_leaving(db, oidc, client):
    page = client.get(reverse("openid_connect_login", kwargs={"provider_id": "idp"}))

    assert page.status_code == 200
    assert 'method="post"' in page.content.decode() and "Sign in with Example SSO" in page.content.decode()


def test_a_sign_in_cancelled_at_the_provider_signs_in_nobody(cast, oidc, client):
    started = client.post(reverse("openid_connect_login", kwargs={"provider_id": "idp"}))
    oidc.person = None  # the person clicks "cancel" on the IdP's page
    back = urlsplit(http.get(started["Location"], allow_redirects=False, timeout=10).headers["Location"])

    response = client.get(f"{back.path}?{back.query}")

    assert response["Location"] == reverse("socialaccount_login_cancelled")
    assert signed_in_as(client) is None


def test_first_sign_in_creates_the_person_from_the_claims_with_their_manager(cast, oidc, client):
    response = sign_in_with_oidc(client, oidc, **GINA)

    assert response.status_code == 302 and response["Location"] == reverse("home")
    gina = User.objects.get(email="gina@example.com")
    assert signed_in_as(client) == gina
    assert (gina.full_name, gina.title, gina.department, gina.manager) == (
        "Gina Newhire",
        "Site Reliability Engineer",
        "Engineering",
        cast.bob,
    )
    assert not gina.has_usable_password()
    assert SocialAccount.objects.get(user=gina).uid == "00u-gina"
    joined, linked = events("person.joined", gina), events("person.sso_linked", gina)
    assert joined[0].actor_label == "system:sso:idp" and joined[0].after["manager"] == cast.bob.pk
    assert linked[0].after == {"provider": "idp", "uid": "00u-gina"}


def test_the_code_is_exchanged_with_the_client_secret_and_pkce(cast, oidc, client):
    sign_in_with_oidc(client, oidc, **GINA)

    (exchange,) = oidc.token_requests
    assert exchange["client_secret"] == oidc.client_secret
    assert len(exchange["code_verifier"]) >= 43


def test_a_manager_not_yet_known_is_left_empty_and_set_on_a_later_sign_in(cast, oidc):
    sign_in_with_oidc(Client(), oidc, **{**GINA, "manager_email": "hank@example.com"})
    gina = User.objects.get(email="gina@example.com")
    assert gina.manager is None

    hank = User.objects.create_user(email="hank@example.com", full_name="Hank Lead")
    sign_in_with_oidc(Client(), oidc, **{**GINA, "manager_email": "hank@example.com"})

    gina.refresh_from_db()
    assert gina.manager == hank
    (moved,) = events("person.moved", gina)
    assert (moved.before["manager"], moved.after["manager"]) == (None, hank.pk)


def test_a_known_person_is_linked_by_email_and_moved_by_the_claims(cast, oidc, client):
    claims = {
        "sub": "00u-alice",
        "email": "Alice@Example.com",
        "email_verified": True,
        "name": "Alice Engineer",
        "title": "Senior Engineer",
        "department": "Platform",
        "manager_email": "carol@example.com",
    }

    sign_in_with_oidc(client, oidc, **claims)

    alice = User.objects.get(pk=cast.alice.pk)
    assert signed_in_as(client) == alice
    assert (alice.title, alice.department, alice.manager) == ("Senior Engineer", "Platform", cast.carol)
    (moved,) = events("person.moved", alice)
    assert moved.before == {
        "full_name": "Alice Engineer",
        "title": "Engineer",
        "department": "Engineering",
        "manager": cast.bob.pk,
    }
    assert moved.after["manager"] == cast.carol.pk
    assert events("person.sso_linked", alice)[0].after == {"provider": "idp", "uid": "00u-alice"}
    # Linking by email keeps the password the person was given (people are provisioned, not self-registered).
    assert alice.check_password(PASSWORD)


def test_every_later_sign_in_updates_a_mover(cast, oidc):
    alice_claims = {"sub": "00u-alice", "email": "alice@example.com", "title": "Engineer", "department": "Engineering"}
    sign_in_with_oidc(Client(), oidc, **alice_claims)

    sign_in_with_oidc(
        Client(), oidc, **{**alice_claims, "title": "Staff Engineer", "manager_email": "dave@example.com"}
    )

    alice = User.objects.get(pk=cast.alice.pk)
    assert (alice.title, alice.manager) == ("Staff Engineer", cast.dave)
    assert SocialAccount.objects.filter(user=alice).count() == 1
    assert [event.after["title"] for event in events("person.moved", alice)] == ["Staff Engineer"]


def test_claims_the_idp_does_not_send_leave_the_fields_as_they_are(cast, oidc, client):
    sign_in_with_oidc(client, oidc, sub="00u-alice", email="alice@example.com")

    alice = User.objects.get(pk=cast.alice.pk)
    assert (alice.title, alice.department, alice.manager) == ("Engineer", "Engineering", cast.bob)
    assert events("person.moved", alice) == []
    assert signed_in_as(client) == alice


def test_claims_longer_than_the_fields_are_cut_to_fit(cast, oidc, client):
    sign_in_with_oidc(client, oidc, **{**GINA, "title": "Principal " * 30})

    assert User.objects.get(email="gina@example.com").title == ("Principal " * 30)[:150]


def test_nobody_becomes_their_own_manager(cast, oidc):
    sign_in_with_oidc(Client(), oidc, **{**GINA, "manager_email": "GINA@example.com"})

    assert User.objects.get(email="gina@example.com").manager is None


@pytest.mark.parametrize("how", ["leaver", "deactivated"])
def test_a_leaver_or_deactivated_person_cannot_sign_in(cast, oidc, client, how):
    frank = User.objects.get(email="frank@example.com")
    if how == "leaver":
        mark_leaver(person=frank, actor=cast.erin)
    else:
        User.objects.filter(pk=frank.pk).update(is_active=False)

    response = sign_in_with_oidc(
        client, oidc, sub="00u-frank", email="frank@example.com", title="Controller", manager_email="bob@example.com"
    )

    assert response.status_code == 403
    assert "has left or been deactivated" in response.content.decode()
    assert signed_in_as(client) is None
    frank.refresh_from_db()
    assert (frank.title, frank.manager) == ("", cast.dave)
    assert not SocialAccount.objects.filter(user=frank).exists()


def test_an_email_the_idp_says_is_unverified_is_refused(cast, oidc, client):
    response = sign_in_with_oidc(client, oidc, **{**GINA, "email_verified": False})

    assert response.status_code == 403
    assert "is not verified" in response.content.decode()
    assert not User.objects.filter(email="gina@example.com").exists()


def test_an_unverified_email_cannot_take_over_a_known_person(cast, oidc, client):
    response = sign_in_with_oidc(client, oidc, sub="00u-mallory", email="erin@example.com", email_verified="false")

    assert response.status_code == 403
    assert signed_in_as(client) is None
    assert not SocialAccount.objects.exists()


def test_a_sign_in_without_an_email_is_refused(cast, oidc, client):
    people = User.objects.count()

    response = sign_in_with_oidc(client, oidc, sub="00u-nomail", name="No Mail")

    assert response.status_code == 403
    assert "did not send an email address" in response.content.decode()
    assert User.objects.count() == people


def test_user_info_about_someone_else_than_the_id_token_is_refused(cast, oidc, client):
    oidc.userinfo_overrides = {"sub": "00u-someone-else"}

    response = sign_in_with_oidc(client, oidc, **GINA)

    assert response.status_code == 403
    assert not User.objects.filter(email="gina@example.com").exists()


def test_an_address_someone_added_to_their_own_account_does_not_sign_in_as_them(cast, oidc, client):
    EmailAddress.objects.create(user=cast.alice, email="gina@example.com", verified=False, primary=False)

    response = sign_in_with_oidc(client, oidc, **GINA)

    assert response.status_code == 403
    assert "is recorded on another person" in response.content.decode()
    assert signed_in_as(client) is None
    assert not User.objects.filter(email="gina@example.com").exists()


def test_connecting_an_identity_to_the_signed_in_person_is_refused(cast, oidc, client):
    client.force_login(cast.alice)
    oidc.sign_in_as(**GINA)

    started = client.post(reverse("openid_connect_login", kwargs={"provider_id": "idp"}), {"process": "connect"})
    back = urlsplit(http.get(started["Location"], allow_redirects=False, timeout=10).headers["Location"])
    response = client.get(f"{back.path}?{back.query}")

    assert response.status_code == 403
    assert not SocialAccount.objects.exists()


def test_an_identity_provider_added_in_the_admin_is_ignored(cast, oidc, client):
    SocialApp.objects.create(
        provider="openid_connect",
        provider_id="rogue",
        name="Rogue",
        client_id="portal",
        secret="x",
        settings={"server_url": oidc.url},
    )

    assert client.post(reverse("openid_connect_login", kwargs={"provider_id": "rogue"})).status_code == 404
    assert "Rogue" not in client.get(reverse("account_login")).content.decode()


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PORTAL_OIDC_SERVER_URL": "https://idp.example.com"}, "OpenID Connect needs PORTAL_OIDC_CLIENT_ID"),
        (
            {
                "PORTAL_OIDC_SERVER_URL": "http://idp.example.com",
                "PORTAL_OIDC_CLIENT_ID": "portal",
                "PORTAL_OIDC_CLIENT_SECRET": "s",
            },
            "PORTAL_OIDC_SERVER_URL must be an https:// URL",
        ),
        (
            {
                "PORTAL_OIDC_SERVER_URL": "https://idp.example.com",
                "PORTAL_OIDC_CLIENT_ID": "portal",
                "PORTAL_OIDC_CLIENT_SECRET": "s",
                "PORTAL_OIDC_SCOPES": "profile,email",
            },
            "PORTAL_OIDC_SCOPES must include openid",
        ),
    ],
)
def test_a_malformed_oidc_configuration_names_the_variable(monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ImproperlyConfigured) as refused:
        sso_settings.oidc_app()

    assert str(refused.value).startswith(message)


def test_a_new_decider_signed_in_by_sso_sets_up_an_authenticator_without_a_password(cast, oidc, client, settings):
    """Gina has no portal password and no app yet: her fresh SSO sign-in is what lets her add one."""
    from allauth.mfa.models import Authenticator

    from tests.accounts.test_mfa import code_for

    sign_in_with_oidc(client, oidc, **GINA)
    gina = User.objects.get(email="gina@example.com")
    cast.alice.manager = gina  # now she decides on Alice's requests
    cast.alice.save()
    client.logout()
    sign_in_with_oidc(client, oidc, **GINA)

    assert client.get("/").url == reverse("mfa_index")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200, "not sent to a re-authentication she has no way to pass"
    secret = page.context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})

    assert Authenticator.objects.filter(user=gina, type=Authenticator.Type.TOTP).exists()
    assert client.get("/").status_code == 200


def test_a_stale_sso_sign_in_does_not_let_anyone_add_an_authenticator(cast, oidc, client, settings):
    sign_in_with_oidc(client, oidc, **GINA)
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 0

    response = client.get(reverse("mfa_activate_totp"))

    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
