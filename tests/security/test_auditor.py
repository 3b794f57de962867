"""The auditor: made one by a governance admin (audited), reads every report, changes nothing.

Frank, Dave's report, is the cast's auditor.
"""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access import services
from access.models import Grant
from audit.models import AuditEvent
from iam.models import UnmanagedAccess
from posture.models import PostureFinding
from sod.models import SodRule, SodViolation

ADMIN_BUTTONS = ["Reconcile now", "Adopt into the ledger", ">Retry<", "Scan now", "Deactivate key"]


def api_as(person) -> APIClient:
    api = APIClient()
    api.force_authenticate(person)
    return api


@pytest.fixture
def reports(cast, sandbox):
    """Something on every report: drift, a failed grant, a remediable finding, a violation of Dave's rule."""
    now = timezone.now()
    drift = UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind="iam_group",
        aws_principal="mallory",
        aws_name="Developers",
        first_seen=now,
        last_seen=now,
    )
    grant = Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    services.record_sync_failure(services.claim_grant_for_sync(grant.pk), error="AWS refused (AccessDenied): no")
    finding = PostureFinding.objects.create(
        account=sandbox.account,
        control_id="portal.leaver_key",
        principal="dave",
        severity="high",
        evidence={"user": "dave"},
        person=cast.dave,
    )
    rule = SodRule.objects.create(name="Create and approve payments", why="Fraud", owner=cast.dave)
    violation = SodViolation.objects.create(
        rule=rule, user=cast.alice, details={"actions": ["payments:Create"]}, first_seen=now, last_seen=now
    )
    return {"drift": drift, "grant": grant, "finding": finding, "rule": rule, "violation": violation}


def admin_change(client, person, **changes):
    data = {
        "email": person.email,
        "full_name": person.full_name,
        "title": person.title,
        "department": person.department,
        "manager": person.manager_id or "",
        "iam_user_name": person.iam_user_name,
        "is_active": "on",
        "_save": "Save",
    }
    data.update({name: "on" for name, value in changes.items() if value is True})
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
    return client.post(reverse("admin:accounts_user_change", args=[person.pk]), data)


def test_a_governance_admin_makes_someone_an_auditor_and_it_is_audited(client_for, cast):
    response = admin_change(client_for(cast.erin), cast.carol, is_auditor=True)

    assert response.status_code == 302
    cast.carol.refresh_from_db()
    assert cast.carol.is_auditor
    event = AuditEvent.objects.get(action="accounts.user_changed")
    assert (event.actor, event.object_id) == (cast.erin, str(cast.carol.pk))
    assert (event.before["is_auditor"], event.after["is_auditor"]) == (False, True)
    assert "password" not in event.before and "password" not in event.after, "the hash never enters the trail"
    call_command("verify_audit")  # dates in the recorded state read back exactly as hashed


def test_an_auditor_cannot_also_be_a_governance_admin(client_for, cast):
    response = admin_change(client_for(cast.erin), cast.frank, is_auditor=True, is_superuser=True)

    assert response.status_code == 200
    assert "An auditor cannot also be a governance admin (superuser)." in response.content.decode()
    cast.frank.refresh_from_db()
    assert not cast.frank.is_superuser
    assert not AuditEvent.objects.filter(action="accounts.user_changed").exists()


def test_setting_a_password_in_the_admin_is_audited_without_the_hash(client_for, cast):
    new_password = "a-new-Password-for-carol-2026"
    response = client_for(cast.erin).post(
        reverse("admin:auth_user_password_change", args=[cast.carol.pk]),
        {"password1": new_password, "password2": new_password, "usable_password": "true"},
    )

    assert response.status_code == 302
    cast.carol.refresh_from_db()
    assert cast.carol.check_password(new_password)
    event = AuditEvent.objects.get(action="accounts.user_password_set")
    assert (event.actor, event.object_id, event.before, event.after) == (cast.erin, str(cast.carol.pk), None, None)


