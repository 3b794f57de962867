"""What governance admins do about drift: adopt unmanaged access into the ledger, connect an account.

Adopting says "this access found in AWS is legitimate": it becomes a grant with source
`import`, so reviews and expiry cover it like any other. Connecting an account does that in
bulk for what the account already has, so its first access review covers reality.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from access.models import Grant
from access.services.reconciliation import adopt_grant
from accounts.models import User
from accounts.roles import require_governance_admin
from audit.services import record
from catalog.models import AwsAccount, Entitlement
from iam.aws.errors import PermanentAwsError
from iam.aws.identity import people_by_iam_user_name
from iam.catalog_import import importer
from iam.facts.inventory import Held
from iam.models import UnmanagedAccess
from iam.reconcile import drift_register, reconcile
from inputs.refusals import InvalidInput, NotAllowed, NotFound, StaleState

PROTECTED_MESSAGE = "A protected principal of the account: the portal never removes its access; remove it by hand."


@dataclass(frozen=True)
class ConnectResult:
    entitlements_imported: int
    reconcile_run_id: int
    drift_found: int
    adopted: int
    left_open: int  # held by people the portal does not know, leavers, or not adoptable


def adopt(unmanaged_id: int, actor: User) -> Grant:
    """Make an open unmanaged access a grant from import (applied: AWS already has it); audited `drift.adopted`.

    Governance admins only (NotAllowed). NotFound for an unknown row; StaleState if it is no
    longer open or the person already has a grant for it; InvalidInput if the principal is not
    a portal person, the person has left, or the catalog has no entitlement for it (import the
    account's entitlements first). A refusal changes nothing.
    """
    require_governance_admin(actor, "adopt access found in AWS")
    with transaction.atomic():
        # This row only (not its account), before the person and grant adopt_grant locks.
        locked = UnmanagedAccess.objects.select_for_update(no_key=True, of=("self",)).select_related("account")
        row = locked.filter(pk=unmanaged_id).first()
        if row is None:
            raise NotFound("That unmanaged access does not exist.")
        if row.state != UnmanagedAccess.State.OPEN:
            raise StaleState(f"That unmanaged access is {row.get_state_display().lower()}, no longer open.")
        person = _person(row)
        entitlement = row.entitlement or _entitlement(row)
        grant = adopt_grant(
            person=person,
            entitlement=entitlement,
            actor=actor,
            seen_at=row.last_seen,
            evidence=f"{row.aws_principal} held {row.aws_name} in {row.account.account_id} "
            f"when AWS was read at {row.last_seen.isoformat()}",
        )
        row.state, row.resolved_at, row.resolved_by = UnmanagedAccess.State.ADOPTED, timezone.now(), actor
        row.person, row.entitlement = person, entitlement
        row.save(update_fields=["state", "resolved_at", "resolved_by", "person", "entitlement"])
        record(
            actor=actor,
            action="drift.adopted",
            obj=row,
            before={"state": "open"},
            after={"state": "adopted", "grant": grant.pk, "person": person.pk, "entitlement": entitlement.pk},
        )
    return grant


def remove_for_review(unmanaged_id: int) -> str:
    """Remove one open unmanaged access from AWS because an access review revoked it; return the row's state.

    The same removal as enforce mode (iam.reconcile.drift_register.remove: the kind's own removal, read back, audited
    `drift.removed`), called with no transaction open. A row no longer open is left as it is (removed,
    gone or adopted meanwhile), and so is access the ledger now holds. A protected principal is never
    removed, and a permanent AWS error is kept on the row: both show the review line as failed.
    Transient AWS errors are raised for the caller's task to retry.
    """
    row = UnmanagedAccess.objects.select_related("account").get(pk=unmanaged_id)
    if row.state != UnmanagedAccess.State.OPEN:
        return row.state
    if row.aws_principal in row.account.protected():
        drift_register.record_failure(row, PROTECTED_MESSAGE)
        return row.state
    held = Held(
        kind=row.kind,
        principal=row.aws_principal,
        aws_name=row.aws_name,
        person_id=row.person_id,
        email=row.principal_email,
    )
    try:
        drift_register.remove(row, held, row.account)
    except PermanentAwsError as exc:
        drift_register.record_failure(row, exc.message)
    row.refresh_from_db(fields=["state"])
    return row.state


def connect_account(account_id: int, actor_id: int) -> ConnectResult:
    """Bring an account under the portal as it is: import, reconcile (report only), adopt.

    Imports the account's entitlements (iam.catalog_import.importer), reconciles it in report mode whatever
    its sync mode (nothing is removed), then adopts every open unmanaged access of a portal
    person whose entitlement is now in the catalog. Safe to run again: what was imported or
    adopted is not again. Governance admins only; raises ReconcileInProgress if a reconcile
    of the account is running, and AWS errors as they come.
    """
    actor = get_user_model().objects.get(pk=actor_id)
    require_governance_admin(actor, "connect an AWS account")
    account = AwsAccount.objects.get(pk=account_id)
    imported = importer.import_entitlements(account, actor=actor)
    run = reconcile.reconcile_account(account_id, mode=AwsAccount.SyncMode.REPORT)
    open_rows = UnmanagedAccess.objects.filter(account=account, state=UnmanagedAccess.State.OPEN, person__isnull=False)
    adopted = 0
    for row_id in open_rows.values_list("pk", flat=True):
        try:
            adopt(row_id, actor)
        except (InvalidInput, NotAllowed, StaleState):
            continue  # a leaver, the admin's own access, or the ledger took it meanwhile: stays for an admin
        adopted += 1
    left_open = UnmanagedAccess.objects.filter(account=account, state=UnmanagedAccess.State.OPEN).count()
    return ConnectResult(imported.created, run.pk, run.drift_found, adopted, left_open)


def _person(row: UnmanagedAccess) -> User:
    if row.person_id is None and row.kind != Entitlement.Kind.SSO_PERMISSION_SET:
        # The IAM user may have been mapped to a person (an IAM user name override) since.
        person_id = people_by_iam_user_name([row.aws_principal], row.account).get(row.aws_principal)
        row.person = get_user_model().objects.filter(pk=person_id).first() if person_id else None
    if row.person is None:
        raise InvalidInput(
            f"{row.aws_principal} is not a portal person: set the person's IAM user name, or remove the access."
        )
    return row.person


def _entitlement(row: UnmanagedAccess) -> Entitlement:
    entitlement = Entitlement.objects.filter(account=row.account, kind=row.kind, aws_name=row.aws_name).first()
    if entitlement is None:
        raise InvalidInput(
            f"The catalog has no {row.get_kind_display()} {row.aws_name} in {row.account}: "
            "import the account's entitlements first."
        )
    return entitlement
