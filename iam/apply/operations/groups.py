"""iam_group: the person's IAM user is a member of the group (read back with ListGroupsForUser)."""

from iam.apply.operations.target import Target
from iam.aws import gateway
from iam.aws.errors import TransientAwsError


def apply(target: Target, *, present: bool) -> str:
    """Add or remove the membership, then read the user's groups back from AWS."""
    account, user_name, group = target.account, target.user_name, target.aws_name
    if present:
        gateway.add_user_to_group(account, user_name, group)
    else:
        gateway.remove_user_from_group(account, user_name, group)
    is_member = group in gateway.groups_of_user(account, user_name)
    if is_member != present:
        raise TransientAwsError(f"AWS accepted the change for {user_name} in {group} but does not show it yet.")
    verb = "is a member of" if present else "is not a member of"
    return f"{user_name} {verb} {group} in {account.account_id} (read back)"
