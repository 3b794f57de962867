"""Sign-ins, failed sign-ins, sign-outs and second-factor changes are in the hash-chained audit trail.

Each through the real pages (allauth's sign-in, its two-factor pages, the OIDC provider served on
127.0.0.1), from an address of this run's own; the trail is verified at the end of each test.
"""

import json

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.services import mark_leaver
from audit.models import AuditEvent
from audit.verification import verify_chain
from tests.accounts.identity_providers import LocalOidcProvider, configure_oidc, sign_in_with_oidc
from tests.accounts.test_mfa import code_for, sign_in
from tests.conftest import PASSWORD, own_address, totp_code

WRONG_PASSWORD = "not-the-password-at-all-42"


@pytest.fixture
def client(db):
    cache.clear()
    return Client(REMOTE_ADDR=own_address())


@pytest.fixture
def oidc(settings, monkeypatch):
    with LocalOidcProvider() as idp:
        configure_oidc(settings, monkeypatch, idp)
        yield idp


@pytest.fixture(autouse=True)
def _the_trail_still_verifies(db):
    yield
    assert verify_chain().intact


def auth_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__regex=r"^(auth|mfa)\.").order_by("seq"))


def only(action: str) -> AuditEvent:
    (event,) = [event for event in auth_events() if event.action == action]
    return event


def test_a_password_sign_in_is_recorded_with_its_method_and_address(client, cast):
    sign_in(client, cast.alice)

    event = only("auth.signed_in")
    assert (event.actor, event.object_type, event.object_id) == (cast.alice, "accounts.user", str(cast.alice.pk))
    assert event.after == {"method": "password", "second_factor": None}
    assert event.ip == own_address()


def test_a_sign_in_with_password_and_authenticator_app_names_the_second_factor(client, cast):
    sign_in(client, cast.bob)
    assert not [event for event in auth_events() if event.action == "auth.signed_in"], "not signed in before the code"

    client.post(reverse("mfa_authenticate"), {"code": totp_code(cast.bob)})

    assert only("auth.signed_in").after == {"method": "password", "second_factor": "totp"}


def test_a_recovery_code_sign_in_is_recorded_and_so_is_the_code_used(client, cast):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(cast.carol).generate_codes()
    sign_in(client, cast.carol)

    client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    used = only("mfa.recovery_code_used")
    assert (used.actor, used.after["reauthentication"]) == (cast.carol, False)
    assert only("auth.signed_in").after == {"method": "password", "second_factor": "recovery_codes"}
    assert codes[0] not in json.dumps(used.after)


def test_a_wrong_password_is_recorded_with_the_identifier_and_never_the_password(client, cast):
    client.post(reverse("account_login"), {"login": cast.alice.email, "password": WRONG_PASSWORD})

    event = only("auth.sign_in_failed")
    assert (event.actor, event.actor_label) == (None, "anonymous")
    assert (event.object_type, event.object_id) == ("accounts.user", str(cast.alice.pk)), "in Alice's history"
    assert event.after == {"identifier": cast.alice.email, "stage": "password"}
    assert event.ip == own_address()
    stored = json.dumps([event.before, event.after, event.actor_label, event.object_id])
    assert WRONG_PASSWORD not in stored and "****" not in stored


def test_a_failed_sign_in_for_an_unknown_email_is_recorded(client, cast):
    client.post(reverse("account_login"), {"login": "Mallory@Example.com", "password": WRONG_PASSWORD})

    event = only("auth.sign_in_failed")
    assert (event.object_type, event.object_id) == ("accounts.sign_in_identifier", "mallory@example.com")
    assert event.after == {"identifier": "mallory@example.com", "stage": "password"}
    assert WRONG_PASSWORD not in json.dumps(event.after)


def test_a_wrong_authenticator_code_is_a_failed_sign_in(client, cast):
    sign_in(client, cast.bob)

    client.post(reverse("mfa_authenticate"), {"code": "000000"})

    event = only("auth.sign_in_failed")
    assert event.object_id == str(cast.bob.pk)
    assert event.after == {
        "identifier": cast.bob.email,
        "stage": "second_factor",
        "second_factor": "totp",
        "reauthentication": False,
    }
    assert "000000" not in json.dumps(event.after)


def test_signing_out_is_recorded(client, cast):
    sign_in(client, cast.alice)

    client.post(reverse("account_logout"))

    event = only("auth.signed_out")
    assert (event.actor, event.object_id) == (cast.alice, str(cast.alice.pk))


def test_adding_resetting_and_removing_second_factors_is_recorded_without_secrets(
    client, cast, without_app, django_capture_on_commit_callbacks
):
    sign_in(client, without_app(cast.bob))
    client.post(client.get(reverse("mfa_activate_totp")).url, {"password": PASSWORD})  # re-authenticate first
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    # allauth announces additions and resets once its transaction commits (the test's own never does).
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_generate_recovery_codes"))
    client.post(reverse("mfa_deactivate_totp"))

    changes = [(event.action, event.after["type"]) for event in auth_events() if event.action.startswith("mfa.")]
    assert changes == [
        ("mfa.authenticator_added", "totp"),
        ("mfa.authenticator_added", "recovery_codes"),
        ("mfa.authenticator_reset", "recovery_codes"),
        ("mfa.authenticator_removed", "totp"),
        ("mfa.authenticator_removed", "recovery_codes"),  # they back up an app that is gone
    ]
    assert not Authenticator.objects.filter(user=cast.bob).exists()
    for event in auth_events():
        assert event.actor == cast.bob
        assert secret not in json.dumps(event.after)


@pytest.fixture
def without_app(cast):
    def take_away(person):
        Authenticator.objects.filter(user=person).delete()
        return person

    return take_away


def test_a_single_sign_on_sign_in_names_the_provider(client, cast, oidc):
    sign_in_with_oidc(client, oidc, sub="00u-alice", email=cast.alice.email, email_verified=True)

    event = only("auth.signed_in")
    assert event.actor == cast.alice
    assert event.after == {"method": "sso", "provider": "idp", "second_factor": None}


def test_a_refused_single_sign_on_is_a_failed_sign_in(client, cast, oidc):
    mark_leaver(person=cast.alice, actor=cast.erin)

    sign_in_with_oidc(client, oidc, sub="00u-alice", email=cast.alice.email, email_verified=True)

    assert not [event for event in auth_events() if event.action == "auth.signed_in"]
    event = only("auth.sign_in_failed")
    assert event.object_id == str(cast.alice.pk)
    assert (event.after["stage"], event.after["provider"]) == ("sso", "idp")
    assert "has left" in event.after["reason"]


def test_the_test_clients_force_login_is_no_sign_in_and_still_passes_the_second_factor(client_for, cast):
    """The suite's stand-in for a full sign-in writes nothing to the trail, and still counts as a fresh code."""
    from accounts.step_up_proof import has_fresh_second_factor

    browser = client_for(cast.bob)
    response = browser.get(reverse("access:inbox"))

    assert response.status_code == 200
    assert has_fresh_second_factor(response.wsgi_request)
    assert auth_events() == []
