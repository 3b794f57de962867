"""sso_permission_set entitlements: an Identity Center account assignment, polled and read back."""

from types import SimpleNamespace

import pytest
from botocore.stub import Stubber

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.apply import sync
from iam.apply.operations import Target, sso
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError
from tests.iam.conftest import give_back, target_for

ACCOUNT_ID = "123456789012"
REQUEST_ID = "7f1d3c1e-9a55-4c4f-8a9e-0d6c5b2f4e10"


@pytest.fixture
def identity_center(aws, aws_direct, sandbox, entitlement_of):
    """The simulator's Identity Center instance on the sandbox, a ReadOnly permission set, and Alice's user."""
    instance = aws_direct("sso-admin").list_instances()["Instances"][0]
    sandbox.account.sso_instance_arn = instance["InstanceArn"]
    sandbox.account.save(update_fields=["sso_instance_arn"])
    permission_set = aws_direct("sso-admin").create_permission_set(
        Name="ReadOnly", InstanceArn=instance["InstanceArn"], Description="Read-only access"
    )["PermissionSet"]
    entitlement = entitlement_of(Entitlement.Kind.SSO_PERMISSION_SET, permission_set["PermissionSetArn"], "Read only")
    return SimpleNamespace(
        instance_arn=instance["InstanceArn"],
        store_id=instance["IdentityStoreId"],
        permission_set=entitlement,
        alice=add_identity_center_user(aws_direct, instance["IdentityStoreId"], "alice", "alice@example.com"),
    )


def add_identity_center_user(aws_direct, store_id: str, user_name: str, email: str) -> str:
    return aws_direct("identitystore").create_user(
        IdentityStoreId=store_id,
        UserName=user_name,
        DisplayName=user_name.title(),
        Name={"GivenName": user_name.title(), "FamilyName": "Example"},
        Emails=[{"Value": email, "Primary": True}],
    )["UserId"]


def assigned(aws_direct, center) -> list[str]:
    answer = aws_direct("sso-admin").list_account_assignments(
        InstanceArn=center.instance_arn, AccountId=ACCOUNT_ID, PermissionSetArn=center.permission_set.aws_name
    )
    return [row["PrincipalId"] for row in answer["AccountAssignments"]]


def test_approved_permission_set_is_assigned_and_read_back(identity_center, grant_of, aws_direct):
    grant = grant_of(identity_center.permission_set)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "applied", outcome.detail
    assert grant.sync_state == Grant.SyncState.APPLIED
    assert assigned(aws_direct, identity_center) == [identity_center.alice]
    evidence = AuditEvent.objects.get(action="grant.applied").after["evidence"]
    assert evidence == (
        f"alice (Identity Center user {identity_center.alice}) is assigned {identity_center.permission_set.aws_name} "
        f"on {ACCOUNT_ID} (read back)"
    )


def test_a_rerun_after_a_crash_creates_no_second_assignment(identity_center, grant_of, aws, aws_direct):
    grant = grant_of(identity_center.permission_set)
    sso.apply(target_for(aws, identity_center.permission_set), present=True)

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "applied"
    assert assigned(aws_direct, identity_center) == [identity_center.alice]


def test_given_back_permission_set_is_unassigned_and_read_back(identity_center, grant_of, aws_direct):
    grant = grant_of(identity_center.permission_set)
    sync.sync_grant(grant.pk)
    give_back(grant)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "applied", outcome.detail
    assert grant.sync_state == Grant.SyncState.REVOKED
    assert assigned(aws_direct, identity_center) == []
    assert "is not assigned" in AuditEvent.objects.get(action="grant.revoked").after["evidence"]


def test_the_person_is_found_by_email_when_the_user_names_differ(identity_center, grant_of, aws_direct, cast):
    cast.alice.email = "alice.engineer@example.com"
    cast.alice.iam_user_name = "alice"
    cast.alice.save(update_fields=["email", "iam_user_name"])
    user_id = add_identity_center_user(
        aws_direct, identity_center.store_id, "a.engineer@corp.example", "alice.engineer@example.com"
    )
    aws_direct("identitystore").delete_user(IdentityStoreId=identity_center.store_id, UserId=identity_center.alice)
    grant = grant_of(identity_center.permission_set)

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "applied", outcome.detail
    assert assigned(aws_direct, identity_center) == [user_id]


def test_a_person_without_an_identity_center_user_fails_with_a_clear_message(identity_center, grant_of, aws_direct):
    aws_direct("identitystore").delete_user(IdentityStoreId=identity_center.store_id, UserId=identity_center.alice)
    grant = grant_of(identity_center.permission_set)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "failed"
    assert grant.sync_state == Grant.SyncState.FAILED
    assert grant.last_error.startswith(
        f"alice has no Identity Center user in identity store {identity_center.store_id}"
    )
    assert AuditEvent.objects.filter(action="grant.sync_failed").count() == 1


def test_an_account_without_an_identity_center_instance_fails_with_a_clear_message(aws, entitlement_of, grant_of):
    grant = grant_of(entitlement_of(Entitlement.Kind.SSO_PERMISSION_SET, "arn:aws:sso:::permissionSet/ssoins-1/ps-1"))

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "failed"
    assert "names no Identity Center instance" in outcome.detail


# --- the asynchronous request, polled ------------------------------------------------------


