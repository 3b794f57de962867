"""Who gets what, where: the input of every operation."""

from dataclasses import dataclass

from iam.aws.gateway import AccountAccess


@dataclass(frozen=True)
class Target:
    """One person and one entitlement in one account, as AWS knows them."""

    account: AccountAccess
    user_name: str  # the IAM user name (iam.aws.identity.iam_user_name)
    email: str
    aws_name: str  # group or role name, policy or permission set ARN
    sso_instance_arn: str = ""
