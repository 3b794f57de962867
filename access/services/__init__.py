"""Every state change of requests and grants, one function each.

Pages, the admin and Celery tasks call these; none of them changes these models directly.
"""

from access.services.grants import claim_grant_for_sync, record_sync_failure, record_sync_success, release_claim
from access.services.requests import approve, deny, submit_request

__all__ = [
    "approve",
    "claim_grant_for_sync",
    "deny",
    "record_sync_failure",
    "record_sync_success",
    "release_claim",
    "submit_request",
]
