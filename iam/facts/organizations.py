"""AWS Organizations as the source of accounts: the connection, discovery, which OUs are governed, and each
governed account's connection state.

One service function per state change, each audited in the transaction of its change (docs/architecture.md).
AWS is read before the transaction opens, so no lock is held across a network call. Discovery records every OU
and account it finds; accounts under a governed OU (or under any OU beneath one) that are ACTIVE become
governed AwsAccounts, reached through the member role the StackSet deploys everywhere with one name and external
id (docs/operations.md). Suspended accounts are recorded, never governed; a governed account that is suspended
later keeps its history and is marked so (the reconciler skips it).
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import ObjectRef, record, record_many
from catalog.models import AwsAccount, OrganizationAccount, OrganizationalUnit, OrganizationConnection, OrgStatus
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError
from iam.aws.member_role import MEMBER_ROLE
from iam.facts.permissions import principal_documents
from sod.evaluation import evaluate_actions

# What the check needs to read the member role's own policies: missing, nothing else can be judged.
READING_ITS_POLICIES = (
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
)

CONNECTED_ACTION = "catalog.organization_connected"
DISCOVERED_ACTION = "catalog.organization_discovered"
GOVERNED_OUS_ACTION = "catalog.organization_ous_governed"
ACCOUNT_GOVERNED_ACTION = "catalog.account_governed"
ORG_STATUS_ACTION = "catalog.account_org_status_changed"
CONNECTION_STATE_ACTION = "catalog.account_connection_changed"

_ORGANIZATION = ObjectRef("catalog.organization", "1")


class NotConnected(Exception):
    """No AWS Organizations connection is configured."""


@dataclass
class Discovery:
    units: int = 0
    accounts: int = 0
    newly_governed: list[str] = field(default_factory=list)  # account ids


def connect(
    *, actor: User, role_arn: str, external_id: str = "", member_role_name: str = "", member_external_id: str = ""
) -> OrganizationConnection:
    """Connect (or reconnect) the management account or delegated administrator; audited."""
    with transaction.atomic():
        existing = OrganizationConnection.objects.select_for_update().first()
        before = {"role_arn": existing.role_arn, "member_role_name": existing.member_role_name} if existing else None
        connection = existing or OrganizationConnection()
        connection.role_arn, connection.external_id = role_arn, external_id
        connection.member_role_name = member_role_name or connection.member_role_name or "AccessPortalMember"
        connection.member_external_id = member_external_id
        connection.full_clean()
        connection.save()
        after = {"role_arn": role_arn, "member_role_name": connection.member_role_name}
        record(actor=actor, action=CONNECTED_ACTION, obj=connection, before=before, after=after)
    return connection


def _management_access(connection: OrganizationConnection) -> gateway.AccountAccess:
    return gateway.AccountAccess(connection.role_arn.split(":")[4], connection.role_arn, connection.external_id)


def _walk(access: gateway.AccountAccess) -> tuple[list[tuple[str, str, str | None]], list[tuple[dict, str]]]:
    """Every root and OU (parents before children) and every account with its parent, all pages."""
    units: list[tuple[str, str, str | None]] = []
    accounts: list[tuple[dict, str]] = []
    roots = gateway.collect(access, "organizations", "list_roots", "Roots")
    queue = [(root["Id"], root["Name"], None) for root in roots]
    while queue:
        unit = queue.pop(0)
        units.append(unit)
        children = gateway.collect(
            access, "organizations", "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=unit[0]
        )
        queue += [(child["Id"], child["Name"], unit[0]) for child in children]
        found = gateway.collect(access, "organizations", "list_accounts_for_parent", "Accounts", ParentId=unit[0])
        accounts += [(account, unit[0]) for account in found]
    return units, accounts


def discover(*, actor: User | None = None) -> Discovery:
    """Read the organisation's OUs and accounts, record them, and govern the accounts under governed OUs."""
    connection = OrganizationConnection.objects.first()
    if connection is None:
        raise NotConnected("Connect AWS Organizations first.")
    try:
        units, accounts = _walk(_management_access(connection))
    except (TransientAwsError, PermanentAwsError) as exc:
        OrganizationConnection.objects.filter(pk=connection.pk).update(last_error=str(exc))
        raise
    now = timezone.now()
    with transaction.atomic():
        # One discovery or choice of OUs at a time: the daily job and an admin's click may meet.
        OrganizationConnection.objects.select_for_update(no_key=True).get(pk=connection.pk)
        by_id: dict[str | None, OrganizationalUnit] = {}
        for ou_id, name, parent_id in units:
            by_id[ou_id], _ = OrganizationalUnit.objects.update_or_create(
                ou_id=ou_id, defaults={"name": name, "parent": by_id.get(parent_id)}
            )
        for account, parent_id in accounts:
            OrganizationAccount.objects.update_or_create(
                account_id=account["Id"],
                defaults={
                    "name": account["Name"],
                    "email": account.get("Email", ""),
                    "status": account["Status"],
                    "ou": by_id[parent_id],
                    "last_seen_at": now,
                },
            )
        OrganizationConnection.objects.filter(pk=connection.pk).update(last_discovered_at=now, last_error="")
        newly, events = _govern(connection, actor=actor)
        summary = {"units": len(units), "accounts": len(accounts)}
        record_many([{"actor": actor, "action": DISCOVERED_ACTION, "obj": _ORGANIZATION, "after": summary}, *events])
    return Discovery(len(units), len(accounts), newly)