def test_auditors_read_every_report_without_action_buttons(client_for, cast, sandbox, reports):
    pages = [
        reverse("iam:operations"),
        reverse("iam:account", args=[sandbox.account.pk]),
        reverse("iam:grant_history", args=[reports["grant"].pk]),
        reverse("posture:index"),
        reverse("posture:scorecard", args=[sandbox.account.pk]),
        reverse("posture:findings", args=[sandbox.account.pk]),
        reverse("posture:person", args=[cast.dave.pk]),
        reverse("sod:violations"),
        reverse("sod:exceptions"),
        reverse("audit:events"),
    ]
    auditor, admin = client_for(cast.frank), Client()
    admin.force_login(cast.erin)
    for url in pages:
        response = auditor.get(url)
        assert response.status_code == 200, url
        shown = response.content.decode()
        assert [button for button in ADMIN_BUTTONS if button in shown] == [], url
    admin_sees = "".join(admin.get(url).content.decode() for url in pages)
    assert [button for button in ADMIN_BUTTONS if button not in admin_sees] == [], "the buttons exist for admins"


def test_auditors_see_every_rules_violations_and_the_failed_syncs(client_for, cast, reports):
    page = client_for(cast.frank).get(reverse("sod:violations")).content.decode()
    api = api_as(cast.frank)

    assert "Create and approve payments" in page and "Alice Engineer" in page
    assert [row["id"] for row in api.get(reverse("api:sod-violation-list")).json()["results"]] == [
        reports["violation"].pk
    ]
    assert [row["name"] for row in api.get(reverse("api:sod-rule-list")).json()["results"]] == [
        "Create and approve payments"
    ]
    assert client_for(cast.frank).get("/").context["failed_syncs"] == 1
    assert client_for(cast.alice).get("/").context["failed_syncs"] is None


def test_auditors_are_refused_every_governance_action_and_nothing_changes(client_for, cast, sandbox, reports):
    client, api = client_for(cast.frank), api_as(cast.frank)
    events_before = AuditEvent.objects.count()
    rule = {"name": "New rule", "why": "Because", "kind": "entitlements", "owner": cast.dave.pk}

    answers = {
        "reconcile": client.post(reverse("iam:reconcile_now", args=[sandbox.account.pk])).status_code,
        "adopt": client.post(reverse("iam:adopt", args=[reports["drift"].pk])).status_code,
        "retry": client.post(reverse("iam:retry", args=[reports["grant"].pk])).status_code,
        "scan": client.post(reverse("posture:scan_now", args=[sandbox.account.pk])).status_code,
        "deactivate": client.post(reverse("posture:deactivate_key", args=[reports["finding"].pk])).status_code,
        "create rule": api.post(reverse("api:sod-rule-list"), rule, format="json").status_code,
        "change rule": api.patch(
            reverse("api:sod-rule-detail", args=[reports["rule"].pk]), {"enabled": False}, format="json"
        ).status_code,
        "dry run": api.post(reverse("api:sod-rule-dry-run"), rule, format="json").status_code,
        "leaver": api.post(reverse("api:person-leaver", args=[cast.alice.pk])).status_code,
        "admin": client.get(reverse("admin:index")).status_code,
    }

    assert answers == {action: 403 for action in answers} | {"admin": 302}
    assert AuditEvent.objects.count() == events_before
    reports["drift"].refresh_from_db()
    reports["rule"].refresh_from_db()
    assert reports["drift"].state == UnmanagedAccess.State.OPEN
    assert reports["rule"].enabled
    assert Grant.objects.get(pk=reports["grant"].pk).sync_state == Grant.SyncState.FAILED
    assert not SodRule.objects.filter(name="New rule").exists()


def test_the_people_api_says_who_is_an_auditor(cast):
    response = api_as(cast.erin).post(reverse("api:person-leaver", args=[cast.frank.pk]))

    assert response.status_code == 200
    assert response.json()["is_auditor"] is True
