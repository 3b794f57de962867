"""Celery tasks of the sync engine. Thin: they take ids and call iam.sync."""

from celery import shared_task

from access.services.grants import grants_waiting_for_sync
from iam import sync

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
