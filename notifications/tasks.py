"""Celery tasks of notifications. Thin: they take ids and call notifications.services.

The access app sends the first four by name once its transaction commits
(access/services/task_names.py); the last two run on the beat schedule in settings.
"""

import logging

from celery import shared_task

from notifications import services

log = logging.getLogger(__name__)


@shared_task(name="notifications.approval_needed")
def approval_needed(approval_id: int) -> int:
    """A stage became active or was escalated: tell assignees not yet told about it."""
    return len(services.notify_approval_needed(approval_id))


@shared_task(name="notifications.break_glass_review")
def break_glass_review(approval_id: int) -> int:
    """Someone broke glass, or its review was escalated: tell (and email at once) the reviewers not yet told."""
    return len(services.notify_break_glass_review(approval_id))


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
    """The grants of one sync batch: tell each holder (and, for failures, the admins) per grant.

    One grant whose notification fails does not keep the batch's other holders from hearing: it is
    logged, the rest go on, and the task fails at the end so the failure shows in the worker's record."""
    told, failed = 0, []
    for grant_id in grant_ids:
        try:
            told += len(services.notify_grant_synced(grant_id))
        except Exception:  # isolated per grant, raised below once the others are told
            log.exception("Could not notify about grant %s after its sync", grant_id)
            failed.append(grant_id)
    if failed:
        raise RuntimeError(f"Notifications failed for grants {failed}; the others were sent.")
    return told


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
