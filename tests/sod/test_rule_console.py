"""Governance → SoD rules: rules written, tried and switched from the portal, never the admin.

The cast: Erin (governance admin) writes rules; Frank (auditor) reads them; Alice (employee) and Dave (who
owns a rule) may not open the console. Create payments and Approve payments come from tests/sod/conftest.py.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from inputs.refusals import InvalidInput, NotAllowed, StaleState
from sod import rules
from sod.models import SodRule
from sod.services import record_permissions


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def rule_form(cast, payments, **changes) -> dict:
    values = {
        "name": "Create and approve payments",
        "why": "one person could pay themselves",
        "kind": "entitlements",
        "set_a": [payments["PaymentsCreate"].pk],
        "set_b": [payments["PaymentsApprove"].pk],
        "actions": "",
        "enforcement": "block",
        "severity": "high",
        "owner": cast.dave.pk,
    }
    return values | changes


def holding(person, *entitlements):
    for entitlement in entitlements:
        Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)


def sod_events():
    return list(AuditEvent.objects.filter(action__startswith="sod.sodrule").values_list("action", flat=True))


# --- services ------------------------------------------------------------------------------------


def test_creating_changing_and_switching_a_rule_is_audited_each_time(cast, payments):
    created = rules.save_rule(
        actor=cast.erin,
        rule=None,
        fields={"name": "Pay", "why": "self-payment", "owner": cast.dave, "enabled": False},
        set_a=[payments["PaymentsCreate"]],
        set_b=[payments["PaymentsApprove"]],
    )
    rules.save_rule(actor=cast.erin, rule=created, fields={"enforcement": "exception"})
    rules.set_rule_enabled(actor=cast.erin, rule_id=created.pk, enabled=True)
    rules.set_rule_enabled(actor=cast.erin, rule_id=created.pk, enabled=False)

    assert sod_events() == ["sod.sodrule_created", "sod.sodrule_changed", "sod.sodrule_enabled", "sod.sodrule_disabled"]
    enabled = AuditEvent.objects.get(action="sod.sodrule_enabled")
    assert (enabled.before["enabled"], enabled.after["enabled"], enabled.actor_id) == (False, True, cast.erin.pk)


def test_switching_a_rule_to_the_state_it_is_in_is_refused_and_records_nothing(cast, payments, payments_rule):
    rule = payments_rule()

    with pytest.raises(StaleState, match="already enabled"):
        rules.set_rule_enabled(actor=cast.erin, rule_id=rule.pk, enabled=True)

    assert sod_events() == []


@pytest.mark.parametrize("who", ["alice", "frank", "dave"])
def test_only_governance_admins_change_rules(cast, payments, payments_rule, who):
    rule = payments_rule()
    person = getattr(cast, who)

    with pytest.raises(NotAllowed):
        rules.set_rule_enabled(actor=person, rule_id=rule.pk, enabled=False)
    with pytest.raises(NotAllowed):
        rules.save_rule(actor=person, rule=rule, fields={"why": "changed"})

    rule.refresh_from_db()
    assert (rule.enabled, rule.why, sod_events()) == (True, "one person could pay themselves", [])


@pytest.mark.parametrize(
    ("actions", "words"),
    [
        (["iam::", "lambda:CreateFunction"], "has more than one colon"),
        ([":PassRole", "lambda:CreateFunction"], "has no service before the colon"),
        (["iam:", "lambda:CreateFunction"], "has no action after the colon"),
        (["garbage", "lambda:CreateFunction"], "has no service"),
        (["iam:Pass*", "lambda:CreateFunction"], "is a pattern"),
        (["IAM:PassRole", "lambda:CreateFunction"], "a service is lower-case"),
        (["iam:PassRole"], "at least two actions"),
        ([f"iam:{'A' * 200}", "lambda:CreateFunction"], "longer than any IAM action"),
    ],
)
def test_bad_actions_are_refused_in_words_and_nothing_is_saved(cast, actions, words):
    with pytest.raises(InvalidInput) as refused:
        rules.save_rule(
            actor=cast.erin,
            rule=None,
            fields={"name": "Pass", "why": "w", "kind": "permissions", "owner": cast.dave, "actions": actions},
        )

    assert words in refused.value.message and refused.value.field == "actions"
    assert not SodRule.objects.exists() and sod_events() == []


def test_an_entitlement_rule_with_one_side_empty_is_not_half_saved(cast, payments, payments_rule):
    rule = payments_rule()

    with pytest.raises(InvalidInput, match="both sets"):
        rules.save_rule(actor=cast.erin, rule=rule, fields={"why": "changed"}, set_b=[])

    rule.refresh_from_db()
    assert (rule.why, list(rule.set_b.all()), sod_events()) == (
        "one person could pay themselves",
        [payments["PaymentsApprove"]],
        [],
    )


# --- pages ---------------------------------------------------------------------------------------


def test_erin_creates_a_rule_from_the_form_with_pickers(cast, payments):
    response = as_person(cast.erin).post(reverse("sod:rule_new"), rule_form(cast, payments, enabled="on"))

    rule = SodRule.objects.get()
    assert response.status_code == 302 and response.url == reverse("sod:rule", args=[rule.pk])
    assert (list(rule.set_a.all()), list(rule.set_b.all()), rule.enabled, rule.owner) == (
        [payments["PaymentsCreate"]],
        [payments["PaymentsApprove"]],
        True,
        cast.dave,
    )
    assert sod_events() == ["sod.sodrule_created"]


def test_a_permission_rule_takes_its_actions_one_a_line(cast, payments):
    form = rule_form(cast, payments, kind="permissions", actions="iam:PassRole\r\nlambda:CreateFunction\n\n")
    as_person(cast.erin).post(reverse("sod:rule_new"), form)

    rule = SodRule.objects.get()
    assert (rule.actions, list(rule.set_a.all())) == (["iam:PassRole", "lambda:CreateFunction"], [])


def test_a_refused_form_says_why_and_saves_nothing(cast, payments):
    form = rule_form(cast, payments, kind="permissions", actions="iam::\nlambda:CreateFunction")
    response = as_person(cast.erin).post(reverse("sod:rule_new"), form)

    assert response.status_code == 400
    assert "has more than one colon" in response.content.decode()
    assert not SodRule.objects.exists()


def test_editing_a_rule_keeps_what_is_not_changed_and_is_audited(cast, payments, payments_rule):
    rule = payments_rule()
    page = as_person(cast.erin).get(reverse("sod:rule_edit", args=[rule.pk]))
    assert page.status_code == 200 and "Create and approve payments" in page.content.decode()

    response = as_person(cast.erin).post(
        reverse("sod:rule_edit", args=[rule.pk]), rule_form(cast, payments, enforcement="exception", enabled="on")
    )

    rule.refresh_from_db()
    assert response.status_code == 302 and rule.enforcement == "exception"
    assert sod_events() == ["sod.sodrule_changed"]


def test_the_live_check_accepts_good_actions_and_refuses_garbage_in_words(cast):
    erin = as_person(cast.erin)
    url = reverse("sod:rule_check_actions")

    good = erin.get(url, {"actions": "iam:PassRole\nlambda:CreateFunction"}, HTTP_HX_REQUEST="true")
    bad = erin.get(url, {"actions": "iam::\nhello world\niam:Pass*"}, HTTP_HX_REQUEST="true")
    huge = erin.get(url, {"actions": "a" * 10_000})

    assert "2 actions, all well formed" in good.content.decode()
    text = bad.content.decode()
    assert "has more than one colon" in text and "is a pattern" in text and "“hello” has no service" in text
    assert huge.status_code == 200 and "more than 50 actions" in huge.content.decode()


def test_the_dry_run_of_an_unsaved_rule_names_who_would_break_it_and_saves_nothing(cast, payments):
    holding(cast.alice, payments["PaymentsCreate"], payments["PaymentsApprove"])
    holding(cast.bob, payments["PaymentsCreate"])

    response = as_person(cast.erin).post(reverse("sod:rule_dry_run"), rule_form(cast, payments), HTTP_HX_REQUEST="true")

    text = response.content.decode()
    assert response.status_code == 200 and "1 person" in text
    assert 'data-testid="flagged-alice@example.com"' in text and "Approve payments, Create payments" in text
    assert "bob@example.com" not in text
    assert not SodRule.objects.exists() and not AuditEvent.objects.filter(action__startswith="sod.").exists()


def test_the_dry_run_of_a_permission_rule_reads_the_policies_behind_entitlements(cast, sandbox, payments):
    builders = Entitlement.objects.create(account=sandbox.account, aws_name="Builders", name="Builders", risk="low")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Pass*", "Resource": "*"}]}
    create = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}
    record_permissions(sandbox.developers, [{"source": "p", "document": allow}])
    record_permissions(builders, [{"source": "q", "document": create}])
    holding(cast.carol, sandbox.developers, builders)
    holding(cast.alice, sandbox.developers)

    form = rule_form(cast, payments, kind="permissions", actions="iam:PassRole\nlambda:CreateFunction")
    text = as_person(cast.erin).post(reverse("sod:rule_dry_run"), form, HTTP_HX_REQUEST="true").content.decode()

    assert "flagged-carol@example.com" in text and "alice@example.com" not in text
    assert "Builders, Developers, which allow iam:PassRole, lambda:CreateFunction" in text


def test_a_dry_run_of_a_rule_that_cannot_be_saved_says_why(cast, payments):
    form = rule_form(cast, payments, set_b=[])
    text = as_person(cast.erin).post(reverse("sod:rule_dry_run"), form, HTTP_HX_REQUEST="true").content.decode()

    assert "cannot be tried yet" in text and "needs entitlements in both sets" in text


def test_the_dry_run_costs_the_same_queries_for_one_person_or_forty(cast, django_user_model, payments):
    form = rule_form(cast, payments)
    erin = as_person(cast.erin)
    holding(cast.alice, payments["PaymentsCreate"], payments["PaymentsApprove"])
    erin.post(reverse("sod:rule_dry_run"), form, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as one:
        erin.post(reverse("sod:rule_dry_run"), form, HTTP_HX_REQUEST="true")
    for n in range(40):
        person = django_user_model.objects.create_user(email=f"p{n}@example.com", full_name=f"P {n}")
        holding(person, payments["PaymentsCreate"], payments["PaymentsApprove"])
    with CaptureQueriesContext(connection) as forty:
        response = erin.post(reverse("sod:rule_dry_run"), form, HTTP_HX_REQUEST="true")

    assert "41 people" in response.content.decode()
    assert len(forty.captured_queries) == len(one.captured_queries)


def test_the_list_costs_the_same_queries_for_three_rules_or_thirty(cast, payments, payments_rule):
    payments_rule()
    erin = as_person(cast.erin)

    def make(count):
        for n in range(count):
            rule = SodRule.objects.create(name=f"Rule {n:02}", why="w", owner=cast.dave, enabled=n % 2 == 0)
            rule.set_a.set([payments["PaymentsCreate"]])

    make(2)
    with CaptureQueriesContext(connection) as few:
        erin.get(reverse("sod:rules"))
    SodRule.objects.filter(name__startswith="Rule ").delete()
    make(24)
    with CaptureQueriesContext(connection) as many:
        response = erin.get(reverse("sod:rules"))

    assert response.content.decode().count('data-testid="rule-') == 25
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_list_is_searchable_and_paginated(cast, payments_rule):
    payments_rule()
    for n in range(30):
        SodRule.objects.create(name=f"Cloud rule {n:02}", why="w", owner=cast.dave)

    found = as_person(cast.frank).get(reverse("sod:rules"), {"q": "approve"}).content.decode()
    second = as_person(cast.frank).get(reverse("sod:rules"), {"page": 2}).content.decode()

    assert "Create and approve payments" in found and "Cloud rule" not in found
    assert "Page 2 of 2" in second and "31 rules" in second


def test_an_auditor_reads_the_rules_but_changes_nothing(cast, payments_rule):
    rule = payments_rule()
    frank = as_person(cast.frank)

    listed = frank.get(reverse("sod:rules")).content.decode()
    page = frank.get(reverse("sod:rule", args=[rule.pk])).content.decode()

    assert "Create and approve payments" in listed and "New rule" not in listed
    assert "Create payments" in page and "Edit" not in page and "Disable" not in page
    assert frank.post(reverse("sod:rule_enabled", args=[rule.pk]), {"enabled": "false"}).status_code == 403
    assert frank.post(reverse("sod:rule_dry_run"), {}).status_code == 403
    assert frank.post(reverse("sod:rule_new"), {}).status_code == 403
    rule.refresh_from_db()
    assert rule.enabled and sod_events() == []


def test_erin_enables_and_disables_a_rule_from_its_page(cast, payments_rule):
    rule = payments_rule()
    erin = as_person(cast.erin)
    url = reverse("sod:rule_enabled", args=[rule.pk])

    off = erin.post(url, {"enabled": "false"}, follow=True)
    again = erin.post(url, {"enabled": "false"}, follow=True)
    on = erin.post(url, {"enabled": "true"}, follow=True)
    nonsense = erin.post(url, {"enabled": "maybe"}, follow=True)

    assert "is disabled" in off.content.decode() and "is already disabled" in again.content.decode()
    assert "is enabled" in on.content.decode() and "Say whether" in nonsense.content.decode()
    assert sod_events() == ["sod.sodrule_disabled", "sod.sodrule_enabled"]
    assert erin.post(reverse("sod:rule_enabled", args=[10**17]), {"enabled": "true"}).status_code == 404


# --- hostile input -------------------------------------------------------------------------------


def test_hostile_input_on_the_rule_form_gets_a_clear_answer_never_a_500(cast, payments):
    erin = as_person(cast.erin)
    url = reverse("sod:rule_new")

    nul = erin.post(url, rule_form(cast, payments, name="bad\x00name"))
    huge = erin.post(url, rule_form(cast, payments, set_a=[str(2**64)], owner=str(10**40)))
    superscript = erin.post(url, rule_form(cast, payments, set_b=["²"]))
    body = erin.post(url, "x=" + "a" * (3 * 1024 * 1024), content_type="application/x-www-form-urlencoded")
    long_actions = erin.post(url, rule_form(cast, payments, kind="permissions", actions="iam:A\n" * 2000))
    dry_huge = erin.post(reverse("sod:rule_dry_run"), rule_form(cast, payments, set_a=[str(2**63)]))

    assert nul.status_code == 400 and "NUL" in nul.content.decode()
    assert huge.status_code == 400 and "That number is too large." in huge.content.decode()
    assert superscript.status_code == 400
    assert body.status_code == 413 and "too large" in body.content.decode()
    assert long_actions.status_code == 400 and "at most" in long_actions.content.decode()
    assert dry_huge.status_code == 400 and "too large" in dry_huge.content.decode()
    assert not SodRule.objects.exists()
