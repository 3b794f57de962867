"""The catalog in the Django admin: owners required, every edit audited."""

from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import ApprovalPolicy, Entitlement


def entitlement_form(sandbox, **changes):
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
    data.update(changes)
    return data


def test_an_entitlement_needs_an_owner(client_for, cast, sandbox):
    response = client_for(cast.erin).post(reverse("admin:catalog_entitlement_add"), entitlement_form(sandbox))

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Entitlement.objects.filter(aws_name="Auditors").exists()


def test_creating_and_changing_an_entitlement_is_audited(client_for, cast, sandbox):
    client = client_for(cast.erin)
    client.post(reverse("admin:catalog_entitlement_add"), entitlement_form(sandbox, owners=[cast.carol.pk]))
    entitlement = Entitlement.objects.get(aws_name="Auditors")

    client.post(
        reverse("admin:catalog_entitlement_change", args=[entitlement.pk]),
        entitlement_form(sandbox, owners=[cast.carol.pk, cast.dave.pk], risk="high"),
    )

    created, changed = AuditEvent.objects.filter(object_type="catalog.entitlement").order_by("seq")
    assert (created.action, created.actor, created.after["owners"]) == (
        "catalog.entitlement_created",
        cast.erin,
        [cast.carol.pk],
    )
    assert changed.action == "catalog.entitlement_changed"
    assert (changed.before["risk"], changed.after["risk"]) == ("low", "high")
    assert changed.after["owners"] == sorted([cast.carol.pk, cast.dave.pk])


def test_approval_policy_with_stages_is_edited_in_the_admin(client_for, cast):
    response = client_for(cast.erin).post(
        reverse("admin:catalog_approvalpolicy_add"),
        {
            "name": "Two owners",
            "description": "",
            "default_for_risk": "high",
            "fallback_approver": "",
            "stages-TOTAL_FORMS": "1",
            "stages-INITIAL_FORMS": "0",
            "stages-MIN_NUM_FORMS": "0",
            "stages-MAX_NUM_FORMS": "1000",
            "stages-0-order": "1",
            "stages-0-approvers": "owners",
            "stages-0-mode": "n_of",
            "stages-0-required": "2",
        },
    )

    assert response.status_code == 302
    policy = ApprovalPolicy.objects.get(name="Two owners")
    assert [(stage.approvers, stage.mode, stage.required) for stage in policy.stages.all()] == [("owners", "n_of", 2)]
    assert AuditEvent.objects.get(action="catalog.approvalpolicy_created").actor == cast.erin


def test_people_who_are_not_staff_cannot_reach_the_admin(client_for, cast):
    response = client_for(cast.carol).get(reverse("admin:catalog_entitlement_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response.url
