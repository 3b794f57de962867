"""Separation of duties on what was done: a person who called both sides of a permission rule (iam:PassRole and
lambda:CreateFunction) inside one grant's window is flagged after the fact, with the CloudTrail event ids, when the
grant's activity is read. Log files for several people and windows are written into the simulated S3 as CloudTrail
writes them; the rule asks for it (off by default)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.facts import cloudtrail
from inputs.refusals import InvalidInput
from sod import rules
from sod.models import SodActivityFinding, SodRule
from tests.iam.test_cloudtrail import active_grant, trail  # noqa: F401 (the trail bucket fixture)
from tests.iam.trail_files import iam_user_call, role_call

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)


def hour(offset: float) -> datetime:
    return START + timedelta(hours=offset)


@pytest.fixture
def pass_role_rule(cast):
    """Carol's rule: nobody both passes a role and creates a function with it, judged on what was done too."""
    return SodRule.objects.create(
        name="Pass a role to new code",
        why="Whoever can pass a role to a function they create runs code with that role's rights.",
        kind=SodRule.Kind.PERMISSIONS,
        actions=["iam:PassRole", "lambda:CreateFunction"],
        owner=cast.carol,
        detect_in_activity=True,
    )


@pytest.fixture
def deployer(entitlement_of):
    return entitlement_of(Entitlement.Kind.IAM_ROLE, "arn:aws:iam::123456789012:role/Deployer")


def findings():
    return list(SodActivityFinding.objects.order_by("pk"))


def test_alice_who_passed_a_role_and_created_a_function_in_one_window_is_flagged_with_the_event_ids(
    trail,  # noqa: F811
    cast,
    sandbox,
    deployer,
    pass_role_rule,
):
    grant = active_grant(cast.alice, deployer, activated=hour(0), ended=hour(2))
    pass_role = role_call("Deployer", "alice", hour(0.5), "iam.amazonaws.com", "PassRole")
    # Lambda logs its API version in the event's name; with her own IAM user, not the role: it is still her.
    create = iam_user_call("alice", hour(1.5), "lambda.amazonaws.com", "CreateFunction20150331")
    trail([pass_role, role_call("Deployer", "alice", hour(1), "s3.amazonaws.com", "GetObject")], hour(0))
    trail([create], hour(1))

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    [finding] = findings()
    assert (finding.rule, finding.user, finding.grant_id, finding.account) == (
        pass_role_rule,
        cast.alice,
        grant.pk,
        sandbox.account,
    )
    assert finding.event_ids == {"iam:PassRole": [pass_role["eventID"]], "lambda:CreateFunction": [create["eventID"]]}
    assert (finding.window_start, finding.window_end) == (hour(0), hour(2))
    assert (finding.first_call_at, finding.last_call_at) == (hour(0.5), hour(1.5))
    # The grant's own summary counts only the role's sessions named after her.
    assert activity.calls == 2
    [event] = AuditEvent.objects.filter(action="sod.activity_finding")
    assert (event.actor_label, event.after["event_ids"]) == ("system:sod", finding.event_ids)


def test_reading_the_window_again_keeps_one_finding_and_one_audit_event(
    trail,  # noqa: F811
    cast,
    sandbox,
    pass_role_rule,
):
    grant = active_grant(cast.alice, sandbox.developers, activated=hour(0))
    trail([iam_user_call("alice", hour(1), "iam.amazonaws.com", "PassRole")], hour(0))
    trail([iam_user_call("alice", hour(2), "lambda.amazonaws.com", "CreateFunction")], hour(2))
    cloudtrail.summarise_grant(grant.pk, now=hour(3))
    second = iam_user_call("alice", hour(4), "lambda.amazonaws.com", "CreateFunction")
    trail([second], hour(4))

    cloudtrail.summarise_grant(grant.pk, now=hour(5))

    [finding] = findings()
    assert len(finding.event_ids["lambda:CreateFunction"]) == 2
    assert (finding.window_end, finding.last_call_at) == (hour(5), hour(4))
    assert AuditEvent.objects.filter(action="sod.activity_finding").count() == 1


def test_both_sides_in_two_different_windows_are_not_put_together(
    trail,  # noqa: F811
    cast,
    sandbox,
    deployer,
    pass_role_rule,
):
    first = active_grant(cast.alice, deployer, activated=hour(0), ended=hour(2))
    second = active_grant(cast.alice, sandbox.developers, activated=hour(30), ended=hour(32))
    trail([role_call("Deployer", "alice", hour(1), "iam.amazonaws.com", "PassRole")], hour(0))
    trail([iam_user_call("alice", hour(31), "lambda.amazonaws.com", "CreateFunction")], hour(30))

    cloudtrail.summarise_grant(first.pk, now=NOW)
    cloudtrail.summarise_grant(second.pk, now=NOW)

    assert findings() == []


