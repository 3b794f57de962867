"""API tokens over their life: hashed at rest, listed and revoked by their owner alone, created in the
browser (the way for security-key holders), audited, and gone when their holder leaves or loses a role.
"""

import hashlib

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from knox.models import AuthToken as KnoxDefaultToken
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import mark_leaver
from audit.models import AuditEvent
from tests.conftest import api_token

TOKENS_PAGE = reverse("accounts:api_tokens")
CREATE = reverse("accounts:api_token_create")


def revoke_url(token_id):
    return reverse("accounts:api_token_revoke", args=[token_id])


def works(token: str) -> bool:
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return script.get("/api/grants/").status_code == 200


def security_key_only(person):
    Authenticator.objects.filter(user=person).delete()
    return Authenticator.objects.create(
        user=person, type=Authenticator.Type.WEBAUTHN, data={"name": "YubiKey", "credential": {}}
    )


def signed_in_with_security_key(client, person, key):
    """Stands for a sign-in that passed the security key (as conftest's stand-in does for app codes)."""
    client.force_login(person)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, person, "mfa", id=key.pk, type=key.type)
    request.session.save()
    return client


# --- at rest and in the audit trail -------------------------------------------------------------


def test_tokens_are_hashed_at_rest(cast):
    token = api_token(cast.alice)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 (a model's own table name)
        stored = repr(cursor.fetchall())

    assert token not in stored
    assert ApiToken.objects.get().digest == hashlib.sha512(token.encode()).hexdigest()


def test_issue_and_revoke_are_audited_by_device_name_never_by_key(cast, client_for):
    token = api_token(cast.alice, name="ci-deploy")
    row = ApiToken.objects.get()

    client_for(cast.alice).post(revoke_url(row.pk))

    issued = AuditEvent.objects.get(action="token.issued")
    revoked = AuditEvent.objects.get(action="token.revoked")
    assert (issued.actor_id, issued.object_id, issued.after["name"]) == (cast.alice.pk, str(row.pk), "ci-deploy")
    assert (revoked.actor_id, revoked.object_id, revoked.before["name"]) == (cast.alice.pk, str(row.pk), "ci-deploy")
    trail = repr(list(AuditEvent.objects.values()))
    assert token not in trail and row.digest not in trail


# --- the owner's page ---------------------------------------------------------------------------


def test_the_page_lists_only_ones_own_tokens(cast, client_for):
    api_token(cast.alice, name="alices-laptop")
    api_token(cast.bob, name="bobs-laptop")

    page = client_for(cast.alice).get(TOKENS_PAGE).content.decode()

    assert "alices-laptop" in page and "bobs-laptop" not in page
    assert 'aria-label="Revoke the token for alices-laptop"' in page


def test_the_users_menu_links_to_the_page(cast, client_for):
    assert f'href="{TOKENS_PAGE}"' in client_for(cast.alice).get(reverse("home")).content.decode()


def test_a_token_created_in_the_browser_is_shown_once(cast, client_for):
    client = client_for(cast.alice)

    created = client.post(CREATE, {"name": "laptop"})

    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    shown = created.context["key"]
    assert works(shown) and shown in created.content.decode()
    assert shown not in client.get(TOKENS_PAGE).content.decode()
    assert ApiToken.objects.get(user=cast.alice).name == "laptop"


def test_a_nameless_token_is_refused_and_nothing_is_made(cast, client_for):
    response = client_for(cast.alice).post(CREATE, {"name": "   "})

    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_a_security_key_only_decider_creates_a_token_in_the_browser(cast, client):
    """Dave decides on access and signs in with a security key only: the API's password sign-in cannot
    check it, so he makes his script's token here, after passing his key."""
    key = security_key_only(cast.dave)
    client = signed_in_with_security_key(client, cast.dave, key)

    created = client.post(CREATE, {"name": "dave-ci"})

    assert created.status_code == 201
    assert ApiToken.objects.get(user=cast.dave).second_factor
    assert works(created.context["key"]), "his token decides: it was issued with his second factor"


def test_creating_a_token_asks_for_a_fresh_second_factor_first(cast, client):
    security_key_only(cast.dave)
    client.force_login(cast.dave)  # no proof of the key in this session

    response = client.post(CREATE, {"name": "dave-ci"})

    assert response.status_code == 302 and response.url.startswith(reverse("mfa_reauthenticate_webauthn"))
    assert not ApiToken.objects.exists()


def test_the_owner_revokes_their_token(cast, client_for):
    token = api_token(cast.alice)

    response = client_for(cast.alice).post(revoke_url(ApiToken.objects.get().pk))

    assert response.status_code == 302 and response.url == TOKENS_PAGE
    assert not works(token) and not ApiToken.objects.exists()


def test_another_persons_token_id_is_not_found(cast, client_for):
    bobs = api_token(cast.bob)

    response = client_for(cast.alice).post(revoke_url(ApiToken.objects.get(user=cast.bob).pk))

    assert response.status_code == 404
    assert works(bobs) and not AuditEvent.objects.filter(action="token.revoked").exists()


# --- leavers and lost roles ---------------------------------------------------------------------


def test_leaver_tokens_are_revoked_and_stay_gone_after_reactivation(cast):
    token = api_token(cast.alice)

    mark_leaver(person=cast.alice, actor=cast.erin)

    assert not ApiToken.objects.exists()
    revoked = AuditEvent.objects.get(action="token.revoked")
    assert (revoked.actor_id, revoked.after) == (cast.erin.pk, {"reason": "left"})
    cast.alice.refresh_from_db()
    cast.alice.is_active = True
    cast.alice.save()
    assert not works(token)


def test_deactivating_someone_in_the_admin_revokes_their_tokens(cast, client_for):
    token = api_token(cast.alice)
    form = (
        client_for(cast.erin).get(reverse("admin:accounts_user_change", args=[cast.alice.pk])).context["adminform"].form
    )
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"is_active": "", "manager": cast.bob.pk})

    response = client_for(cast.erin).post(reverse("admin:accounts_user_change", args=[cast.alice.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert not ApiToken.objects.exists()
    cast.alice.refresh_from_db()
    cast.alice.is_active = True
    cast.alice.save()
    assert not works(token)


def test_an_auditor_who_is_no_longer_one_loses_their_tokens(cast):
    api_token(cast.frank)

    cast.frank.is_auditor = False
    cast.frank.save()

    assert not ApiToken.objects.filter(user=cast.frank).exists()
    assert AuditEvent.objects.get(action="token.revoked").after == {"reason": "lost is_auditor"}


def test_a_governance_admin_who_is_no_longer_one_loses_their_tokens(cast):
    api_token(cast.erin)
    cast.carol.is_superuser = True  # the portal keeps a governance admin: Carol takes over first
    cast.carol.save()

    cast.erin.is_superuser = False
    cast.erin.save()

    assert not ApiToken.objects.filter(user=cast.erin).exists()


def test_other_changes_to_a_person_keep_their_tokens(cast):
    token = api_token(cast.alice)

    cast.alice.title = "Senior Engineer"
    cast.alice.save()

    assert works(token)


# --- the admin ----------------------------------------------------------------------------------


def test_drfs_token_admin_is_gone_and_no_admin_mints_tokens(cast, client_for):
    erin = client_for(cast.erin)

    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS
    assert not admin.site.is_registered(ApiToken) and not admin.site.is_registered(KnoxDefaultToken)
    for path in ("/admin/authtoken/token/", "/admin/knox/authtoken/add/", "/admin/accounts/apitoken/add/"):
        assert erin.get(path).status_code == 404, path
