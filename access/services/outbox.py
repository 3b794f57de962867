"""Work for other apps, sent by task name once the transaction commits.

`access` never imports the apps that act on its records (iam, notifications): it names
their tasks. Sending on commit means no task runs for a change that was rolled back, and
none runs before the change is visible to the worker.
"""

from functools import partial

from celery import current_app
from django.db import transaction

SYNC_GRANT = "iam.sync_grant"
APPROVAL_NEEDED = "notifications.approval_needed"
REQUEST_DECIDED = "notifications.request_decided"
GRANT_SYNCED = "notifications.grant_synced"
# One task per person and sync batch: the grants of theirs the batch applied or failed.
GRANTS_SYNCED = "notifications.grants_synced"
EXPIRY_REMINDER = "notifications.expiry_reminder"
SOD_RECHECK = "access.sod_recheck_user"


def send_after_commit(task_name: str, *args) -> None:
    # A partial rather than a lambda: tests read which task a captured callback sends.
    transaction.on_commit(partial(current_app.send_task, task_name, args=list(args)))
