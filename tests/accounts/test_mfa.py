"""A second factor for everyone who decides on access: enrolment is enforced, signing in asks for it.

Bob (a manager), Carol (an owner), Dave and Erin (an admin) have an authenticator app in the cast;
`without_app` takes it away to play someone who has not enrolled yet. Alice decides nothing and
needs none.
"""

import re
import time
from base64 import b64decode

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import mfa
from tests.conftest import PASSWORD, own_address, totp_code, wait_for_a_fresh_period


@pytest.fixture
def without_app(cast):
    """`person` loses their authenticator: a decider who has not set up a second factor yet."""

    def take_away(person):
        Authenticator.objects.filter(user=person).delete()
        return person

    return take_away


@pytest.fixture
def client(db):
    """Sign-ins come from this run's own address, with no failed attempts counted yet."""
    cache.clear()
    return Client(REMOTE_ADDR=own_address())


def sign_in(client, person):
    """The real sign-in form; returns where it sends the browser next."""
    response = client.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return response.url


def code_for(secret: str) -> str:
    """What an authenticator app holding `secret` shows now."""
    wait_for_a_fresh_period()
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def recorded_methods(client) -> list[str]:
    return [record["method"] for record in client.session.get("account_authentication_methods", [])]


# --- who must have one -------------------------------------------------------------------------


def test_a_manager_without_a_second_factor_is_sent_to_set_one_up(client_for, cast, without_app):
    client = client_for(without_app(cast.bob))

    for url in ("/", reverse("access:inbox"), reverse("access:catalog"), reverse("reviews:mine")):
        response = client.get(url)
        assert (response.status_code, response.url) == (302, reverse("mfa_index")), url

    page = client.get(reverse("mfa_index"))
    assert page.status_code == 200
    assert "signing in needs a second factor" in page.content.decode()


@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
def test_owners_other_managers_and_admins_must_enrol_too(client_for, cast, sandbox, without_app, who):
    client = client_for(without_app(getattr(cast, who)))

    assert client.get("/").url == reverse("mfa_index")


def test_an_employee_who_decides_nothing_needs_no_second_factor(client_for, cast):
    assert not Authenticator.objects.filter(user=cast.alice).exists()

    assert client_for(cast.alice).get("/").status_code == 200


def test_staff_need_one_for_the_admin(client_for, django_user_model, db):
    helpdesk = django_user_model.objects.create_user(email="hugo@example.com", full_name="Hugo Helpdesk", is_staff=True)

    response = client_for(helpdesk).get("/admin/")

    assert (response.status_code, response.url) == (302, reverse("mfa_index"))


def test_becoming_an_approver_means_enrolling(client_for, cast, sandbox):
    """Alice needs nothing until someone reports to her; the check is repeated every few minutes."""
    client = client_for(cast.alice)
    assert client.get("/").status_code == 200
    cast.carol.manager = cast.alice
    cast.carol.save()

    assert client.get("/").status_code == 200, "remembered for a few minutes"
    session = client.session
    session[mfa.SESSION_KEY]["at"] = time.time() - mfa.RECHECK_AFTER_SECONDS - 1
    session.save()

    assert client.get("/").url == reverse("mfa_index")


def test_while_enrolling_only_the_second_factor_pages_sign_out_and_health_are_open(client_for, cast, without_app):
    client = client_for(without_app(cast.bob))

    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("mfa_add_webauthn")).url.startswith(reverse("account_reauthenticate"))
    assert client.get(reverse("account_reauthenticate")).status_code == 200
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("account_change_password")).url == reverse("mfa_index")
    assert client.post(reverse("account_logout")).status_code == 302
    assert client.get("/").url.startswith(reverse("account_login"))


def test_the_api_answers_a_session_without_a_second_factor_with_403_and_why(client_for, cast, without_app):
    response = client_for(without_app(cast.bob)).get("/api/approvals/")

    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"
    assert "needs two-factor authentication" in response.json()["detail"]


def test_htmx_is_sent_to_enrol_with_the_whole_page(client_for, cast, without_app):
    response = client_for(without_app(cast.bob)).post(
        reverse("access:approve", args=[1]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 403
    assert response["HX-Redirect"] == reverse("mfa_index")


def test_a_settled_check_costs_no_query_until_it_is_due_again(client_for, cast):
    client = client_for(cast.bob)

    with CaptureQueriesContext(connection) as settled:
        client.get("/")
    session = client.session
    session[mfa.SESSION_KEY]["at"] = time.time() - mfa.RECHECK_AFTER_SECONDS - 1
    session.save()
    with CaptureQueriesContext(connection) as due:
        client.get("/")

    def reads_authenticators(queries):
        return any("mfa_authenticator" in query["sql"] for query in queries)

    assert not reads_authenticators(settled)
    assert reads_authenticators(due)


# --- enrolling ---------------------------------------------------------------------------------


def test_enrolling_an_authenticator_app_opens_the_portal(client, cast, without_app):
    assert sign_in(client, without_app(cast.bob)) == "/"
    assert client.get("/").url == reverse("mfa_index")

    # Adding a second factor first asks for the password again (a stolen session cannot add one).
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    response = client.post(response.url, {"password": PASSWORD})
    assert response.url == reverse("mfa_activate_totp")

    page = client.get(reverse("mfa_activate_totp"))
    html = page.content.decode()
    qr = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="QR code to scan', html)
    assert qr and b"<svg" in b64decode(qr.group(1))
    secret = re.search(r'id="authenticator_secret" value="([A-Z2-7]+)"', html).group(1)
    assert "img-src 'self' data:" in page["Content-Security-Policy"]
    assert '<label class="form-label" for="id_code">Code from the app</label>' in html

    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()
    response = client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})

    assert response.url == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=cast.bob, type=Authenticator.Type.TOTP).exists()
    assert client.get("/").status_code == 200
    codes = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    assert "10 of 10 codes left" in codes


