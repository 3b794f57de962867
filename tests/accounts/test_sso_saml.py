"""Single sign-on with SAML, against an identity provider the test runs: it reads the portal's
AuthnRequest, answers with a Response whose assertion it signs (xmlsec), and the browser POSTs it to
the portal's ACS URL. Gina is new to the portal; the rest are the cast."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from portal import sso_settings
from tests.accounts.identity_providers import (
    SAML_HOST,
    LocalMetadataServer,
    LocalSamlIdp,
    configure_saml,
    post_to_acs,
    self_signed_certificate,
    start_saml_sign_in,
)

GINA = {
    "email": "gina@example.com",
    "name": "Gina Newhire",
    "title": "Site Reliability Engineer",
    "department": "Engineering",
    "manager_email": "bob@example.com",
}


@pytest.fixture
def idp():
    return LocalSamlIdp()


@pytest.fixture
def saml(settings, monkeypatch, idp):
    configure_saml(settings, monkeypatch, idp)
    return idp


@pytest.fixture
def browser():
    return Client(HTTP_HOST=SAML_HOST)


def signed_in_as(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_first_sign_in_creates_the_person_from_the_attributes(cast, saml, browser):
    request = start_saml_sign_in(browser, saml)

    response = post_to_acs(browser, request, saml.response(request, name_id="gina@example.com", attributes=GINA))

    assert response.status_code == 302 and response["Location"] == reverse("home")
    gina = User.objects.get(email="gina@example.com")
    assert signed_in_as(browser) == gina
    assert (gina.full_name, gina.title, gina.department, gina.manager) == (
        "Gina Newhire",
        "Site Reliability Engineer",
        "Engineering",
        cast.bob,
    )
    # No subject-id attribute: the NameID identifies her at this IdP.
    assert SocialAccount.objects.get(user=gina).uid == "gina@example.com"
    assert AuditEvent.objects.get(action="person.joined", object_id=str(gina.pk)).actor_label == "system:sso:saml"


def sign_in(client: Client, idp: LocalSamlIdp, **attributes):
    request = start_saml_sign_in(client, idp)
    return post_to_acs(client, request, idp.response(request, name_id=attributes["email"], attributes=attributes))


def test_a_known_person_is_linked_by_email_and_every_sign_in_updates_a_mover(cast, saml):
    first, later = Client(HTTP_HOST=SAML_HOST), Client(HTTP_HOST=SAML_HOST)
    sign_in(first, saml, email="alice@example.com", title="Senior Engineer")

    sign_in(later, saml, email="alice@example.com", title="Principal Engineer", manager_email="carol@example.com")

    alice = User.objects.get(pk=cast.alice.pk)
    assert signed_in_as(first) == signed_in_as(later) == alice
    assert (alice.title, alice.manager) == ("Principal Engineer", cast.carol)
    moves = AuditEvent.objects.filter(action="person.moved", object_id=str(alice.pk)).order_by("seq")
    assert [move.after["title"] for move in moves] == ["Senior Engineer", "Principal Engineer"]
    assert SocialAccount.objects.get(user=alice).provider == "saml"


def test_the_service_provider_metadata_names_the_acs_url(db, saml, browser):
    metadata = browser.get(reverse("saml_metadata", kwargs={"organization_slug": "idp"}))

    assert metadata.status_code == 200
    assert f"http://{SAML_HOST}/accounts/saml/idp/acs/" in metadata.content.decode()


@pytest.mark.parametrize("signature", ["unsigned", "another key"])
def test_an_unsigned_or_wrongly_signed_response_is_refused_and_creates_nobody(cast, saml, browser, signature):
    request = start_saml_sign_in(browser, saml)
    signed_by = None if signature == "unsigned" else self_signed_certificate("idp.example.com")

    response = post_to_acs(
        browser, request, saml.response(request, name_id="gina@example.com", attributes=GINA, signed_by=signed_by)
    )

    assert response.status_code == 403
    assert signed_in_as(browser) is None
    assert not User.objects.filter(email="gina@example.com").exists()
    assert not SocialAccount.objects.exists()


def test_a_response_changed_after_signing_is_refused(cast, saml, browser):
    request = start_saml_sign_in(browser, saml)
    forged = saml.response(
        request,
        name_id="alice@example.com",
        attributes={"email": "alice@example.com", "title": "Engineer"},
        tamper={"Engineer": "Chief Executive"},
    )

    response = post_to_acs(browser, request, forged)

    assert response.status_code == 403
    assert signed_in_as(browser) is None
    assert User.objects.get(pk=cast.alice.pk).title == "Engineer"


def test_a_response_to_a_sign_in_this_browser_did_not_start_is_refused(cast, saml, browser):
    request = start_saml_sign_in(browser, saml)
    answer = saml.response(request, name_id="gina@example.com", attributes=GINA)
    stranger = Client(HTTP_HOST=SAML_HOST)

    response = post_to_acs(stranger, request, answer)

    assert response.status_code == 403
    assert signed_in_as(stranger) is None
    assert not User.objects.filter(email="gina@example.com").exists()


def test_a_response_cannot_be_replayed(cast, saml, browser):
    request = start_saml_sign_in(browser, saml)
    answer = saml.response(request, name_id="gina@example.com", attributes=GINA)
    post_to_acs(browser, request, answer)
    browser.post(reverse("account_logout"))

    replayed = post_to_acs(browser, request, answer)

    assert replayed.status_code == 403
    assert signed_in_as(browser) is None


def test_the_idp_can_be_configured_by_its_metadata_url(cast, settings, monkeypatch, idp, browser):
    with LocalMetadataServer(idp.metadata()) as server:
        configure_saml(
            settings,
            monkeypatch,
            idp,
            PORTAL_SAML_IDP_METADATA_URL=server.metadata_url,
            PORTAL_SAML_IDP_SSO_URL="",
            PORTAL_SAML_IDP_X509_CERT="",
        )
        request = start_saml_sign_in(browser, idp)

        response = post_to_acs(browser, request, idp.response(request, name_id="gina@example.com", attributes=GINA))

    assert response.status_code == 302
    assert signed_in_as(browser) == User.objects.get(email="gina@example.com")


def test_the_certificate_may_be_given_as_its_base64_body(cast, settings, monkeypatch, idp, browser):
    body = "".join(line for line in idp.certificate_pem.splitlines() if "CERTIFICATE" not in line)
    configure_saml(settings, monkeypatch, idp, PORTAL_SAML_IDP_X509_CERT=body)
    request = start_saml_sign_in(browser, idp)

    post_to_acs(browser, request, idp.response(request, name_id="gina@example.com", attributes=GINA))

    assert signed_in_as(browser) == User.objects.get(email="gina@example.com")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PORTAL_SAML_IDP_SSO_URL": "https://idp.example.com/sso"}, "SAML needs PORTAL_SAML_IDP_ENTITY_ID"),
        (
            {
                "PORTAL_SAML_IDP_ENTITY_ID": "https://idp.example.com",
                "PORTAL_SAML_IDP_SSO_URL": "https://idp.example.com/sso",
            },
            "SAML needs PORTAL_SAML_IDP_METADATA_URL, or PORTAL_SAML_IDP_SSO_URL and PORTAL_SAML_IDP_X509_CERT",
        ),
        (
            {
                "PORTAL_SAML_IDP_ENTITY_ID": "https://idp.example.com",
                "PORTAL_SAML_IDP_SSO_URL": "https://idp.example.com/sso",
                "PORTAL_SAML_IDP_X509_CERT": "not a certificate",
            },
            "PORTAL_SAML_IDP_X509_CERT is not an X.509 certificate",
        ),
        (
            {
                "PORTAL_SAML_IDP_ENTITY_ID": "x",
                "PORTAL_SAML_IDP_METADATA_URL": "https://idp.example.com/m",
                "PORTAL_SAML_ORGANIZATION": "Big Corp",
            },
            "PORTAL_SAML_ORGANIZATION must be lower-case letters",
        ),
    ],
)
def test_a_malformed_saml_configuration_names_the_variable(monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ImproperlyConfigured) as refused:
        sso_settings.saml_app()

    assert str(refused.value).startswith(message)
