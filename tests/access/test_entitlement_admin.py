"""The Django admin's entitlement page is for break-glass only: an existing entitlement's terms change through
the catalog console's service (access.services.entitlements.change_entitlement), with its checks and its one
audit event; its refusals come back as admin messages. Erin is the governance admin; Carol owns Developers.
"""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.urls import reverse

from access.services.entitlements import CHANGED_ACTION
from audit.models import AuditEvent
from catalog.models import ApprovalPolicy, Entitlement

LEFT = "can no longer sign in"


def terms(entitlement, **changes) -> dict:
    """The admin's change form for `entitlement` as it is, with `changes`: only the terms are editable."""
    data = {
        "owners": [owner.pk for owner in entitlement.owners.all()],
        "risk": entitlement.risk,
        "requestable": "on" if entitlement.requestable else "",
        "max_duration_days": entitlement.max_duration_days or "",
        "approval_policy": entitlement.approval_policy_id or "",
    }
    return data | changes


def change(client, entitlement, **changes):
    url = reverse("admin:catalog_entitlement_change", args=[entitlement.pk])
    return client.post(url, terms(entitlement, **changes), follow=True)


def page_text(response) -> str:
    return response.content.decode()


@pytest.fixture
def automatic(db):
    return ApprovalPolicy.objects.create(name="Automatic", auto_approve=True)


def test_a_change_of_terms_goes_through_the_service_and_is_audited_once(client_for, cast, sandbox):
    developers = sandbox.developers

    response = change(client_for(cast.erin), developers, risk="high", owners=[cast.carol.pk, cast.dave.pk])

    assert response.status_code == 200 and "was changed successfully" in page_text(response)
    developers.refresh_from_db()
    assert developers.risk == "high" and set(developers.owners.all()) == {cast.carol, cast.dave}
    [event] = AuditEvent.objects.filter(object_type="catalog.entitlement")
    assert (event.action, event.actor) == (CHANGED_ACTION, cast.erin)
    assert event.before == {
        "risk": "low",
        "requestable": True,
        "max_duration_days": None,
        "duration_unit": "days",
        "min_duration": 1,
        "max_duration_hours": None,
        "approval_policy": None,
        "owners": [cast.carol.pk],
    }, "the service's snapshot of the terms, not the admin's copy of the whole row"
    assert event.after["owners"] == sorted([cast.carol.pk, cast.dave.pk])


def test_saving_the_terms_unchanged_records_nothing(client_for, cast, sandbox):
    change(client_for(cast.erin), sandbox.developers)

    assert not AuditEvent.objects.filter(object_type="catalog.entitlement").exists()


def test_what_identifies_the_entitlement_in_aws_cannot_be_changed_here(client_for, cast, sandbox):
    developers = sandbox.developers

    change(client_for(cast.erin), developers, aws_name="Admins", name="Renamed", kind="iam_role")

    developers.refresh_from_db()
    assert (developers.aws_name, developers.name, developers.kind) == ("Developers", "Developers", "iam_group")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"risk": "high", "approval_policy": "automatic"}, "approves automatically, which applies to low-risk"),
        ({"max_duration_days": "5000"}, "The maximum duration is between 1 and"),
    ],
    ids=["an automatic policy for a high risk", "a duration past the portal's bound"],
)
def test_the_services_refusal_is_an_admin_message_and_changes_nothing(
    client_for, cast, sandbox, automatic, changes, words
):
    """The model form lets both through (any policy, any positive number fits the column); the service
    refuses them, as on Governance → Entitlements."""
    if changes.get("approval_policy") == "automatic":
        changes = changes | {"approval_policy": automatic.pk}

    response = change(client_for(cast.erin), sandbox.developers, **changes)

    assert response.status_code == 200
    text = page_text(response)
    assert "Nothing was changed:" in text and words in text
    assert "was changed successfully" not in text
    developers = Entitlement.objects.get(pk=sandbox.developers.pk)
    assert (developers.risk, developers.max_duration_days, developers.approval_policy) == ("low", None, None)
    assert not AuditEvent.objects.filter(action=CHANGED_ACTION).exists()


def test_a_leaver_cannot_be_made_an_owner_in_the_admin(client_for, cast, sandbox, django_user_model):
    gone = django_user_model.objects.create_user(
        email="gone@example.com", full_name="Gone Owner", employment_status="leaver"
    )

    response = change(client_for(cast.erin), sandbox.developers, owners=[gone.pk])

    assert f"Gone Owner {LEFT}" in page_text(response)
    assert list(sandbox.developers.owners.all()) == [cast.carol]


@pytest.fixture
def helpdesk(django_user_model):
    """Staff with every catalog permission Django knows of, but not a governance admin."""
    hugo = django_user_model.objects.create_user(email="hugo@example.com", full_name="Hugo Helpdesk", is_staff=True)
    hugo.user_permissions.add(*Permission.objects.filter(content_type__app_label="catalog"))
    TOTP.activate(hugo, generate_totp_secret())
    return hugo


def test_staff_who_are_not_governance_admins_may_look_but_not_change(client_for, sandbox, helpdesk):
    client = client_for(helpdesk)
    url = reverse("admin:catalog_entitlement_change", args=[sandbox.developers.pk])

    looking = client.get(url)
    changing = client.post(url, terms(sandbox.developers, risk="high"))
    adding = client.get(reverse("admin:catalog_entitlement_add"))

    assert looking.status_code == 200 and 'name="risk"' not in page_text(looking)
    assert (changing.status_code, adding.status_code) == (403, 403)
    sandbox.developers.refresh_from_db()
    assert sandbox.developers.risk == "low" and not AuditEvent.objects.exists()


def new_entitlement(sandbox, **changes) -> dict:
    data = {
        "account": sandbox.account.pk,
        "kind": "iam_group",
        "aws_name": "Auditors",
        "name": "Auditors",
        "description": "",
        "risk": "low",
        "requestable": "on",
        "max_duration_days": "",
        "approval_policy": "",
    }
    return data | changes


def test_adding_an_entitlement_meets_the_same_checks_and_is_audited_once(client_for, cast, sandbox, django_user_model):
    client = client_for(cast.erin)
    gone = django_user_model.objects.create_user(email="gone@example.com", full_name="Gone Owner", is_active=False)
    add = reverse("admin:catalog_entitlement_add")

    refused = client.post(add, new_entitlement(sandbox, owners=[gone.pk]))
    created = client.post(add, new_entitlement(sandbox, owners=[cast.carol.pk]))

    assert refused.status_code == 200 and f"Gone Owner {LEFT}" in page_text(refused)
    assert created.status_code == 302
    auditors = Entitlement.objects.get(aws_name="Auditors")
    [event] = AuditEvent.objects.filter(object_type="catalog.entitlement")
    assert (event.action, event.object_id, event.after["owners"]) == (
        "catalog.entitlement_created",
        str(auditors.pk),
        [cast.carol.pk],
    )