def test_two_people_each_doing_one_side_in_the_same_hours_are_not_flagged(
    trail,  # noqa: F811
    cast,
    sandbox,
    deployer,
    pass_role_rule,
):
    alices = active_grant(cast.alice, deployer, activated=hour(0), ended=hour(2))
    daves = active_grant(cast.dave, deployer, activated=hour(0), ended=hour(2))
    trail(
        [
            role_call("Deployer", "alice", hour(1), "iam.amazonaws.com", "PassRole"),
            role_call("Deployer", "dave", hour(1), "lambda.amazonaws.com", "CreateFunction"),
            # Bob does both, but holds nothing whose activity is read.
            iam_user_call("bob", hour(1), "iam.amazonaws.com", "PassRole"),
            iam_user_call("bob", hour(1), "lambda.amazonaws.com", "CreateFunction"),
        ],
        hour(1),
    )

    cloudtrail.summarise_grant(alices.pk, now=NOW)
    cloudtrail.summarise_grant(daves.pk, now=NOW)

    assert findings() == []


def test_a_rule_that_does_not_ask_for_it_flags_nobody(trail, cast, sandbox, pass_role_rule):  # noqa: F811
    pass_role_rule.detect_in_activity = False
    pass_role_rule.save()
    grant = active_grant(cast.alice, sandbox.developers, activated=hour(0))
    trail(
        [
            iam_user_call("alice", hour(1), "iam.amazonaws.com", "PassRole"),
            iam_user_call("alice", hour(1), "lambda.amazonaws.com", "CreateFunction"),
        ],
        hour(1),
    )

    cloudtrail.summarise_grant(grant.pk, now=NOW)
    assert findings() == []

    pass_role_rule.detect_in_activity, pass_role_rule.enabled = True, False  # asks, but is switched off
    pass_role_rule.save()
    cloudtrail.summarise_grant(grant.pk, now=NOW)
    assert findings() == []


def test_new_rules_do_not_look_at_activity_and_entitlement_rules_cannot(cast, sandbox):
    assert SodRule._meta.get_field("detect_in_activity").default is False
    fields = {
        "name": "Developers with break-glass",
        "why": "Too much at once.",
        "kind": SodRule.Kind.ENTITLEMENTS,
        "owner": cast.carol,
        "detect_in_activity": True,
    }

    with pytest.raises(InvalidInput) as refused:
        rules.save_rule(
            actor=cast.erin, rule=None, fields=fields, set_a=[sandbox.developers], set_b=[sandbox.breakglass]
        )

    assert "Only a permission rule can be judged on what was done" in refused.value.message
    assert refused.value.field == "detect_in_activity"
    assert not SodRule.objects.exists()


def test_governance_admins_and_the_rule_owner_see_the_finding_with_its_event_ids(
    trail,  # noqa: F811
    client_for,
    cast,
    sandbox,
    pass_role_rule,
):
    grant = active_grant(cast.alice, sandbox.developers, activated=hour(0))
    pass_role = iam_user_call("alice", hour(1), "iam.amazonaws.com", "PassRole")
    trail([pass_role, iam_user_call("alice", hour(1), "lambda.amazonaws.com", "CreateFunction")], hour(1))
    cloudtrail.summarise_grant(grant.pk, now=NOW)

    for person in (cast.erin, cast.carol):
        page = client_for(person).get(reverse("sod:activity_findings")).content.decode()
        assert "Alice Engineer" in page and "Pass a role to new code" in page and pass_role["eventID"] in page
    violations = client_for(cast.erin).get(reverse("sod:violations")).content.decode()
    assert reverse("sod:activity_findings") in violations
    rule_page = client_for(cast.erin).get(reverse("sod:rule", args=[pass_role_rule.pk])).content.decode()
    assert "Also flagged after the fact" in rule_page
    assert client_for(cast.alice).get(reverse("sod:activity_findings")).status_code == 403
    # A rule filter longer than any id is refused in words, as on the violations page.
    refused = client_for(cast.erin).get(reverse("sod:activity_findings"), {"rule": "9" * 40})
    assert refused.status_code == 400 and "too large" in refused.content.decode().lower()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_reads_of_one_window_at_once_make_one_finding(trail, cast, sandbox, pass_role_rule, attempt):  # noqa: F811
    grant = active_grant(cast.alice, sandbox.developers, activated=hour(0))
    trail(
        [
            iam_user_call("alice", hour(1), "iam.amazonaws.com", "PassRole"),
            iam_user_call("alice", hour(1), "lambda.amazonaws.com", "CreateFunction"),
        ],
        hour(1),
    )
    barrier, errors = threading.Barrier(2), []

    def read(now):
        try:
            barrier.wait(timeout=60)
            cloudtrail.summarise_grant(grant.pk, now=now)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=read, args=(moment,)) for moment in (hour(3), hour(4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(findings()) == 1
    assert AuditEvent.objects.filter(action="sod.activity_finding").count() == 1
    assert grant.activity.computed_at == hour(4)  # the later read stays, whichever finished last
