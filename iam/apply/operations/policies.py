"""iam_policy: the managed policy is attached to the person's IAM user.

Read back with ListAttachedUserPolicies (every page). Attaching an attached policy and
detaching one that is not attached both succeed, so a rerun changes nothing.
"""

from iam.apply.operations.target import Target
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError


def attach(account: gateway.AccountAccess, user_name: str, policy_arn: str) -> None:
    """Idempotent: AWS accepts attaching a policy that is already attached."""
    gateway.call(account, "iam", "attach_user_policy", UserName=user_name, PolicyArn=policy_arn)


def detach(account: gateway.AccountAccess, user_name: str, policy_arn: str) -> None:
    """Idempotent: a policy that is not attached (AWS answers NoSuchEntity) is already detached."""
    try:
        gateway.call(account, "iam", "detach_user_policy", UserName=user_name, PolicyArn=policy_arn)
    except PermanentAwsError as exc:
        if exc.code != "NoSuchEntity":
            raise


def attached_to_user(account: gateway.AccountAccess, user_name: str) -> set[str]:
    """The ARNs of the managed policies attached to the user, read from AWS (all pages)."""
    attached = gateway.collect(account, "iam", "list_attached_user_policies", "AttachedPolicies", UserName=user_name)
    return {policy["PolicyArn"] for policy in attached}


def apply(target: Target, *, present: bool) -> str:
    """Attach or detach the policy, then read the user's attached policies back."""
    account, user_name, policy_arn = target.account, target.user_name, target.aws_name
    if present:
        attach(account, user_name, policy_arn)
    else:
        detach(account, user_name, policy_arn)
    is_attached = policy_arn in attached_to_user(account, user_name)
    if is_attached != present:
        raise TransientAwsError(f"AWS accepted the change of {policy_arn} for {user_name} but does not show it yet.")
    verb = "has" if present else "does not have"
    return f"{user_name} {verb} {policy_arn} attached in {account.account_id} (read back)"
