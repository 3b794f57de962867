"""Drift of every entitlement kind: managed policies, role access and Identity Center assignments."""

import json
from types import SimpleNamespace

import pytest

from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.apply import sync
from iam.models import UnmanagedAccess
from iam.reconcile import reconcile

ACCOUNT_ID = "123456789012"
READ_BILLING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ce:Get*", "Resource": "*"}]}
TRUST_THE_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
    ],
}
ASSUME_ANYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
}


def enforce(account):
    account.sync_mode = account.SyncMode.ENFORCE
    account.save(update_fields=["sync_mode"])


def open_drift() -> set[tuple]:
    rows = UnmanagedAccess.objects.filter(state="open")
    return set(rows.values_list("kind", "aws_principal", "aws_name", "person__email", "entitlement__name"))


@pytest.fixture
def billing_policy(aws, aws_direct, entitlement_of):
    arn = aws_direct("iam").create_policy(PolicyName="ReadBilling", PolicyDocument=json.dumps(READ_BILLING))
    return entitlement_of(Entitlement.Kind.IAM_POLICY, arn["Policy"]["Arn"], "Read billing")


@pytest.fixture
def deployer(aws, aws_direct, entitlement_of):
    aws_direct("iam").create_role(RoleName="Deployer", AssumeRolePolicyDocument=json.dumps(TRUST_THE_ACCOUNT))
    return entitlement_of(Entitlement.Kind.IAM_ROLE, "Deployer", "Deployer role")


def attached(aws_direct, user_name: str) -> list[str]:
    answer = aws_direct("iam").list_attached_user_policies(UserName=user_name)
    return [policy["PolicyArn"] for policy in answer["AttachedPolicies"]]


def test_a_managed_policy_attached_out_of_band_is_reported(billing_policy, aws_direct, sandbox):
    aws_direct("iam").attach_user_policy(UserName="bob", PolicyArn=billing_policy.aws_name)

    run = reconcile.reconcile_account(sandbox.account.pk)

    assert open_drift() == {("iam_policy", "bob", billing_policy.aws_name, "bob@example.com", "Read billing")}
    assert (run.api_calls, run.drift_found) == (1, 1)


def test_a_managed_policy_attached_out_of_band_is_detached_in_enforce_mode(billing_policy, aws_direct, sandbox):
    enforce(sandbox.account)
    aws_direct("iam").attach_user_policy(UserName="bob", PolicyArn=billing_policy.aws_name)

    reconcile.reconcile_account(sandbox.account.pk)

    assert attached(aws_direct, "bob") == []
    assert UnmanagedAccess.objects.get().state == "removed"
    evidence = AuditEvent.objects.get(action="drift.removed").after["evidence"]
    assert evidence == f"bob does not have {billing_policy.aws_name} attached in {ACCOUNT_ID} (read back)"


def test_a_policy_granted_through_the_portal_is_not_drift(billing_policy, grant_of, aws_direct, sandbox):
    enforce(sandbox.account)
    grant = grant_of(billing_policy)
    sync.sync_grant(grant.pk)

    run = reconcile.reconcile_account(sandbox.account.pk)

    assert (run.drift_found, run.changes_made) == (0, 0)
    assert attached(aws_direct, "alice") == [billing_policy.aws_name]


def test_role_access_added_out_of_band_is_reported(deployer, aws_direct, sandbox):
    aws_direct("iam").put_user_policy(
        UserName="carol", PolicyName="portal-assume-Deployer", PolicyDocument=json.dumps(ASSUME_ANYTHING)
    )

    reconcile.reconcile_account(sandbox.account.pk)

    assert open_drift() == {("iam_role", "carol", "Deployer", "carol@example.com", "Deployer role")}


def test_role_access_added_out_of_band_is_removed_with_its_sessions_in_enforce_mode(deployer, aws_direct, sandbox):
    enforce(sandbox.account)
    iam = aws_direct("iam")
    iam.put_user_policy(
        UserName="carol", PolicyName="portal-assume-Deployer", PolicyDocument=json.dumps(ASSUME_ANYTHING)
    )

    reconcile.reconcile_account(sandbox.account.pk)

    assert iam.list_user_policies(UserName="carol")["PolicyNames"] == []
    revoked = iam.get_role_policy(RoleName="Deployer", PolicyName="portal-revoked-sessions")["PolicyDocument"]
    assert [statement["Condition"]["StringLike"] for statement in revoked["Statement"]] == [{"aws:userid": "*:carol"}]
    assert UnmanagedAccess.objects.get().state == "removed"


def test_other_inline_policies_and_granted_roles_are_not_drift(deployer, grant_of, aws_direct, sandbox):
    grant = grant_of(deployer)
    sync.sync_grant(grant.pk)
    aws_direct("iam").put_user_policy(
        UserName="bob", PolicyName="team-notes", PolicyDocument=json.dumps(ASSUME_ANYTHING)
    )

    run = reconcile.reconcile_account(sandbox.account.pk)

    assert (run.drift_found, run.changes_made) == (0, 0)


# --- Identity Center ----------------------------------------------------------------------