def set_governed_ous(*, actor: User, ou_ids: set[str]) -> list[str]:
    """The admin's choice of governed OUs; accounts now under one are governed at once. Returns their ids."""
    connection = OrganizationConnection.objects.first()
    if connection is None:
        raise NotConnected("Connect AWS Organizations first.")
    with transaction.atomic():
        OrganizationConnection.objects.select_for_update(no_key=True).get(pk=connection.pk)
        before = sorted(OrganizationalUnit.objects.filter(governed=True).values_list("ou_id", flat=True))
        OrganizationalUnit.objects.exclude(ou_id__in=ou_ids).update(governed=False)
        OrganizationalUnit.objects.filter(ou_id__in=ou_ids).update(governed=True)
        after = sorted(OrganizationalUnit.objects.filter(governed=True).values_list("ou_id", flat=True))
        newly, events = _govern(connection, actor=actor)
        choice = {"actor": actor, "action": GOVERNED_OUS_ACTION, "obj": _ORGANIZATION}
        record_many([{**choice, "before": {"ous": before}, "after": {"ous": after}}, *events])
        return newly


def governed_unit_ids() -> set[int]:
    """Primary keys of the governed OUs and of every OU beneath one."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in OrganizationalUnit.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    stack = list(OrganizationalUnit.objects.filter(governed=True).values_list("pk", flat=True))
    governed: set[int] = set()
    while stack:
        pk = stack.pop()
        if pk not in governed:
            governed.add(pk)
            stack += children.get(pk, [])
    return governed


def _account_name(name: str, account_id: str) -> str:
    taken = AwsAccount.objects.filter(name=name).exclude(account_id=account_id).exists()
    return f"{name} ({account_id})"[:100] if taken else name[:100]


def _govern(connection: OrganizationConnection, *, actor: User | None) -> tuple[list[str], list[dict]]:
    """Inside the caller's transaction: new ACTIVE accounts under governed OUs become AwsAccounts; every known
    AwsAccount's organisation status and OU follow what was discovered. Returns the new accounts' ids and the
    audit events, for the caller to record after its own: the chain head is locked last (docs/architecture.md)."""
    governed_units = governed_unit_ids()
    locked = AwsAccount.objects.select_for_update(no_key=True, of=("self",)).order_by("pk")
    existing = {account.account_id: account for account in locked}
    newly, events = [], []
    for found in OrganizationAccount.objects.select_related("ou").order_by("account_id"):
        account = existing.get(found.account_id)
        if account is None:
            if found.ou_id not in governed_units or found.status != OrgStatus.ACTIVE:
                continue
            account = AwsAccount(
                account_id=found.account_id,
                name=_account_name(found.name, found.account_id),
                role_arn=f"arn:aws:iam::{found.account_id}:role/{connection.member_role_name}",
                external_id=connection.member_external_id,
                ou=found.ou,
                org_status=found.status,
            )
            account.full_clean()
            account.save()
            after = {"ou": found.ou.ou_id, "role_arn": account.role_arn}
            events.append({"actor": actor, "action": ACCOUNT_GOVERNED_ACTION, "obj": account, "after": after})
            newly.append(account.account_id)
        elif account.org_status != found.status or account.ou_id != found.ou_id:
            before = {"org_status": account.org_status, "ou": account.ou.ou_id if account.ou else ""}
            account.org_status, account.ou = found.status, found.ou
            account.save(update_fields=["org_status", "ou"])
            after = {"org_status": found.status, "ou": found.ou.ou_id}
            change = {"actor": actor, "action": ORG_STATUS_ACTION, "obj": account}
            events.append({**change, "before": before, "after": after})
    return newly, events


def check_connection(account_id: int, *, actor: User | None = None) -> AwsAccount:
    """Try AssumeRole into the account now, then read the role's own policies and list the actions the portal
    calls that they do not allow; record the state and why, audited on change.

    Judged from the role's identity policies only: a service control policy or a permissions boundary can still
    deny what they allow (AWS's policy simulator would tell, but is not used here)."""
    account = AwsAccount.objects.get(pk=account_id)
    missing: list[str] = []
    if not account.role_arn:
        state, reason = AwsAccount.ConnectionState.REACHABLE, "Reached with the portal's own credentials (no role)."
    else:
        access = gateway.AccountAccess(account.account_id, account.role_arn, account.external_id)
        try:
            arn = gateway.assumed_role_arn(access)
        except (TransientAwsError, PermanentAwsError) as exc:
            state, reason = AwsAccount.ConnectionState.UNREACHABLE, str(exc)
        else:
            state, reason, missing = _judge_permissions(access, account.role_arn.rsplit("/", 1)[-1], arn)
    with transaction.atomic():
        account = AwsAccount.objects.select_for_update(no_key=True, of=("self",)).get(pk=account_id)
        before = {"connection_state": account.connection_state, "connection_reason": account.connection_reason}
        account.connection_state, account.connection_reason = state, reason
        account.missing_actions, account.connection_checked_at = missing, timezone.now()
        account.save(
            update_fields=["connection_state", "connection_reason", "missing_actions", "connection_checked_at"]
        )
        # Only a change is worth an event: a daily check that finds the same answer says nothing new.
        if before != {"connection_state": state, "connection_reason": reason}:
            after = {"connection_state": state, "connection_reason": reason}
            record(actor=actor, action=CONNECTION_STATE_ACTION, obj=account, before=before, after=after)
    return account


def required_actions() -> list[str]:
    """Every IAM action the member role's calls need (iam/aws/member_role.py, through botocore's models)."""
    return sorted(
        {
            action
            for service, calls in MEMBER_ROLE.items()
            for call in calls
            for action in gateway.iam_actions(service, call)
        }
    )


def _judge_permissions(
    access: gateway.AccountAccess, role_name: str, arn: str
) -> tuple[AwsAccount.ConnectionState, str, list[str]]:
    try:
        documents = [item["document"] for item in principal_documents(access, "role", role_name)]
    except (TransientAwsError, PermanentAwsError) as exc:
        reason = f"AssumeRole gave {arn}, but the role could not read its own policies ({exc})."
        return AwsAccount.ConnectionState.MISSING_PERMISSIONS, reason, list(READING_ITS_POLICIES)
    needed = required_actions()
    verdict = evaluate_actions(documents, needed)
    missing = [action for action in needed if action not in verdict.allowed and action not in verdict.conditional]
    if not missing:
        return AwsAccount.ConnectionState.REACHABLE, f"AssumeRole gave {arn}; its policies allow every call.", []
    shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
    reason = f"AssumeRole gave {arn}, but its policies do not allow {len(missing)} action(s) the portal uses: {shown}."
    return AwsAccount.ConnectionState.MISSING_PERMISSIONS, reason, missing
