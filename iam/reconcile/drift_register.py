"""The drift register: what the reconciler records about access the ledger does not hold.

Each state change of an UnmanagedAccess row is audited in its own short transaction, by
`system:reconciler`: `drift.found` when a holding is first seen (an open row), `drift.removed`
when enforce mode removed it from AWS (read back), `drift.gone` when it is no longer seen.
Seeing an open row again only moves its `last_seen`, so a rerun records nothing new.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from access.models import Grant
from access.services.reconciliation import RECONCILER
from audit.services import record
from catalog.models import AwsAccount, Entitlement
from iam.apply import operations
from iam.aws.gateway import account_access
from iam.facts.inventory import Held
from iam.models import UnmanagedAccess


def record_seen(
    account: AwsAccount, held: list[Held], entitlements: dict[tuple[str, str], int], *, seen_at: datetime, mode: str
) -> tuple[list[tuple[UnmanagedAccess, Held]], int]:
    """Open a row for each holding not yet open, move `last_seen` on the others.

    Returns every holding's open row and how many rows were opened.
    """
    open_rows = {
        row.key: row for row in UnmanagedAccess.objects.filter(account=account, state=UnmanagedAccess.State.OPEN)
    }
    rows, opened, seen_again = [], 0, []
    for item in held:
        entitlement_id = entitlements.get((item.kind, item.aws_name))
        row = open_rows.get(item.key)
        if row is None:
            row, created = _open(account, item, entitlement_id, seen_at=seen_at, mode=mode)
            opened += created
        else:
            seen_again.append(row.pk)
            if (row.person_id, row.entitlement_id) != (item.person_id, entitlement_id):
                # The person or the catalog entry was added since: keep the row pointing at them.
                row.person_id, row.entitlement_id = item.person_id, entitlement_id
                row.save(update_fields=["person", "entitlement"])
        rows.append((row, item))
    UnmanagedAccess.objects.filter(pk__in=seen_again).update(last_seen=seen_at)
    return rows, opened


def _open(
    account: AwsAccount, item: Held, entitlement_id: int | None, *, seen_at: datetime, mode: str
) -> tuple[UnmanagedAccess, bool]:
    try:
        with transaction.atomic():
            row = UnmanagedAccess.objects.create(
                account=account,
                kind=item.kind,
                aws_principal=item.principal,
                aws_name=item.aws_name,
                principal_email=item.email,
                person_id=item.person_id,
                entitlement_id=entitlement_id,
                first_seen=seen_at,
                last_seen=seen_at,
            )
            record(
                actor=None,
                actor_label=RECONCILER,
                action="drift.found",
                obj=row,
                after={
                    "account": account.account_id,
                    "kind": item.kind,
                    "principal": item.principal,
                    "aws_name": item.aws_name,
                    "person": item.person_id,
                    "entitlement": entitlement_id,
                    "mode": mode,
                },
            )
    except IntegrityError:
        # Opened meanwhile (the unique open row): this sighting is the same drift.
        return UnmanagedAccess.objects.get(account=account, state=UnmanagedAccess.State.OPEN, **_lookup(item)), False
    return row, True


def remove(row: UnmanagedAccess, item: Held, account: AwsAccount) -> bool:
    """Enforce mode: take the access away in AWS (the kind's own removal, read back), then mark the row removed.

    Skips (returns False) if the ledger now holds it: a grant was approved since AWS was
    read. Raises the typed AWS error if AWS refused; the caller records it on the row.
    """
    if row.person_id and row.entitlement_id:
        granted = Grant.objects.filter(
            user_id=row.person_id, entitlement_id=row.entitlement_id, desired=Grant.Desired.PRESENT
        )
        if granted.exists():
            return False
    target = operations.Target(
        account=account_access(account),
        user_name=item.principal,
        email=item.email,
        aws_name=item.aws_name,
        sso_instance_arn=account.sso_instance_arn,
    )
    evidence = operations.apply(item.kind, target, present=False)  # no transaction is open
    return _close(row, state=UnmanagedAccess.State.REMOVED, action="drift.removed", details={"evidence": evidence})


def record_failure(row: UnmanagedAccess, error: str) -> None:
    """Keep why enforce mode could not remove it on the open row (shown to admins; not audited each run)."""
    UnmanagedAccess.objects.filter(pk=row.pk, state=UnmanagedAccess.State.OPEN).update(last_error=error)


def close_unseen(account: AwsAccount, seen: set[int], *, identity_center_read: bool) -> int:
    """Open rows the reconcile did not see again are gone. Returns how many.

    Permission-set rows are left alone when Identity Center was not read this time.
    """
    unseen = UnmanagedAccess.objects.filter(account=account, state=UnmanagedAccess.State.OPEN).exclude(pk__in=seen)
    if not identity_center_read:
        unseen = unseen.exclude(kind=Entitlement.Kind.SSO_PERMISSION_SET)
    closed = 0
    for row in unseen:
        closed += _close(row, state=UnmanagedAccess.State.GONE, action="drift.gone", details={})
    return closed


def _close(row: UnmanagedAccess, *, state: str, action: str, details: dict) -> bool:
    with transaction.atomic():
        locked = UnmanagedAccess.objects.select_for_update().filter(pk=row.pk, state=UnmanagedAccess.State.OPEN).first()
        if locked is None:
            return False  # adopted by an admin meanwhile
        locked.state, locked.resolved_at, locked.last_error = state, timezone.now(), ""
        locked.save(update_fields=["state", "resolved_at", "last_error"])
        record(
            actor=None,
            actor_label=RECONCILER,
            action=action,
            obj=locked,
            before={"state": "open"},
            after={"state": state, "principal": locked.aws_principal, "aws_name": locked.aws_name, **details},
        )
    return True


def _lookup(item: Held) -> dict:
    return {"kind": item.kind, "aws_principal": item.principal, "aws_name": item.aws_name}