def report_in_progress(client, stage: str) -> list[str]:
    """Make AWS's first answer say IN_PROGRESS, as real Identity Center does; count the polls and their answers."""
    polls: list[str] = []
    operation = {"Creation": "CreateAccountAssignment", "Deletion": "DeleteAccountAssignment"}[stage]
    status_key = f"AccountAssignment{stage}Status"

    def in_progress(parsed, **kwargs):
        parsed[status_key]["Status"] = "IN_PROGRESS"

    def count(parsed, **kwargs):
        polls.append(parsed[status_key]["Status"])

    client.meta.events.register(f"after-call.sso-admin.{operation}", in_progress)
    client.meta.events.register(f"after-call.sso-admin.DescribeAccountAssignment{stage}Status", count)
    return polls


def test_assignment_creation_and_deletion_are_polled_until_succeeded(identity_center, aws, aws_direct, fresh_clients):
    client = gateway.client_for(aws, "sso-admin")
    creation_polls = report_in_progress(client, "Creation")
    deletion_polls = report_in_progress(client, "Deletion")
    target = target_for(aws, identity_center.permission_set)

    sso.apply(target, present=True, poll_seconds=0)
    assert assigned(aws_direct, identity_center) == [identity_center.alice]
    sso.apply(target, present=False, poll_seconds=0)

    assert creation_polls == ["SUCCEEDED"]
    assert deletion_polls == ["SUCCEEDED"]
    assert assigned(aws_direct, identity_center) == []


ASSIGNMENT = {
    "InstanceArn": "arn:aws:sso:::instance/ssoins-1111222233334444",
    "TargetId": ACCOUNT_ID,
    "TargetType": "AWS_ACCOUNT",
    "PermissionSetArn": "arn:aws:sso:::permissionSet/ssoins-1111222233334444/ps-1111222233334444",
    "PrincipalType": "USER",
    "PrincipalId": "906722b6-9041-7046-ae76-2ac1f1a1a1a1",
}


def status(state: str, **extra) -> dict:
    return {"AccountAssignmentCreationStatus": {"Status": state, "RequestId": REQUEST_ID, **extra}}


def describe_params() -> dict:
    return {"InstanceArn": ASSIGNMENT["InstanceArn"], "AccountAssignmentCreationRequestId": REQUEST_ID}


@pytest.fixture
def stubbed_sso(moto_server, fresh_clients):
    account = gateway.AccountAccess(ACCOUNT_ID)
    with Stubber(gateway.client_for(account, "sso-admin")) as stub:
        yield account, stub
        stub.assert_no_pending_responses()


def test_a_failed_assignment_is_permanent_with_aws_reason(stubbed_sso):
    account, stub = stubbed_sso
    stub.add_response("create_account_assignment", status("IN_PROGRESS"), ASSIGNMENT)
    reason = "Received a 404 status error: No permission set found."
    stub.add_response(
        "describe_account_assignment_creation_status", status("FAILED", FailureReason=reason), describe_params()
    )

    with pytest.raises(PermanentAwsError, match="Identity Center refused the assignment creation: Received a 404"):
        sso.create_assignment(account, ASSIGNMENT, poll_seconds=0, max_polls=5)


def test_an_assignment_still_in_progress_after_the_bound_is_retried_later(stubbed_sso):
    account, stub = stubbed_sso
    stub.add_response("create_account_assignment", status("IN_PROGRESS"), ASSIGNMENT)
    for _ in range(2):
        stub.add_response("describe_account_assignment_creation_status", status("IN_PROGRESS"), describe_params())

    with pytest.raises(TransientAwsError, match=f"still processing assignment creation {REQUEST_ID}"):
        sso.create_assignment(account, ASSIGNMENT, poll_seconds=0, max_polls=2)


def test_assignments_are_read_back_from_every_page(stubbed_sso):
    account, stub = stubbed_sso
    query = {
        "InstanceArn": ASSIGNMENT["InstanceArn"],
        "AccountId": ACCOUNT_ID,
        "PermissionSetArn": ASSIGNMENT["PermissionSetArn"],
    }

    def row(principal_type, principal_id):
        return {
            "AccountId": ACCOUNT_ID,
            "PermissionSetArn": ASSIGNMENT["PermissionSetArn"],
            "PrincipalType": principal_type,
            "PrincipalId": principal_id,
        }

    stub.add_response(
        "list_account_assignments",
        {"AccountAssignments": [row("USER", "u-1"), row("GROUP", "g-1")], "NextToken": "t2"},
        query,
    )
    stub.add_response(
        "list_account_assignments", {"AccountAssignments": [row("USER", "u-2")]}, {**query, "NextToken": "t2"}
    )
    target = Target(account, "alice", "alice@example.com", ASSIGNMENT["PermissionSetArn"], ASSIGNMENT["InstanceArn"])

    assert sso.assigned_users(target) == {"u-1", "u-2"}


def test_removal_for_a_person_whose_identity_center_user_is_gone_is_read_back_as_absent(
    identity_center, grant_of, aws_direct
):
    grant = grant_of(identity_center.permission_set)
    sync.sync_grant(grant.pk)
    aws_direct("sso-admin").delete_account_assignment(
        InstanceArn=identity_center.instance_arn,
        TargetId=ACCOUNT_ID,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=identity_center.permission_set.aws_name,
        PrincipalType="USER",
        PrincipalId=identity_center.alice,
    )
    aws_direct("identitystore").delete_user(IdentityStoreId=identity_center.store_id, UserId=identity_center.alice)
    give_back(grant)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert grant.sync_state == Grant.SyncState.REVOKED
    assert outcome.detail.startswith(f"alice has no Identity Center user in {identity_center.store_id}")
