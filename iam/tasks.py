"""Celery tasks of the sync engine, the reconciler and the catalog import.

Thin: they take ids and call iam.apply.sync, iam.reconcile.reconcile, iam.reconcile.drift_actions or
iam.catalog_import.importer.
"""

import collections
import random

from celery import Task, shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q

from access.models import Grant
from access.services.grants import grants_waiting_for_sync
from access.services.sync_batches import sync_wake_key
from catalog.models import AwsAccount, Entitlement, OrganizationConnection, OrgStatus
from iam.apply import sync
from iam.aws.errors import TransientAwsError
from iam.catalog_import import import_runs, importer
from iam.facts import cloudtrail, organizations, permissions
from iam.reconcile import drift_actions, leavers, reconcile
from outbox.services import enqueue, enqueue_each

SWEEP_BATCH = 500
# Backoff before a transiently failed grant is tried again: 2, 4, 8 ... seconds, at most 5 minutes.
RETRY_BACKOFF_SECONDS = 2
RETRY_BACKOFF_MAX_SECONDS = 300


def retry_countdown(attempt: int) -> float:
    """Exponential backoff with full jitter, so grants that failed together do not retry together."""
    ceiling = min(RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not secrecy)


@shared_task(name="iam.sync_grant", acks_late=True, reject_on_worker_lost=True)
def sync_grant(grant_id: int) -> dict:
    """Apply this grant and up to GRANT_SYNC_BATCH_SIZE - 1 others waiting in its account; read them back.

    Safe to run any number of times. A message whose grant another task already took claims
    whatever else of the account is waiting, or nothing. Grants AWS refused transiently go back
    to the queue, each with its own message and backoff.
    """
    outcomes = sync.sync_batch(grant_id, batch=settings.GRANT_SYNC_BATCH_SIZE)
    for outcome in outcomes:
        if outcome.result == "retry":
            enqueue(sync_grant.name, outcome.grant_id, countdown=retry_countdown(outcome.attempt))
    return dict(collections.Counter(outcome.result for outcome in outcomes))


@shared_task(name="iam.sweep_pending_grants", acks_late=True)
def sweep_pending_grants() -> int:
    """Re-queue grants whose sync message was lost or whose worker died (lease expired)."""
    waiting = grants_waiting_for_sync(SWEEP_BATCH)
    keys = [sync_wake_key(entitlement_id) for _, entitlement_id in waiting]
    enqueue_each(sync_grant.name, [(grant_id,) for grant_id, _ in waiting], coalesce=keys)
    return len(waiting)


