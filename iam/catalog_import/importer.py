"""Importing an account's existing groups, managed policies, roles and permission sets into the catalog.

Everything is listed from AWS first, with no transaction open, through paginators. Then, `BATCH`
entitlements at a time: the policy documents behind each are read from AWS (no transaction open),
and one short transaction adds the batch's entitlements the catalog does not have yet (unique on
account, kind and AWS name), stores what each one's policies allow (sod's EntitlementPermissions)
and records the batch's `catalog.entitlement_imported` events, by the admin who ran it, with one
`record_many` at its end. Short transactions, because every audit event waits at the chain's head:
one transaction for the whole import held it, and every approval in the portal with it, until the end.

A policy document that cannot be read (not JSON, not UTF-8, nested too deep, a Statement that is not
a list or an object...: iam.facts.policy_text) does not stop the import: the entitlement is imported, the
problem is stored on it in words (its page and the console list show it, the run's summary names it)
and its last documents read whole are kept, never some of the new ones. The next import that reads
them all clears it. An AWS error reading one entitlement's policies is stored on it the same way.

Imported entitlements are medium risk, owned by that admin, and not requestable: nothing becomes
requestable before an admin has reviewed it. Running the import again creates nothing for what is
already in the catalog, and reads every entitlement's policies again.

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

from accounts.models import User
from audit.services import record_many
from catalog.models import AwsAccount, Entitlement
from iam.aws import gateway
from iam.aws.errors import AwsError
from iam.aws.gateway import account_access
from iam.facts.permissions import read_entitlement
from sod.services import record_many_permissions

AWS_OWNED_ROLE_PATHS = ("/aws-service-role/", "/aws-reserved/")
IMPORTED_ACTION = "catalog.entitlement_imported"
_NAME_LENGTH = Entitlement._meta.get_field("name").max_length
# Entitlements read and saved per transaction: a hundred inserts and events hold the audit head for
# milliseconds, and the page's progress moves with every batch.
BATCH = 100


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
    # The names of the entitlements with a policy document that could not be read, in the order listed.
    unreadable: tuple[str, ...] = ()


# Told after each kind is listed: which kind and how many of it AWS has (the console's progress bar).
Progress = Callable[[str, int], None]
# Told after each batch is saved: how many entitlements are saved so far, of how many.
Saved = Callable[[int, int], None]
# One entitlement's policies as sod.services.record_many_permissions stores them: documents, error, unreadable.
Policies = tuple[list[dict], str, str]


def import_entitlements(
    account: AwsAccount,
    *,
    actor: User,
    kinds: Iterable[str] | None = None,
    progress: Progress | None = None,
    saved: Saved | None = None,
    batch: int = BATCH,
) -> ImportResult:
    """List the account's entitlements in AWS, then read and save them a batch at a time (see module doc)."""
    found, skipped = list_entitlements(account, kinds_to_list(account, kinds), progress)
    distinct = list({(item.kind, item.aws_name): item for item in found}.values())
    access = account_access(account)
    created, unreadable = 0, []
    for start in range(0, len(distinct), batch):
        items = distinct[start : start + batch]
        policies = {item: _policies(access, account, item) for item in items}
        created += _save_batch(account, policies, actor)
        unreadable += [item.name[:_NAME_LENGTH] for item in items if policies[item][2]]
        if saved is not None:
            saved(start + len(items), len(distinct))
    return ImportResult(
        created=created, already_present=len(distinct) - created, skipped=skipped, unreadable=tuple(unreadable)
    )


def _policies(access: gateway.AccountAccess, account: AwsAccount, item: Found) -> Policies:
    try:
        reading = read_entitlement(access, item.kind, item.aws_name, account.sso_instance_arn)
    except AwsError as exc:
        return [], exc.message, ""
    return reading.documents, "", reading.problem


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
    # Roles are listed on their own: only their lister also counts what it left out.
    listers: dict[str, Callable[[], list[Found]]] = {
        Entitlement.Kind.IAM_GROUP: lambda: list_groups(access),
        Entitlement.Kind.IAM_POLICY: lambda: list_policies(access),
        Entitlement.Kind.SSO_PERMISSION_SET: lambda: list_permission_sets(access, account.sso_instance_arn),
    }
    for kind in kinds:
        if kind == Entitlement.Kind.SSO_PERMISSION_SET and not account.sso_instance_arn:
            continue
        if kind == Entitlement.Kind.IAM_ROLE:
            listed, skipped = list_roles(access)
        else:
            listed = listers[kind]()
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


def _save_batch(account: AwsAccount, policies: dict[Found, Policies], actor: User) -> int:
    """One transaction: create what the catalog lacks of the batch, owned by `actor`; store every one's
    policies; the batch's events in one `record_many` at the end (the audit head is locked last).
    Returns how many were created."""
    with transaction.atomic():
        # Locking the account serialises two imports of it, so neither trips over the other's rows.
        AwsAccount.objects.select_for_update(no_key=True, of=("self",)).get(pk=account.pk)
        names_by_kind: dict[str, list[str]] = {}
        for item in policies:
            names_by_kind.setdefault(item.kind, []).append(item.aws_name)
        ids = {
            (kind, aws_name): pk
            for kind, names in names_by_kind.items()
            for pk, aws_name in Entitlement.objects.filter(account=account, kind=kind, aws_name__in=names).values_list(
                "pk", "aws_name"
            )
        }
        missing = [item for item in policies if (item.kind, item.aws_name) not in ids]
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
        ids.update({(entitlement.kind, entitlement.aws_name): entitlement.pk for entitlement in created})
        Entitlement.owners.through.objects.bulk_create(
            Entitlement.owners.through(entitlement_id=entitlement.pk, user_id=actor.pk) for entitlement in created
        )
        record_many_permissions({ids[(item.kind, item.aws_name)]: stored for item, stored in policies.items()})
        record_many(
            [
                {"actor": actor, "action": IMPORTED_ACTION, "obj": entitlement, "after": _audited(entitlement, actor)}
                for entitlement in created
            ]
        )
    return len(created)


def _audited(entitlement: Entitlement, actor: User) -> dict:
    return {
        "account": entitlement.account_id,
        "kind": entitlement.kind,
        "aws_name": entitlement.aws_name,
        "name": entitlement.name,
        "risk": entitlement.risk,
        "requestable": entitlement.requestable,
        "owners": [actor.pk],
    }
