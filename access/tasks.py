"""Periodic housekeeping of requests and grants (scheduled in settings.CELERY_BEAT_SCHEDULE). The SoD tasks,
still named `access.sod_*`, are in sod/tasks.py."""

from celery import shared_task

from access import services


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
