"""Connecting an account as it is: its entitlements imported, what portal people hold adopted as grants."""

import json

import pytest

from access.models import Grant
from access.services import reconciliation as ledger
from audit.models import AuditEvent
from catalog.models import AwsAccount, Entitlement
from iam import tasks
from iam.apply import sync
from iam.models import UnmanagedAccess
from iam.reconcile import drift_actions, reconcile
from inputs.refusals import NotAllowed
from tests.iam.conftest import give_back

READ_BILLING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ce:Get*", "Resource": "*"}]}


@pytest.fixture
def lived_in_account(aws, aws_direct, sandbox):
    """An account in enforce mode with years of access given by hand, before the portal knew it."""
    sandbox.account.sync_mode = AwsAccount.SyncMode.ENFORCE
    sandbox.account.save(update_fields=["sync_mode"])
    iam = aws_direct("iam")
    iam.create_group(GroupName="Auditors")
    billing = iam.create_policy(PolicyName="ReadBilling", PolicyDocument=json.dumps(READ_BILLING))["Policy"]["Arn"]
    iam.create_user(UserName="legacy-ci")
    iam.add_user_to_group(GroupName="Developers", UserName="alice")
    iam.add_user_to_group(GroupName="Auditors", UserName="alice")
    iam.attach_user_policy(UserName="bob", PolicyArn=billing)
    iam.add_user_to_group(GroupName="Auditors", UserName="legacy-ci")
    return billing


def test_connecting_imports_entitlements_and_adopts_what_portal_people_hold(
    lived_in_account, aws_direct, sandbox, cast
):
    result = drift_actions.connect_account(sandbox.account.pk, cast.erin.pk)

    assert (result.entitlements_imported, result.drift_found, result.adopted, result.left_open) == (2, 4, 3, 1)
    auditors = Entitlement.objects.get(aws_name="Auditors")
    billing = Entitlement.objects.get(aws_name=lived_in_account)
    grants = Grant.objects.values_list("user__email", "entitlement", "source", "desired", "sync_state", "request")
    assert set(grants) == {
        ("alice@example.com", sandbox.developers.pk, "import", "present", "applied", None),
        ("alice@example.com", auditors.pk, "import", "present", "applied", None),
        ("bob@example.com", billing.pk, "import", "present", "applied", None),
    }
    assert AuditEvent.objects.filter(action="drift.adopted", actor=cast.erin).count() == 3
    stranger = UnmanagedAccess.objects.get(state="open")
    assert (stranger.aws_principal, stranger.person, stranger.entitlement) == ("legacy-ci", None, auditors)
    members = aws_direct("iam").get_group(GroupName="Auditors")["Users"]
    assert {member["UserName"] for member in members} == {"alice", "legacy-ci"}, "connecting removes nothing"


def test_after_connecting_the_account_enforces_only_what_nobody_adopted(lived_in_account, aws_direct, sandbox, cast):
    drift_actions.connect_account(sandbox.account.pk, cast.erin.pk)

    run = reconcile.reconcile_account(sandbox.account.pk)

    members = aws_direct("iam").get_group(GroupName="Auditors")["Users"]
    assert {member["UserName"] for member in members} == {"alice"}
    assert UnmanagedAccess.objects.get(aws_principal="legacy-ci").state == "removed"
    assert (run.drift_found, run.missing_reapplied) == (1, 0)


def test_connecting_again_adopts_nothing_twice(lived_in_account, sandbox, cast):
    tasks.connect_account(sandbox.account.pk, cast.erin.pk)
    events = AuditEvent.objects.filter(action__in=["drift.adopted", "grant.adopted"]).count()

    again = tasks.connect_account(sandbox.account.pk, cast.erin.pk)

    assert (again["entitlements_imported"], again["adopted"], again["left_open"]) == (0, 0, 1)
    assert AuditEvent.objects.filter(action__in=["drift.adopted", "grant.adopted"]).count() == events


def test_only_governance_admins_connect_an_account(lived_in_account, sandbox, cast):
    with pytest.raises(NotAllowed):
        drift_actions.connect_account(sandbox.account.pk, cast.carol.pk)

    assert not Entitlement.objects.filter(aws_name="Auditors").exists()


def test_a_leavers_access_is_left_open_for_removal(lived_in_account, sandbox, cast):
    cast.alice.employment_status = cast.alice.EmploymentStatus.LEAVER
    cast.alice.save(update_fields=["employment_status"])

    result = drift_actions.connect_account(sandbox.account.pk, cast.erin.pk)

    assert (result.adopted, result.left_open) == (1, 3)
    assert not Grant.objects.filter(user=cast.alice).exists()


def test_adopting_revives_an_ended_grant_as_imported(aws, sandbox, cast, grant_of):
    grant = grant_of(sandbox.developers)
    sync.sync_grant(grant.pk)
    give_back(grant)
    sync.sync_grant(grant.pk)
    seen_at = grant.created_at

    revived = ledger.adopt_grant(
        person=cast.alice, entitlement=sandbox.developers, actor=cast.erin, seen_at=seen_at, evidence="seen"
    )

    assert revived.pk == grant.pk
    revived.refresh_from_db()
    assert (revived.source, revived.request, revived.desired, revived.sync_state) == (
        "import",
        None,
        "present",
        "applied",
    )
    assert (revived.ended_at, revived.end_reason, revived.verified_at) == (None, "", seen_at)
    event = AuditEvent.objects.get(action="grant.adopted")
    assert event.before == {"desired": "absent", "sync_state": "revoked"}
