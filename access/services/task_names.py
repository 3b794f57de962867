"""The tasks of other apps that access's changes ask for, by name.

`access` never imports the apps that act on its records (iam, notifications): it names their tasks and
queues them with the change (outbox.enqueue), so none runs for a change that was rolled back, none runs
before the change is visible to the worker, and none is lost while the broker is down.
"""

SYNC_GRANT = "iam.sync_grant"
APPROVAL_NEEDED = "notifications.approval_needed"
REQUEST_DECIDED = "notifications.request_decided"
GRANT_SYNCED = "notifications.grant_synced"
# One task per person and sync batch: the grants of theirs the batch applied or failed.
GRANTS_SYNCED = "notifications.grants_synced"
EXPIRY_REMINDER = "notifications.expiry_reminder"
SOD_RECHECK = "access.sod_recheck_user"
# Read what was done with a grant from its account's CloudTrail files: asked when an extension is, and once more
# when a grant's removal is read back from AWS, so its summary covers the whole window.
SUMMARISE_ACTIVITY = "iam.summarise_grant_activity"
# One task per leaver and AWS account: their keys, password, MFA, role sessions and unmanaged access.
LEAVER_ACCOUNT = "iam.leaver_account"
# A break glass: its would-be approvers are told at once (in the portal and by email) to review it.
BREAK_GLASS_REVIEW = "notifications.break_glass_review"
