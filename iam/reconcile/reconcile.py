"""The full reconcile of one account: AWS compared with the grant ledger, and made to converge.

1. Claim the account with a conditional insert of a running ReconcileRun: at most one run per
   account at a time. A second one raises ReconcileInProgress and does nothing; a run older
   than STALE_RUN_AFTER belongs to a dead worker and is marked failed so a new one can start.
2. Read what people hold, with no transaction open (iam.facts.inventory: one paginated
   GetAccountAuthorizationDetails walk, plus Identity Center's assignments).
3. Compare with the account's grants, principal by principal:
   - desired present and applied, not in AWS: back to pending, synced again (grant.drift_missing);
   - desired absent (revoked, or pending after a lost message), still in AWS: removal queued again;
   - in AWS with no grant for that person and entitlement: unmanaged access, recorded
     (drift.found); in enforce mode removed by the kind's own removal, read back (drift.removed);
   - open unmanaged access no longer in AWS: gone (drift.gone).
   A grant read back from AWS after step 2 began is left alone: the read may predate its change.
4. Record the run's figures (api_calls counts every AWS call, one per page).

Running it twice in a row changes nothing the second time: everything it changes makes the
next comparison agree.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from access.models import Grant
from access.services.reconciliation import reapply_missing_grant, requeue_absent_grant
from catalog.models import AwsAccount, Entitlement, IamUserName
from iam.apply import principals
from iam.aws import gateway
from iam.aws.errors import AwsError
from iam.aws.identity import user_name_for
from iam.facts.inventory import Held, Inventory, read_account
from iam.models import ReconcileRun
from iam.reconcile import drift_register
from inputs.refusals import StaleState

STALE_RUN_AFTER = timedelta(hours=1)
Kind = Entitlement.Kind
_REMOVAL_STATES = (Grant.SyncState.REVOKED, Grant.SyncState.PENDING)


class ReconcileInProgress(Exception):
    """Another reconcile of the account is running; this one did nothing."""


@dataclass(frozen=True)
class LedgerGrant:
    """One grant of the account, as the comparison needs it."""

    grant_id: int
    key: tuple[str, str, str]
    principal: str
    desired: str
    sync_state: str
    verified_at: datetime | None


@dataclass
class Plan:
    unmanaged: list[Held] = field(default_factory=list)
    missing: list[LedgerGrant] = field(default_factory=list)
    still_held: list[LedgerGrant] = field(default_factory=list)


@dataclass
class Tally:
    changes: int = 0
    missing_reapplied: int = 0
    errors: list[str] = field(default_factory=list)


def reconcile_account(account_id: int, *, mode: str | None = None) -> ReconcileRun:
    """Compare one account with the ledger and converge (see module doc); return the finished run.

    `mode` overrides the account's sync mode for this run (connecting an account only reports).
    Raises ReconcileInProgress if another run holds the account. An error that stopped the
    comparison is recorded on the failed run, then raised; AWS refusing to remove one unmanaged
    access only fails the run (the row keeps AWS's message) and the others are still removed.
    """
    account = AwsAccount.objects.get(pk=account_id)
    mode = mode or account.sync_mode
    run = _claim(account, mode)
    with gateway.counting_calls() as calls:
        try:
            inventory = read_account(account)
            # The sync engine then needs no call to know these people's IAM users exist.
            principals.remember_seen(account, inventory.iam_user_names, read_at=inventory.read_at)
            plan = compare(inventory, ledger_grants(account))
            tally = _converge(account, mode, inventory, plan)
        except BaseException as exc:
            message = exc.message if isinstance(exc, AwsError) else f"{type(exc).__name__}: {exc}"
            _finish(run, status=ReconcileRun.Status.FAILED, api_calls=calls.calls, error=message)
            raise
    failed = f"Could not remove {len(tally.errors)} unmanaged access: " + "; ".join(tally.errors)
    return _finish(
        run,
        status=ReconcileRun.Status.FAILED if tally.errors else ReconcileRun.Status.SUCCEEDED,
        api_calls=calls.calls,
        error=failed if tally.errors else "",
        principals_seen=inventory.principals_seen,
        drift_found=len(plan.unmanaged) + len(plan.missing) + len(plan.still_held),
        missing_reapplied=tally.missing_reapplied,
        changes_made=tally.changes + tally.missing_reapplied,
    )


def match_key(kind: str, aws_name: str, *, principal: str, person_id: int | None) -> tuple[str, str, str]:
    """What a holding and a grant are matched on: the IAM user name; for permission sets, the person."""
    if kind == Kind.SSO_PERMISSION_SET:
        return kind, aws_name, f"person:{person_id}" if person_id else f"unknown:{principal}"
    return kind, aws_name, principal


def ledger_grants(account: AwsAccount) -> list[LedgerGrant]:
    """Every grant of the account's entitlements, in one query."""
    # The person's IAM user name in this account (catalog.iam_names), read with the grant.
    named_here = IamUserName.objects.filter(account=account, person=OuterRef("user_id")).values("name")[:1]
    rows = (
        Grant.objects.filter(entitlement__account=account)
        .annotate(name_here=Subquery(named_here))
        .values_list(
            "pk",
            "user_id",
            "user__email",
            "user__iam_user_name",
            "name_here",
            "entitlement__kind",
            "entitlement__aws_name",
            "desired",
            "sync_state",
            "verified_at",
        )
    )
    grants = []
    for row in rows.iterator(2000):
        pk, person_id, email, override, name_here, kind, aws_name, desired, sync_state, verified_at = row
        principal = name_here or user_name_for(email, override)
        key = match_key(kind, aws_name, principal=principal, person_id=person_id)
        grants.append(LedgerGrant(pk, key, principal, desired, sync_state, verified_at))
    return grants


def compare(inventory: Inventory, grants: list[LedgerGrant]) -> Plan:
    """Sort the differences between what AWS shows and what the ledger holds (see module doc, step 3)."""
    by_key: dict[tuple, list[LedgerGrant]] = defaultdict(list)
    for grant in grants:
        by_key[grant.key].append(grant)
    plan, held_keys = Plan(), set()
    for item in inventory.held:
        key = match_key(item.kind, item.aws_name, principal=item.principal, person_id=item.person_id)
        held_keys.add(key)
        if key not in by_key:
            plan.unmanaged.append(item)
            continue
        plan.still_held += [
            grant
            for grant in by_key[key]
            if grant.desired == Grant.Desired.ABSENT
            and grant.sync_state in _REMOVAL_STATES
            and _read_before(grant, inventory)
        ]
    plan.missing = [
        grant
        for grant in grants
        if grant.desired == Grant.Desired.PRESENT
        and grant.sync_state == Grant.SyncState.APPLIED
        and _read_before(grant, inventory)
        and grant.key not in held_keys
        and (grant.key[0] != Kind.SSO_PERMISSION_SET or inventory.identity_center_read)
    ]
    return plan


def _read_before(grant: LedgerGrant, inventory: Inventory) -> bool:
    return grant.verified_at is None or grant.verified_at < inventory.read_at


def _converge(account: AwsAccount, mode: str, inventory: Inventory, plan: Plan) -> Tally:
    tally = Tally()
    read = f"AWS read at {inventory.read_at.isoformat()}"
    for grant in plan.missing:
        _, aws_name, _ = grant.key
        evidence = f"{read} shows no {aws_name} for {grant.principal} in {account.account_id}"
        try:
            reapply_missing_grant(grant.grant_id, read_at=inventory.read_at, evidence=evidence)
        except StaleState:
            continue  # synced or ended meanwhile
        tally.missing_reapplied += 1
    for grant in plan.still_held:
        _, aws_name, _ = grant.key
        evidence = f"{read} still shows {aws_name} for {grant.principal} in {account.account_id}"
        try:
            tally.changes += requeue_absent_grant(grant.grant_id, read_at=inventory.read_at, evidence=evidence)
        except StaleState:
            continue
    catalog = {(kind, name): pk for pk, kind, name in account.entitlements.values_list("pk", "kind", "aws_name")}
    rows, opened = drift_register.record_seen(account, plan.unmanaged, catalog, seen_at=inventory.read_at, mode=mode)
    tally.changes += opened
    if mode == AwsAccount.SyncMode.ENFORCE:
        protected = account.protected()
        for row, item in rows:
            if row.aws_principal in protected:
                continue  # reported, never removed
            try:
                tally.changes += drift_register.remove(row, item, account)
            except AwsError as exc:
                drift_register.record_failure(row, exc.message)
                tally.errors.append(f"{row}: {exc.message}")
    seen = {row.pk for row, _ in rows}
    tally.changes += drift_register.close_unseen(account, seen, identity_center_read=inventory.identity_center_read)
    return tally


def _claim(account: AwsAccount, mode: str) -> ReconcileRun:
    now = timezone.now()
    ReconcileRun.objects.filter(
        account=account, status=ReconcileRun.Status.RUNNING, started_at__lt=now - STALE_RUN_AFTER
    ).update(
        status=ReconcileRun.Status.FAILED, finished_at=now, error="Abandoned: its worker stopped before finishing."
    )
    try:
        with transaction.atomic():
            return ReconcileRun.objects.create(account=account, mode=mode, started_at=now)
    except IntegrityError:
        raise ReconcileInProgress(f"Another reconcile of {account} is running.") from None


def _finish(run: ReconcileRun, *, status: str, **figures: int | str) -> ReconcileRun:
    # Only while still running: a run taken over as abandoned keeps that verdict.
    ReconcileRun.objects.filter(pk=run.pk, status=ReconcileRun.Status.RUNNING).update(
        status=status, finished_at=timezone.now(), **figures
    )
    run.refresh_from_db()
    return run
