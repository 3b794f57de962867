"""Celery tasks of notifications. Thin: they take ids and call notifications.services.

The access app sends the first four by name once its transaction commits
(access/services/task_names.py); the last two run on the beat schedule in settings.
"""

from celery import shared_task

from notifications import services


@shared_task(name="notifications.approval_needed")
def approval_needed(approval_id: int) -> int:
    """A stage became active or was escalated: tell assignees not yet told about it."""
    return len(services.notify_approval_needed(approval_id))


@shared_task(name="notifications.request_decided")
def request_decided(request_id: int) -> int:
    """A request was approved, denied or expired: tell the requester and the beneficiary."""
    return len(services.notify_request_decided(request_id))


@shared_task(name="notifications.grant_synced")
def grant_synced(grant_id: int) -> int:
    """A grant's sync finished: tell the holder it is live, or that it failed (and the admins)."""
    return len(services.notify_grant_synced(grant_id))


@shared_task(name="notifications.grants_synced")
def grants_synced(grant_ids: list[int]) -> int:
    """One person's grants from one sync batch: tell them (and, for failures, the admins) per grant."""
    return sum(len(services.notify_grant_synced(grant_id)) for grant_id in grant_ids)


@shared_task(name="notifications.expiry_reminder")
def expiry_reminder(grant_id: int, days: int) -> int:
    """Tell the holder their access ends in `days` days."""
    return len(services.notify_access_ending(grant_id, days))


@shared_task(name="notifications.remind_approvers")
def remind_approvers() -> int:
    """One reminder per approver whose steps waited longer than APPROVAL_REMIND_EVERY_HOURS."""
    return services.remind_approvers()


@shared_task(name="notifications.send_pending_emails")
def send_pending_emails() -> int:
    """Email what has not been emailed yet: a digest from the threshold up, else one each."""
    return services.send_pending_emails()


@shared_task(name="notifications.sod_exception_expired")
def sod_exception_expired(exception_id: int) -> int:
    """A separation-of-duties exception ended: its rule owner and approver learn the violation is open again."""
    return len(services.notify_sod_exception_expired(exception_id))
