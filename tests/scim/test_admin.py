"""Governance admins issue an identity provider's SCIM token in the admin (shown once); nobody else sees it."""

import re

from django.contrib.messages import get_messages
from django.urls import reverse

from audit.models import AuditEvent
from scim.models import IdentityProvider
from scim.tokens import digest


def test_erin_issues_a_new_token_shown_once_and_the_old_one_stops(client_for, okta, cast):
    client = client_for(cast.erin)
    changelist = reverse("admin:scim_identityprovider_changelist")
    assert client.get(changelist).status_code == 200

    response = client.post(
        changelist, {"action": "issue_new_token", "_selected_action": [okta.provider.pk]}, follow=True
    )

    (message,) = [str(m) for m in get_messages(response.wsgi_request) if "New SCIM token" in str(m)]
    token = re.search(r"scim_[A-Za-z0-9_-]+", message).group(0)
    assert IdentityProvider.objects.get(pk=okta.provider.pk).token_digest == digest(token)
    assert okta.get("Users", token=token).status_code == 200
    assert okta.get("Users").status_code == 401, "the old token stops working"
    assert AuditEvent.objects.filter(action="scim.token_issued", actor=cast.erin).exists()
    assert token not in client.get(changelist).content.decode(), "shown once, never again"


def test_people_who_are_not_governance_admins_cannot_reach_tokens(client_for, okta, cast, django_user_model):
    staff = django_user_model.objects.create_user(
        email="sam@example.com", password=None, full_name="Sam Staff", is_staff=True
    )
    for person in (staff, cast.frank):
        person.is_staff = True
        person.save(update_fields=["is_staff"])
        client = client_for(person)
        response = client.post(
            reverse("admin:scim_identityprovider_changelist"),
            {"action": "issue_new_token", "_selected_action": [okta.provider.pk]},
        )
        assert response.status_code in (302, 403)
        assert okta.get("Users").status_code == 200, "the token was not replaced"


def test_erin_adds_an_identity_provider_and_sees_its_token_once(client_for, cast):
    client = client_for(cast.erin)
    response = client.post(reverse("admin:scim_identityprovider_add"), {"name": "Entra"}, follow=True)

    assert response.status_code == 200
    (message,) = [str(m) for m in get_messages(response.wsgi_request) if "New SCIM token" in str(m)]
    token = re.search(r"scim_[A-Za-z0-9_-]+", message).group(0)
    provider = IdentityProvider.objects.get(name="Entra")
    assert provider.token_digest == digest(token)
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert AuditEvent.objects.filter(action="scim.token_issued", actor=cast.erin, object_id=str(provider.pk)).exists()
