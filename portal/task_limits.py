"""How long each Celery task may run (settings.CELERY_TASK_ANNOTATIONS).

Every task has the global limits (PORTAL_TASK_SOFT_TIME_LIMIT, PORTAL_TASK_TIME_LIMIT). The tasks below
walk a whole AWS account or a whole table and get the long limits instead. A soft limit raises
SoftTimeLimitExceeded inside the task, which fails it like any error (a campaign launch records why);
the hard limit ends the worker process that runs it.
"""

# Tasks whose work grows with the installation: every IAM principal of an account, every grant, every
# review line or audit event. `make bench`: a 5,000-user reconcile, a 1,000,000-grant SoD scan, a
# 1,000,000-line campaign launch and verifying 1,000,000 audit events each take seconds to minutes.
LONG_TASKS = (
    "iam.reconcile_account",
    "iam.connect_account",
    "iam.import_entitlements",
    "iam.run_import",
    "iam.discover_organization",  # every OU and account of an AWS organisation
    "access.sod_scan",
    "posture.scan_account",
    "reviews.launch_fresh",
    "reviews.collect_usage",
    "reviews.build_evidence_pack",
    "audit.check_chain",
)

# The longest countdown a task is retried with (iam.reconcile_account's retry_backoff_max): a Redis broker's
# visibility timeout must outlast it, since the worker holds such a message unacknowledged until then.
LONGEST_COUNTDOWN_SECONDS = 600


def annotations(*, long_limits: tuple[int, int], grant_sync_lease: int) -> dict:
    """Per-task limits. A grant sync is stopped before its lease runs out: past the lease another worker may
    claim the same grants, and the first one must no longer be writing to AWS by then."""
    soft, hard = long_limits
    limits = {name: {"soft_time_limit": soft, "time_limit": hard} for name in LONG_TASKS}
    sync_hard = max(2, grant_sync_lease * 9 // 10)
    sync_soft = max(1, min(grant_sync_lease * 4 // 5, sync_hard - 1))
    limits["iam.sync_grant"] = {"soft_time_limit": sync_soft, "time_limit": sync_hard}
    return limits
