"""Celery tasks of the posture scanner: thin, taking ids, calling posture.services."""

from celery import shared_task

from catalog.models import AwsAccount
from iam.aws.errors import TransientAwsError
from outbox.services import enqueue_each
from posture import services

MAX_TRANSIENT_RETRIES = 5


@shared_task(
    name="posture.scan_account",
    acks_late=True,
    autoretry_for=(TransientAwsError,),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=MAX_TRANSIENT_RETRIES,
)
def scan_account(account_id: int) -> str:
    """Scan one account; AWS busy or the credential report still generating means retry later."""
    return services.scan_account(account_id).status


@shared_task(name="posture.scan_all", acks_late=True)
def scan_all() -> int:
    """Queue one scan per governed account (the daily beat entry)."""
    account_ids = list(AwsAccount.objects.values_list("pk", flat=True))
    enqueue_each(scan_account.name, [(account_id,) for account_id in account_ids])
    return len(account_ids)
