"""The nightly scan, exceptions running out, and the reports owners and admins read."""

from datetime import timedelta

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from audit.models import AuditEvent
from notifications.models import Notification
from notifications.services import notify_sod_exception_expired
from sod.models import SodException, SodRule, SodViolation
from sod.tasks import sod_expire_exceptions, sod_scan


def hold_both(person, payments):
    for entitlement in payments.values():
        Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)


def test_the_nightly_scan_opens_and_resolves_violations(cast, payments, payments_rule):
    payments_rule()
    hold_both(cast.alice, payments)
    Grant.objects.create(user=cast.carol, entitlement=payments["PaymentsCreate"], source=Grant.Source.ADMIN)

    assert sod_scan() == {"people_in_violation": 1, "people_checked": 1}
    assert list(SodViolation.objects.values_list("user__email", flat=True)) == ["alice@example.com"]

    Grant.objects.filter(user=cast.alice, entitlement=payments["PaymentsCreate"]).update(desired="absent")
    sod_scan()
    assert SodViolation.objects.get().resolved_at is not None


def test_an_exception_that_runs_out_reopens_the_violation_and_tells_the_owner(cast, payments, payments_rule):
    rule = payments_rule(SodRule.Enforcement.EXCEPTION)
    hold_both(cast.alice, payments)
    exception = SodException.objects.create(
        rule=rule,
        user=cast.alice,
        mitigating_control="Dual control in ERP",
        ends_at=timezone.now() + timedelta(days=1),
        approved_by=cast.dave,
    )
    sod_scan()
    assert SodViolation.objects.get().exception == exception

    SodException.objects.filter(pk=exception.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    assert sod_expire_exceptions() == 1
    assert notify_sod_exception_expired(exception.pk) == [cast.dave.pk]

    violation = SodViolation.objects.get()
    assert (violation.resolved_at, violation.exception) == (None, None)
    assert AuditEvent.objects.filter(action="sod.exception_expired").count() == 1
    told = Notification.objects.get(recipient=cast.dave)
    assert told.title == "Exception ended: Create and approve payments for Alice Engineer"
    assert sod_expire_exceptions() == 0, "once"


def test_violations_report_with_filters_and_csv(client_for, cast, payments, payments_rule):
    payments_rule()
    hold_both(cast.alice, payments)
    sod_scan()
    client = client_for(cast.erin)

    page = client.get(reverse("sod:violations")).content.decode()
    resolved = client.get(reverse("sod:violations"), {"state": "resolved"}).content.decode()
    csv = b"".join(client.get(reverse("sod:violations"), {"format": "csv", "person": "alice"}).streaming_content)

    assert "Alice Engineer" in page and "Create and approve payments" in page
    assert "No violations match." in resolved
    lines = csv.decode().splitlines()
    assert lines[0].startswith("rule,severity,person,email") and "alice@example.com" in lines[1]


def test_rule_owners_see_their_rules_and_others_see_nothing(cast, payments, payments_rule):
    payments_rule()
    hold_both(cast.alice, payments)
    sod_scan()
    owner, outsider = Client(), Client()
    owner.force_login(cast.dave)
    outsider.force_login(cast.bob)

    assert "Alice Engineer" in owner.get(reverse("sod:violations")).content.decode()
    assert outsider.get(reverse("sod:violations")).status_code == 403
    assert outsider.get(reverse("sod:exceptions")).status_code == 403


def test_the_rule_editor_shows_who_a_rule_would_flag_and_audits_changes(client_for, cast, payments, payments_rule):
    rule = payments_rule()
    rule.enabled = False
    rule.save()
    hold_both(cast.alice, payments)
    client = client_for(cast.erin)

    page = client.get(reverse("admin:sod_sodrule_change", args=[rule.pk])).content.decode()

    assert "1 people:" in page and "<li>Alice Engineer</li>" in page
    assert not SodViolation.objects.exists(), "a dry run records nothing"
    form = {
        "name": rule.name,
        "why": rule.why,
        "kind": "entitlements",
        "severity": "critical",
        "enforcement": "block",
        "owner": cast.dave.pk,
        "enabled": "on",
        "set_a": [payments["PaymentsCreate"].pk],
        "set_b": [payments["PaymentsApprove"].pk],
        "actions": "[]",
    }
    assert client.post(reverse("admin:sod_sodrule_change", args=[rule.pk]), form).status_code == 302
    changed = AuditEvent.objects.get(action="sod.sodrule_changed")
    assert (changed.before["enabled"], changed.after["enabled"], changed.after["severity"]) == (False, True, "critical")


def test_a_later_exception_of_the_same_rule_and_person_is_announced_when_it_ends(cast, payments, payments_rule):
    rule = payments_rule(SodRule.Enforcement.EXCEPTION)
    now = timezone.now()
    first, second = (
        SodException.objects.create(
            rule=rule,
            user=cast.alice,
            mitigating_control="Dual control in ERP",
            ends_at=now - timedelta(days=days),
            approved_by=cast.dave,
            expired_at=now,
        )
        for days in (30, 1)
    )
    assert notify_sod_exception_expired(first.pk) == [cast.dave.pk]
    assert notify_sod_exception_expired(first.pk) == [], "a retry tells nobody twice"
    assert notify_sod_exception_expired(second.pk) == [cast.dave.pk]
    assert Notification.objects.filter(recipient=cast.dave).count() == 2


def test_the_admin_saves_a_rule_through_the_portals_service_and_refuses_an_empty_set(
    client_for, cast, payments, payments_rule
):
    rule = payments_rule(SodRule.Enforcement.BLOCK)
    client = client_for(cast.erin)
    form = {
        "name": rule.name,
        "why": rule.why,
        "kind": "entitlements",
        "severity": "high",
        "enforcement": "block",
        "owner": cast.dave.pk,
        "set_a": [payments["PaymentsCreate"].pk],
        "set_b": [],
        "actions": "[]",
    }

    page = client.post(reverse("admin:sod_sodrule_change", args=[rule.pk]), form)

    assert page.status_code == 200 and "needs entitlements in both sets" in page.content.decode()
    assert rule.set_b.exists() and not AuditEvent.objects.filter(action="sod.sodrule_changed").exists()
    form["set_b"] = [payments["PaymentsApprove"].pk]
    assert client.post(reverse("admin:sod_sodrule_change", args=[rule.pk]), form).status_code == 302
    assert AuditEvent.objects.filter(action="sod.sodrule_changed").count() == 1, "audited once, by the service"


def test_staff_who_are_not_governance_admins_cannot_change_rules_in_the_admin(
    client_for, cast, payments, payments_rule, django_user_model
):
    rule = payments_rule(SodRule.Enforcement.BLOCK)
    helpdesk = django_user_model.objects.create_user(email="hd@example.com", full_name="Help Desk", is_staff=True)
    helpdesk.user_permissions.add(*Permission.objects.filter(codename__in=["change_sodrule", "view_sodrule"]))
    TOTP.activate(helpdesk, generate_totp_secret())

    response = client_for(helpdesk).post(reverse("admin:sod_sodrule_change", args=[rule.pk]), {"name": "Renamed"})

    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.name != "Renamed"