@pytest.fixture
def identity_center(aws, aws_direct, sandbox, entitlement_of):
    """The simulator's Identity Center on the sandbox, a ReadOnly permission set in the catalog, Alice's user."""
    admin = aws_direct("sso-admin")
    instance = admin.list_instances()["Instances"][0]
    sandbox.account.sso_instance_arn = instance["InstanceArn"]
    sandbox.account.save(update_fields=["sso_instance_arn"])
    read_only = admin.create_permission_set(Name="ReadOnly", InstanceArn=instance["InstanceArn"])["PermissionSet"]
    center = SimpleNamespace(
        instance_arn=instance["InstanceArn"],
        store_id=instance["IdentityStoreId"],
        read_only=entitlement_of(Entitlement.Kind.SSO_PERMISSION_SET, read_only["PermissionSetArn"], "Read only"),
    )
    center.alice = add_user(aws_direct, center, "alice", "alice@example.com")
    return center


def add_user(aws_direct, center, user_name: str, email: str) -> str:
    return aws_direct("identitystore").create_user(
        IdentityStoreId=center.store_id,
        UserName=user_name,
        DisplayName=user_name,
        Name={"GivenName": user_name, "FamilyName": "Example"},
        Emails=[{"Value": email, "Primary": True}],
    )["UserId"]


def assign(aws_direct, center, permission_set_arn: str, user_id: str) -> None:
    aws_direct("sso-admin").create_account_assignment(
        InstanceArn=center.instance_arn,
        TargetId=ACCOUNT_ID,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=permission_set_arn,
        PrincipalType="USER",
        PrincipalId=user_id,
    )


def assigned(aws_direct, center, permission_set_arn: str) -> list[str]:
    answer = aws_direct("sso-admin").list_account_assignments(
        InstanceArn=center.instance_arn, AccountId=ACCOUNT_ID, PermissionSetArn=permission_set_arn
    )
    return [row["PrincipalId"] for row in answer["AccountAssignments"]]


def test_an_assignment_made_out_of_band_is_reported(identity_center, aws_direct, sandbox):
    assign(aws_direct, identity_center, identity_center.read_only.aws_name, identity_center.alice)

    run = reconcile.reconcile_account(sandbox.account.pk)

    assert open_drift() == {
        ("sso_permission_set", "alice", identity_center.read_only.aws_name, "alice@example.com", "Read only")
    }
    # The walk; ListInstances, ListPermissionSetsProvisionedToAccount, ListAccountAssignments, DescribeUser.
    assert (run.api_calls, run.principals_seen, run.drift_found) == (5, 6, 1)


def test_an_assignment_made_out_of_band_is_deleted_in_enforce_mode(identity_center, aws_direct, sandbox):
    enforce(sandbox.account)
    assign(aws_direct, identity_center, identity_center.read_only.aws_name, identity_center.alice)

    reconcile.reconcile_account(sandbox.account.pk)

    assert assigned(aws_direct, identity_center, identity_center.read_only.aws_name) == []
    assert UnmanagedAccess.objects.get().state == "removed"


def test_an_identity_center_user_is_matched_to_the_person_by_email(identity_center, aws_direct, sandbox, cast):
    user_id = add_user(aws_direct, identity_center, "b.manager@corp.example", "Bob@Example.com")
    assign(aws_direct, identity_center, identity_center.read_only.aws_name, user_id)

    reconcile.reconcile_account(sandbox.account.pk)

    row = UnmanagedAccess.objects.get()
    assert (row.aws_principal, row.person, row.principal_email) == (
        "b.manager@corp.example",
        cast.bob,
        "Bob@Example.com",
    )


def test_a_permission_set_outside_the_catalog_held_by_a_stranger_is_reported(identity_center, aws_direct, sandbox):
    admin = aws_direct("sso-admin")
    billing = admin.create_permission_set(Name="Billing", InstanceArn=identity_center.instance_arn)["PermissionSet"]
    # AWS provisions a permission set to the account with its first assignment; the simulator needs telling.
    admin.provision_permission_set(
        InstanceArn=identity_center.instance_arn,
        PermissionSetArn=billing["PermissionSetArn"],
        TargetType="AWS_ACCOUNT",
        TargetId=ACCOUNT_ID,
    )
    stranger = add_user(aws_direct, identity_center, "contractor", "contractor@vendor.example")
    assign(aws_direct, identity_center, billing["PermissionSetArn"], stranger)

    reconcile.reconcile_account(sandbox.account.pk)

    assert open_drift() == {("sso_permission_set", "contractor", billing["PermissionSetArn"], None, None)}


def test_an_assignment_granted_through_the_portal_and_removed_out_of_band_is_reapplied(
    identity_center, grant_of, aws_direct, sandbox
):
    grant = grant_of(identity_center.read_only)
    sync.sync_grant(grant.pk)
    run = reconcile.reconcile_account(sandbox.account.pk)
    assert (run.drift_found, run.changes_made) == (0, 0)
    aws_direct("sso-admin").delete_account_assignment(
        InstanceArn=identity_center.instance_arn,
        TargetId=ACCOUNT_ID,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=identity_center.read_only.aws_name,
        PrincipalType="USER",
        PrincipalId=identity_center.alice,
    )

    run = reconcile.reconcile_account(sandbox.account.pk)
    assert run.missing_reapplied == 1
    assert sync.sync_grant(grant.pk).result == "applied"

    assert assigned(aws_direct, identity_center, identity_center.read_only.aws_name) == [identity_center.alice]
