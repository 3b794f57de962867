"""Periodic housekeeping of requests and grants (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task
from django.contrib.auth import get_user_model

from access import services
from access.services.sod_checks import held_entitlement_ids
from sod import scan
from sod import services as sod


@shared_task(name="access.expire_stale_requests")
def expire_stale_requests() -> int:
    return services.expire_stale_requests()


@shared_task(name="access.escalate_overdue_approvals")
def escalate_overdue_approvals() -> int:
    return services.escalate_overdue_approvals()


@shared_task(name="access.expire_grants")
def expire_grants() -> int:
    return services.expire_grants()


@shared_task(name="access.remind_expiring_grants")
def remind_expiring_grants() -> int:
    return len(services.due_expiry_reminders())


@shared_task(name="access.sod_recheck_user")
def sod_recheck_user(user_id: int) -> int:
    """After a grant change: bring the person's violation records up to date."""
    person = get_user_model().objects.filter(pk=user_id).first()
    return sod.recheck_user(person, held_entitlement_ids(person)) if person else 0


@shared_task(name="access.sod_scan")
def sod_scan() -> dict:
    """Nightly: every present grant against every rule."""
    return scan.scan_all(scan.current_holdings())


@shared_task(name="access.sod_expire_exceptions")
def sod_expire_exceptions() -> int:
    """Exceptions past their end: their violations open again and the rule owner is told."""
    expired = sod.expire_exceptions()
    for exception in expired:
        sod.recheck_user(exception.user, held_entitlement_ids(exception.user))
    return len(expired)
