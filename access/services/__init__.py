"""Every state change of requests and grants, one function each.

Pages, the API, the admin and Celery tasks call these; none of them changes these models directly.
"""

from access.services.administration import end_access_of_leaver, grant_by_admin, retry_grant
from access.services.decisions import ExceptionTerms, approve, decide_many, deny
from access.services.escalation import escalate_overdue_approvals
from access.services.grants import (
    claim_grant_for_sync,
    due_expiry_reminders,
    expire_grants,
    give_back,
    record_sync_failure,
    record_sync_success,
    release_claim,
)
from access.services.requests import (
    CartItem,
    cancel_request,
    expire_stale_requests,
    request_extension,
    submit_cart,
    submit_request,
)

__all__ = [
    "CartItem",
    "ExceptionTerms",
    "approve",
    "cancel_request",
    "claim_grant_for_sync",
    "decide_many",
    "deny",
    "due_expiry_reminders",
    "end_access_of_leaver",
    "escalate_overdue_approvals",
    "expire_grants",
    "expire_stale_requests",
    "give_back",
    "grant_by_admin",
    "record_sync_failure",
    "record_sync_success",
    "release_claim",
    "request_extension",
    "retry_grant",
    "submit_cart",
    "submit_request",
]