def test_removing_the_only_authenticator_sends_a_decider_back_to_enrol(client_for, cast):
    client = client_for(cast.bob)
    client.get("/")
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.url == reverse("mfa_index")
    assert client.get("/").url == reverse("mfa_index")


# --- signing in --------------------------------------------------------------------------------


def test_signing_in_asks_a_decider_for_a_code_after_the_password(client, cast):
    assert sign_in(client, cast.bob) == reverse("mfa_authenticate")
    assert client.get("/").url.startswith(reverse("account_login")), "not signed in yet"

    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert '<label class="form-label" for="id_code">Authenticator code</label>' in page
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(cast.bob)})

    assert response.url == "/"
    assert client.get("/").context["user"] == cast.bob
    assert recorded_methods(client) == ["password", "mfa"]


def test_a_recovery_code_signs_in_in_place_of_the_app(client_for, client, cast):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(cast.carol).generate_codes()
    sign_in(client, cast.carol)

    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert response.url == "/"
    assert client.get("/").context["user"] == cast.carol


def test_an_employee_signs_in_with_the_password_alone(client, cast):
    assert sign_in(client, cast.alice) == "/"
    assert recorded_methods(client) == ["password"]


# --- the Django admin ------------------------------------------------------------------------


def test_the_admin_signs_in_through_the_portal_login(client, db):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next=%2Fadmin%2F"


def test_the_admin_login_refuses_people_who_are_not_staff(client_for, cast):
    assert client_for(cast.alice).get("/admin/login/").status_code == 403


def test_an_admin_reaches_the_admin_after_password_and_code(client, cast):
    client.post(f"{reverse('account_login')}?next=/admin/", {"login": cast.erin.email, "password": PASSWORD})

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(cast.erin)})

    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- the pages look like the portal ------------------------------------------------------------


def test_the_two_factor_pages_use_the_portal_layout_with_labelled_forms(client_for, cast):
    client = client_for(cast.bob)

    index = client.get(reverse("mfa_index")).content.decode()
    reauthenticate = client.get(reverse("mfa_reauthenticate")).content.decode()
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    add_key = client.get(reverse("mfa_add_webauthn")).content.decode()

    assert 'data-testid="signed-in-as"' in index and "Authenticator app" in index and "Active" in index
    assert '<label class="form-label" for="id_code">Authenticator code</label>' in reauthenticate
    assert "Use your password" not in reauthenticate, "a password would not count as a second factor"
    assert '<label class="form-label" for="id_name">Name</label>' in add_key
    assert '<input class="form-control" type="text" name="name" id="id_name"' in add_key
    # Under the strict CSP only files run: allauth's WebAuthn code, and its JSON data blocks.
    scripts = re.findall(r"<script([^>]*)>", add_key)
    assert any('src="/static/mfa/js/webauthn.js"' in attrs for attrs in scripts)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts), scripts


def test_an_admin_removes_a_lost_authenticator_and_it_is_audited_without_its_secret(client_for, cast):
    from audit.models import AuditEvent

    app = Authenticator.objects.get(user=cast.bob, type=Authenticator.Type.TOTP)
    admin = client_for(cast.erin)

    assert admin.get(reverse("admin:mfa_authenticator_change", args=[app.pk])).status_code == 200
    assert admin.get(reverse("admin:mfa_authenticator_add")).status_code == 403
    admin.post(reverse("admin:mfa_authenticator_delete", args=[app.pk]), {"post": "yes"})

    assert not Authenticator.objects.filter(pk=app.pk).exists()
    event = AuditEvent.objects.get(action="mfa.authenticator_deleted")
    assert event.before["user"] == cast.bob.pk and "data" not in event.before


def test_identity_providers_are_not_configured_in_the_admin(client_for, cast):
    """They come from the environment only: an admin page for them would edit rows nothing reads."""
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        reverse("admin:socialaccount_socialapp_changelist")
    links = client_for(cast.erin).get(reverse("admin:socialaccount_socialaccount_changelist"))
    assert links.status_code == 200 and "Add social account" not in links.content.decode()