@shared_task(
    name="iam.import_entitlements",
    acks_late=True,
    autoretry_for=(TransientAwsError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def import_entitlements(account_id: int, actor_id: int) -> dict:
    """Import the account's groups, policies, roles and permission sets; safe to rerun (creates none twice)."""
    account = AwsAccount.objects.get(pk=account_id)
    actor = get_user_model().objects.get(pk=actor_id)
    result = importer.import_entitlements(account, actor=actor)  # what each one allows is read with it
    return {"created": result.created, "already_present": result.already_present, "skipped": result.skipped}


@shared_task(
    name="iam.run_import",
    bind=True,
    acks_late=True,
    autoretry_for=(TransientAwsError,),
    retry_backoff=5,
    retry_backoff_max=60,
    max_retries=3,
)
def run_import(self: Task, run_id: int) -> dict:
    """An import asked for on the catalog console (iam.catalog_import.import_runs.request_import), its progress
    on the run row; what each entitlement allows is read with it, for separation of duties. Safe to rerun: a
    finished run is left."""
    run = import_runs.run_import(run_id, last_attempt=self.request.retries >= self.max_retries)
    if run is None:
        return {"skipped": "already finished"}
    return {"status": run.status, "created": run.created, "found": run.found}


@shared_task(
    name="iam.reconcile_account",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(TransientAwsError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=3,
)
def reconcile_account(account_id: int) -> dict:
    """Compare one account with the ledger and converge; skipped while another run holds the account."""
    try:
        run = reconcile.reconcile_account(account_id)
    except reconcile.ReconcileInProgress as exc:
        return {"skipped": str(exc)}
    return {
        "run": run.pk,
        "status": run.status,
        "api_calls": run.api_calls,
        "drift_found": run.drift_found,
        "changes_made": run.changes_made,
    }


@shared_task(name="iam.reconcile_all", acks_late=True)
def reconcile_all() -> int:
    """Queue one reconcile per AWS account (beat runs this every PORTAL_RECONCILE_SECONDS)."""
    # A suspended account (closed in AWS Organizations) cannot be reached; its history stays, unreconciled.
    accounts = AwsAccount.objects.exclude(org_status=OrgStatus.SUSPENDED)
    account_ids = list(accounts.values_list("pk", flat=True))
    enqueue_each(reconcile_account.name, [(account_id,) for account_id in account_ids])
    return len(account_ids)


@shared_task(
    name="iam.connect_account",
    acks_late=True,
    autoretry_for=(TransientAwsError, reconcile.ReconcileInProgress),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def connect_account(account_id: int, actor_id: int) -> dict:
    """Import the account's entitlements, reconcile it (report only), adopt what portal people hold."""
    result = drift_actions.connect_account(account_id, actor_id)
    return {
        "entitlements_imported": result.entitlements_imported,
        "reconcile_run": result.reconcile_run_id,
        "drift_found": result.drift_found,
        "adopted": result.adopted,
        "left_open": result.left_open,
    }


@shared_task(name="iam.fetch_permissions", acks_late=True)
def fetch_permissions(entitlement_id: int) -> int:
    """Read the policy documents behind one entitlement, for separation-of-duties permission rules."""
    return permissions.fetch_permissions(entitlement_id)


@shared_task(name="iam.refresh_permissions")
def refresh_permissions() -> int:
    """Daily: queue a read of every entitlement's policy documents (policies change outside the portal)."""
    entitlement_ids = list(Entitlement.objects.values_list("pk", flat=True))
    enqueue_each(fetch_permissions.name, [(entitlement_id,) for entitlement_id in entitlement_ids])
    return len(entitlement_ids)


@shared_task(name="iam.summarise_grant_activity", acks_late=True, autoretry_for=(TransientAwsError,), max_retries=5)
def summarise_grant_activity(grant_id: int) -> dict:
    """Read one grant's window from its account's CloudTrail files and store the summary (on demand, at its end,
    daily while live). Safe to run any number of times: the summary is replaced, never added to."""
    activity = cloudtrail.summarise_grant(grant_id)
    return {"grant": grant_id, "calls": activity.calls, "skipped_files": activity.files_skipped}


@shared_task(name="iam.summarise_live_grants")
def summarise_live_grants() -> int:
    """Daily: queue a summary for every live grant in an account with CloudTrail set, and for each grant that
    ended since its summary was last made, or whose last read came before CloudTrail could have delivered the
    window's last files (the read at the grant's end is that early), so an ended grant's summary covers its
    whole window."""
    with_trail = Grant.objects.exclude(entitlement__account__cloudtrail_bucket="").filter(activated_at__isnull=False)
    live = Q(desired=Grant.Desired.PRESENT, ended_at__isnull=True)
    ended_since = Q(ended_at__isnull=False) & (
        Q(activity__isnull=True) | Q(activity__computed_at__lt=F("ended_at") + cloudtrail.DELIVERY_DELAY)
    )
    grant_ids = list(with_trail.filter(live | ended_since).values_list("pk", flat=True))
    enqueue_each(summarise_grant_activity.name, [(grant_id,) for grant_id in grant_ids])
    return len(grant_ids)


@shared_task(
    name="iam.discover_organization",
    acks_late=True,
    autoretry_for=(TransientAwsError,),
    retry_backoff=60,
    retry_backoff_max=600,  # portal.task_limits.LONGEST_COUNTDOWN_SECONDS
    max_retries=3,
)
def discover_organization() -> dict:
    """Daily (beat): read AWS Organizations, govern new accounts under governed OUs, check every org account's role."""
    if not OrganizationConnection.objects.exists():
        return {"skipped": "AWS Organizations is not connected"}
    found = organizations.discover()
    account_ids = AwsAccount.objects.exclude(org_status="").exclude(org_status=OrgStatus.SUSPENDED)
    enqueue_each(check_account_connection.name, [(pk,) for pk in account_ids.values_list("pk", flat=True)])
    return {"units": found.units, "accounts": found.accounts, "newly_governed": len(found.newly_governed)}


@shared_task(name="iam.check_account_connection", acks_late=True)
def check_account_connection(account_id: int) -> str:
    """Try the account's role now and record whether it is reachable, and why not."""
    return organizations.check_connection(account_id).connection_state


# While the sync engine is still removing a leaver's grants in an account: look again this often, this
# many times (about half an hour), then leave the `grants` step retrying for the sweep of a later rerun.
LEAVER_GRANTS_POLL_SECONDS = 1.0
LEAVER_GRANTS_MAX_POLLS = 1800


@shared_task(name="iam.leaver_account", acks_late=True, reject_on_worker_lost=True)
def leaver_account(person_id: int, account_id: int, polls: int = 0) -> dict:
    """A leaver's keys, password, MFA, role sessions and unmanaged access in one account (iam.reconcile.leavers).

    Safe to run any number of times: done steps are skipped. Transient AWS errors come back with backoff
    (a new message, so no worker is held while waiting); the grants step is looked at again shortly.
    """
    outcome = leavers.run_account(person_id, account_id)
    if outcome.attempt:
        enqueue(leaver_account.name, person_id, account_id, polls, countdown=retry_countdown(outcome.attempt))
    elif outcome.waiting_for_grants and polls < LEAVER_GRANTS_MAX_POLLS:
        enqueue(leaver_account.name, person_id, account_id, polls + 1, countdown=LEAVER_GRANTS_POLL_SECONDS)
    return {"again": outcome.again, "attempt": outcome.attempt, "polls": polls}
