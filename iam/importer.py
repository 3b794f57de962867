"""Importing an account's existing groups, managed policies, roles and permission sets into the catalog.

Everything is listed from AWS first, with no transaction open, through paginators. Then one
transaction adds the entitlements the catalog does not have yet (unique on account, kind and
AWS name), each with one `catalog.entitlement_imported` audit event by the admin who ran it.
Imported entitlements are medium risk, owned by that admin, and not requestable: nothing
becomes requestable before an admin has reviewed it. Running the import again creates
nothing for what is already in the catalog.

What is listed:
  iam_group           every IAM group (ListGroups)
  iam_policy          customer-managed policies (ListPolicies Scope=Local) and the AWS-managed
                      policies attached to something in the account (Scope=AWS, OnlyAttached)
  iam_role            every role (ListRoles) except the ones AWS owns: service-linked roles
                      (path /aws-service-role/) and Identity Center's (path /aws-reserved/),
                      which are reached through their service or permission set, never assumed
  sso_permission_set  the permission sets of the account's Identity Center instance, when it
                      has one (ListPermissionSets, then DescribePermissionSet for name and text)
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction

from audit.services import record
from catalog.models import AwsAccount, Entitlement
from iam import gateway
from iam.sync import account_access

AWS_OWNED_ROLE_PATHS = ("/aws-service-role/", "/aws-reserved/")
IMPORTED_ACTION = "catalog.entitlement_imported"
_NAME_LENGTH = Entitlement._meta.get_field("name").max_length


@dataclass(frozen=True)
class Found:
    """One grantable thing as AWS lists it."""

    kind: str
    aws_name: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class ImportResult:
    created: int
    already_present: int
    skipped: int  # AWS-owned roles, never offered


# Told after each kind is listed: which kind and how many of it AWS has (the console's progress bar).
Progress = Callable[[str, int], None]


def import_entitlements(
    account: AwsAccount, *, actor, kinds: Iterable[str] | None = None, progress: Progress | None = None
) -> ImportResult:
    """List the account's entitlements in AWS, then add the missing ones to the catalog (see module doc)."""
    found, skipped = list_entitlements(account, kinds_to_list(account, kinds), progress)
    created = _add_missing(account, found, actor)
    distinct = len({(item.kind, item.aws_name) for item in found})
    return ImportResult(created=created, already_present=distinct - created, skipped=skipped)


def kinds_to_list(account: AwsAccount, kinds: Iterable[str] | None = None) -> list[str]:
    """The kinds an import of `account` lists, in order: permission sets only with Identity Center."""
    wanted = set(kinds) if kinds is not None else set(Entitlement.Kind.values)
    return [
        kind
        for kind in Entitlement.Kind.values
        if kind in wanted and (kind != Entitlement.Kind.SSO_PERMISSION_SET or account.sso_instance_arn)
    ]


def list_entitlements(
    account: AwsAccount, kinds: Iterable[str], progress: Progress | None = None
) -> tuple[list[Found], int]:
    """What AWS has of the given kinds, and how many AWS-owned roles were left out."""
    access = account_access(account)
    found: list[Found] = []
    skipped = 0
    listers = {
        Entitlement.Kind.IAM_GROUP: lambda: list_groups(access),
        Entitlement.Kind.IAM_POLICY: lambda: list_policies(access),
        Entitlement.Kind.IAM_ROLE: lambda: list_roles(access),
        Entitlement.Kind.SSO_PERMISSION_SET: lambda: list_permission_sets(access, account.sso_instance_arn),
    }
    for kind in kinds:
        if kind == Entitlement.Kind.SSO_PERMISSION_SET and not account.sso_instance_arn:
            continue
        listed = listers[kind]()
        if kind == Entitlement.Kind.IAM_ROLE:
            listed, skipped = listed
        found += listed
        if progress is not None:
            progress(kind, len(listed))
    return found, skipped


def list_groups(access: gateway.AccountAccess) -> list[Found]:
    groups = gateway.collect(access, "iam", "list_groups", "Groups")
    return [Found(Entitlement.Kind.IAM_GROUP, group["GroupName"], group["GroupName"]) for group in groups]


def list_policies(access: gateway.AccountAccess) -> list[Found]:
    local = gateway.collect(access, "iam", "list_policies", "Policies", Scope="Local")
    aws_managed = gateway.collect(access, "iam", "list_policies", "Policies", Scope="AWS", OnlyAttached=True)
    return [
        Found(Entitlement.Kind.IAM_POLICY, policy["Arn"], policy["PolicyName"], policy.get("Description", ""))
        for policy in [*local, *aws_managed]
    ]


def list_roles(access: gateway.AccountAccess) -> tuple[list[Found], int]:
    roles = gateway.collect(access, "iam", "list_roles", "Roles")
    grantable = [role for role in roles if not role["Path"].startswith(AWS_OWNED_ROLE_PATHS)]
    found = [
        Found(Entitlement.Kind.IAM_ROLE, role["RoleName"], role["RoleName"], role.get("Description", ""))
        for role in grantable
    ]
    return found, len(roles) - len(grantable)


def list_permission_sets(access: gateway.AccountAccess, instance_arn: str) -> list[Found]:
    arns = gateway.collect(access, "sso-admin", "list_permission_sets", "PermissionSets", InstanceArn=instance_arn)
    found = []
    for arn in arns:
        answer = gateway.call(
            access, "sso-admin", "describe_permission_set", InstanceArn=instance_arn, PermissionSetArn=arn
        )
        permission_set = answer["PermissionSet"]
        found.append(
            Found(
                Entitlement.Kind.SSO_PERMISSION_SET, arn, permission_set["Name"], permission_set.get("Description", "")
            )
        )
    return found


def _add_missing(account: AwsAccount, found: list[Found], actor) -> int:
    """Create what the catalog lacks, owned by `actor`, one audit event each. Returns how many."""
    with transaction.atomic():
        # Locking the account serialises two imports of it, so neither trips over the other's rows.
        AwsAccount.objects.select_for_update(no_key=True).get(pk=account.pk)
        existing = set(Entitlement.objects.filter(account=account).values_list("kind", "aws_name"))
        by_key = {(item.kind, item.aws_name): item for item in found}
        missing = [item for key, item in by_key.items() if key not in existing]
        created = Entitlement.objects.bulk_create(
            Entitlement(
                account=account,
                kind=item.kind,
                aws_name=item.aws_name,
                name=item.name[:_NAME_LENGTH],
                description=item.description or "",
                risk=Entitlement.Risk.MEDIUM,
                requestable=False,
            )
            for item in missing
        )
        Entitlement.owners.through.objects.bulk_create(
            Entitlement.owners.through(entitlement_id=entitlement.pk, user_id=actor.pk) for entitlement in created
        )
        for entitlement in created:
            record(actor=actor, action=IMPORTED_ACTION, obj=entitlement, after=_audited(entitlement, actor))
    return len(created)


def _audited(entitlement: Entitlement, actor) -> dict:
    return {
        "account": entitlement.account_id,
        "kind": entitlement.kind,
        "aws_name": entitlement.aws_name,
        "name": entitlement.name,
        "risk": entitlement.risk,
        "requestable": entitlement.requestable,
        "owners": [actor.pk],
    }
