"""sso_permission_set: an IAM Identity Center assignment of the permission set to the person.

The assignment is on the entitlement's account (TargetType AWS_ACCOUNT) for the person's
Identity Center user (PrincipalType USER). That user is looked up in the identity store of
the account's Identity Center instance (sso-admin ListInstances), first by user name (the
IAM user name, see iam.aws.identity), then by email (identitystore GetUserId).

Creating and deleting assignments is asynchronous in AWS: the request is polled, a bounded
number of times, until SUCCEEDED or FAILED. FAILED is permanent, with AWS's reason; still
in progress after the bound is transient, so the grant is retried and the next run finds
the assignment in place (an assignment is created or deleted only if the person's listing
says it is needed, so a rerun creates no second one). Read back with the person's own assignments on the account
(ListAccountAssignmentsForPrincipal, every page), not every holder of the permission set.

Identity Center's APIs answer only in the organisation's management account or its
delegated administrator account, so the account's access must reach that account for
permission-set entitlements.
"""

import time

from iam.apply.operations.target import Target
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError

POLL_SECONDS = 1.0
MAX_POLLS = 15


_identity_stores: dict[tuple, str] = {}


class NoIdentityCenterUser(PermanentAwsError):
    """The person has no user in the instance's identity store."""


def apply(target: Target, *, present: bool, poll_seconds: float = POLL_SECONDS, max_polls: int = MAX_POLLS) -> str:
    """Create or delete the person's assignment if needed, then read the assignments back."""
    if not target.sso_instance_arn:
        raise PermanentAwsError(
            f"Account {target.account.account_id} names no Identity Center instance; set its instance ARN.",
            "NoIdentityCenterInstance",
        )
    store_id = identity_store_id(target.account, target.sso_instance_arn)
    try:
        user_id = identity_center_user_id(target.account, store_id, target.user_name, target.email)
    except NoIdentityCenterUser:
        if present:
            raise
        return f"{target.user_name} has no Identity Center user in {store_id}, so no assignment of {target.aws_name}"
    params = _assignment(target, user_id)
    if is_assigned(target, user_id) != present:
        change = create_assignment if present else delete_assignment
        change(target.account, params, poll_seconds=poll_seconds, max_polls=max_polls)
    if is_assigned(target, user_id) != present:
        raise TransientAwsError(f"Identity Center finished the change for {target.user_name} but does not show it yet.")
    verb = "is assigned" if present else "is not assigned"
    return (
        f"{target.user_name} (Identity Center user {user_id}) {verb} {target.aws_name} "
        f"on {target.account.account_id} (read back)"
    )


def identity_store_id(account: gateway.AccountAccess, instance_arn: str) -> str:
    """The identity store of the Identity Center instance (an instance keeps its store: read once per process)."""
    key = (account, instance_arn)
    if key in _identity_stores:
        return _identity_stores[key]
    for instance in gateway.collect(account, "sso-admin", "list_instances", "Instances"):
        if instance["InstanceArn"] == instance_arn:
            _identity_stores[key] = instance["IdentityStoreId"]
            return instance["IdentityStoreId"]
    raise PermanentAwsError(
        f"Identity Center instance {instance_arn} is not visible from account {account.account_id}.", "NoSuchInstance"
    )


def identity_center_user_id(account: gateway.AccountAccess, store_id: str, user_name: str, email: str) -> str:
    """The person's Identity Center user id: by user name, else by email."""
    for path, value in (("userName", user_name), ("emails.value", email)):
        if not value:
            continue
        identifier = {"UniqueAttribute": {"AttributePath": path, "AttributeValue": value}}
        try:
            answer = gateway.call(
                account, "identitystore", "get_user_id", IdentityStoreId=store_id, AlternateIdentifier=identifier
            )
        except PermanentAwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            continue
        return answer["UserId"]
    raise NoIdentityCenterUser(
        f"{user_name} has no Identity Center user in identity store {store_id} "
        f"(looked up by user name {user_name!r} and email {email!r}).",
        "NoIdentityCenterUser",
    )


def is_assigned(target: Target, user_id: str) -> bool:
    """Whether the person holds the permission set on the account: their own assignments, read from AWS.

    ListAccountAssignmentsForPrincipal (all pages), filtered to the account: what it reads grows
    with the person's assignments, not with everyone holding the permission set.
    """
    assignments = gateway.collect(
        target.account,
        "sso-admin",
        "list_account_assignments_for_principal",
        "AccountAssignments",
        InstanceArn=target.sso_instance_arn,
        PrincipalId=user_id,
        PrincipalType="USER",
        Filter={"AccountId": target.account.account_id},
    )
    return any(
        row["PermissionSetArn"] == target.aws_name and row["AccountId"] == target.account.account_id
        for row in assignments
    )


def assigned_users(target: Target) -> set[str]:
    """Identity Center user ids holding the permission set on the account, read from AWS (all pages)."""
    assignments = gateway.collect(
        target.account,
        "sso-admin",
        "list_account_assignments",
        "AccountAssignments",
        InstanceArn=target.sso_instance_arn,
        AccountId=target.account.account_id,
        PermissionSetArn=target.aws_name,
    )
    return {row["PrincipalId"] for row in assignments if row["PrincipalType"] == "USER"}


def create_assignment(account: gateway.AccountAccess, params: dict, *, poll_seconds: float, max_polls: int) -> None:
    status = gateway.call(account, "sso-admin", "create_account_assignment", **params)
    _await(
        account, params["InstanceArn"], status["AccountAssignmentCreationStatus"], "creation", poll_seconds, max_polls
    )


def delete_assignment(account: gateway.AccountAccess, params: dict, *, poll_seconds: float, max_polls: int) -> None:
    status = gateway.call(account, "sso-admin", "delete_account_assignment", **params)
    _await(
        account, params["InstanceArn"], status["AccountAssignmentDeletionStatus"], "deletion", poll_seconds, max_polls
    )


def _await(
    account: gateway.AccountAccess, instance_arn: str, status: dict, stage: str, poll_seconds: float, max_polls: int
) -> None:
    """Poll the request until it leaves IN_PROGRESS; FAILED is permanent, too slow is transient.

    The first poll is at once (Identity Center often finishes within the round trip), then one
    every `poll_seconds`.
    """
    label = stage.capitalize()
    polls = 0
    while status["Status"] == "IN_PROGRESS":
        if polls >= max_polls:
            raise TransientAwsError(
                f"Identity Center is still processing assignment {stage} {status['RequestId']}; checking again later.",
                "InProgress",
            )
        if polls:
            time.sleep(poll_seconds)
        answer = gateway.call(
            account,
            "sso-admin",
            f"describe_account_assignment_{stage}_status",
            InstanceArn=instance_arn,
            **{f"AccountAssignment{label}RequestId": status["RequestId"]},
        )
        status = answer[f"AccountAssignment{label}Status"]
        polls += 1
    if status["Status"] == "FAILED":
        reason = status.get("FailureReason") or "AWS gave no reason"
        raise PermanentAwsError(f"Identity Center refused the assignment {stage}: {reason}", "AssignmentFailed")


def _assignment(target: Target, user_id: str) -> dict:
    return {
        "InstanceArn": target.sso_instance_arn,
        "TargetId": target.account.account_id,
        "TargetType": "AWS_ACCOUNT",
        "PermissionSetArn": target.aws_name,
        "PrincipalType": "USER",
        "PrincipalId": user_id,
    }
