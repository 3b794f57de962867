"""What people hold in one AWS account, read from AWS in bulk for the reconciler.

Read with no database transaction open, in as few calls as AWS allows:
  iam_group, iam_policy, iam_role   one paginated GetAccountAuthorizationDetails walk (Filter
                                    User, 1,000 users a page): each user's GroupList,
                                    AttachedManagedPolicies, and inline policies named
                                    `portal-assume-<Role>` (role access, see iam.apply.operations.roles)
  sso_permission_set                when the account names an Identity Center instance: its
                                    identity store (ListInstances), the permission sets of the
                                    catalog plus those provisioned to the account
                                    (ListPermissionSetsProvisionedToAccount), ListAccountAssignments
                                    per permission set, and one DescribeUser per distinct user
                                    assigned, to learn their user name and email

Only user assignments are read: assignments to Identity Center groups are not per person.
Each holding names the portal person it belongs to when there is one: for IAM, the person
whose IAM user name (iam.aws.identity) it is; for Identity Center, the person whose IAM user name
is the Identity Center user name, else whose email the user has (the lookup iam.apply.operations.sso
makes the other way round).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from catalog.models import AwsAccount, Entitlement
from iam.apply.operations import sso
from iam.apply.operations.roles import ASSUME_POLICY_PREFIX
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError
from iam.aws.gateway import account_access
from iam.aws.identity import people_by_email, people_by_iam_user_name

Kind = Entitlement.Kind
AUTHORIZATION_PAGE_SIZE = 1000  # GetAccountAuthorizationDetails' largest page
ASSIGNMENT_PAGE_SIZE = 100  # ListAccountAssignments' largest page


@dataclass(frozen=True)
class Held:
    """One person's access to one thing, as AWS shows it."""

    kind: str
    principal: str  # the IAM user name; for permission sets, the Identity Center user name
    aws_name: str  # group or role name, policy or permission set ARN
    person_id: int | None = None
    email: str = ""  # the Identity Center user's email, to find them again

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.principal, self.aws_name


@dataclass(frozen=True)
class Inventory:
    read_at: datetime  # when reading began: nothing changed later is in it
    held: list[Held]
    principals_seen: int
    identity_center_read: bool  # every user assignment on the account was read
    iam_user_names: frozenset[str] = frozenset()  # every IAM user of the account


def read_account(account: AwsAccount) -> Inventory:
    """Everything people hold in the account, each holding once (see module doc)."""
    access = account_access(account)
    read_at = timezone.now()
    held, iam_users = _iam_holdings(access)
    iam_user_names = frozenset(iam_users)
    people = people_by_iam_user_name({item.principal for item in held}, account)
    held = [Held(item.kind, item.principal, item.aws_name, people.get(item.principal)) for item in held]
    center_users = 0
    if account.sso_instance_arn:
        assignments, center_users = _identity_center_holdings(account, access)
        held += assignments
    unique = {item.key: item for item in held}
    return Inventory(
        read_at, list(unique.values()), len(iam_users) + center_users, bool(account.sso_instance_arn), iam_user_names
    )


def _iam_holdings(access: gateway.AccountAccess) -> tuple[list[Held], list[str]]:
    held: list[Held] = []
    users: list[str] = []
    walk = gateway.pages(
        access,
        "iam",
        "get_account_authorization_details",
        Filter=["User"],
        PaginationConfig={"PageSize": AUTHORIZATION_PAGE_SIZE},
    )
    for page in walk:
        for user in page.get("UserDetailList", []):
            name = user["UserName"]
            users.append(name)
            held += [Held(Kind.IAM_GROUP, name, group) for group in user.get("GroupList", [])]
            held += [Held(Kind.IAM_POLICY, name, item["PolicyArn"]) for item in user.get("AttachedManagedPolicies", [])]
            held += [
                Held(Kind.IAM_ROLE, name, item["PolicyName"].removeprefix(ASSUME_POLICY_PREFIX))
                for item in user.get("UserPolicyList", [])
                if item["PolicyName"].startswith(ASSUME_POLICY_PREFIX) and item["PolicyName"] != ASSUME_POLICY_PREFIX
            ]
    return held, users


def _identity_center_holdings(account: AwsAccount, access: gateway.AccountAccess) -> tuple[list[Held], int]:
    instance = account.sso_instance_arn
    store_id = sso.identity_store_id(access, instance)
    catalog = Entitlement.objects.filter(account=account, kind=Kind.SSO_PERMISSION_SET)
    permission_sets = set(catalog.values_list("aws_name", flat=True))
    permission_sets |= set(
        gateway.collect(
            access,
            "sso-admin",
            "list_permission_sets_provisioned_to_account",
            "PermissionSets",
            InstanceArn=instance,
            AccountId=account.account_id,
        )
    )
    assigned = [(arn, user_id) for arn in sorted(permission_sets) for user_id in _assigned_users(access, account, arn)]
    users = {user_id: _describe_user(access, store_id, user_id) for user_id in sorted({pair[1] for pair in assigned})}
    by_name = people_by_iam_user_name((name for name, _ in users.values()), account)
    by_email = people_by_email(email for _, email in users.values() if email)
    held = []
    for arn, user_id in assigned:
        name, email = users[user_id]
        person_id = by_name.get(name) or by_email.get(email.lower())
        held.append(Held(Kind.SSO_PERMISSION_SET, name, arn, person_id, email))
    return held, len(users)


def _assigned_users(access: gateway.AccountAccess, account: AwsAccount, permission_set_arn: str) -> list[str]:
    try:
        rows = gateway.collect(
            access,
            "sso-admin",
            "list_account_assignments",
            "AccountAssignments",
            InstanceArn=account.sso_instance_arn,
            AccountId=account.account_id,
            PermissionSetArn=permission_set_arn,
            PaginationConfig={"PageSize": ASSIGNMENT_PAGE_SIZE},
        )
    except PermanentAwsError as exc:
        if exc.code == "ResourceNotFoundException":
            return []  # a catalog permission set deleted in AWS: nobody holds it
        raise
    return [row["PrincipalId"] for row in rows if row["PrincipalType"] == "USER"]


def _describe_user(access: gateway.AccountAccess, store_id: str, user_id: str) -> tuple[str, str]:
    """The Identity Center user's name and primary (else first) email; an unknown user is named by id."""
    try:
        user = gateway.call(access, "identitystore", "describe_user", IdentityStoreId=store_id, UserId=user_id)
    except PermanentAwsError as exc:
        if exc.code == "ResourceNotFoundException":
            return user_id, ""
        raise
    emails = user.get("Emails", [])
    primary = [item["Value"] for item in emails if item.get("Primary")] or [item["Value"] for item in emails]
    return user.get("UserName") or user_id, primary[0] if primary else ""
