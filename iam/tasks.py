"""Celery tasks of the sync engine and the catalog import. Thin: they take ids and call iam.sync or iam.importer."""

from celery import shared_task
from django.contrib.auth import get_user_model

from access.services.grants import grants_waiting_for_sync
from catalog.models import AwsAccount
from iam import importer, sync
from iam.errors import TransientAwsError

SWEEP_BATCH = 500
MAX_TRANSIENT_RETRIES = 8


class RetryLater(Exception):
    """Raised inside the task so Celery's autoretry applies its backoff."""


@shared_task(
    name="iam.sync_grant",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(RetryLater,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=MAX_TRANSIENT_RETRIES,
)
def sync_grant(grant_id: int) -> str:
    """Make AWS match one grant and read it back. Safe to run any number of times."""
    outcome = sync.sync_grant(grant_id)
    if outcome.result == "retry":
        raise RetryLater(outcome.detail)
    return outcome.result


@shared_task(name="iam.sweep_pending_grants", acks_late=True)
def sweep_pending_grants() -> int:
    """Re-queue grants whose sync message was lost or whose worker died (lease expired)."""
    grant_ids = grants_waiting_for_sync(SWEEP_BATCH)
    for grant_id in grant_ids:
        sync_grant.delay(grant_id)
    return len(grant_ids)


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
    result = importer.import_entitlements(account, actor=actor)
    return {"created": result.created, "already_present": result.already_present, "skipped": result.skipped}
