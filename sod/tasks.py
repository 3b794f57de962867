"""Separation of duties' Celery tasks. Their names begin `access.` as they did when they lived there: beat
entries (settings.CELERY_BEAT_SCHEDULE), the queue route `access.sod_*`, the long time limit of the scan
(portal.task_limits) and messages already queued name them so."""

from celery import shared_task
from django.contrib.auth import get_user_model

from sod import scan
from sod import services as sod
from sod.holdings import current_holdings, held_by


@shared_task(name="access.sod_recheck_user")
def sod_recheck_user(user_id: int) -> int:
    """After a grant change: bring the person's violation records up to date."""
    person = get_user_model().objects.filter(pk=user_id).first()
    return sod.recheck_user(person, held_by(person)) if person else 0


@shared_task(name="access.sod_scan")
def sod_scan() -> dict:
    """Nightly: every present grant against every rule."""
    return scan.scan_all(current_holdings())


@shared_task(name="access.sod_expire_exceptions")
def sod_expire_exceptions() -> int:
    """Exceptions past their end: their violations open again and the rule owner is told."""
    expired = sod.expire_exceptions()
    for exception in expired:
        sod.recheck_user(exception.user, held_by(exception.user))
    return len(expired)
