"""When access was last used, from IAM's Access Advisor: the evidence beside each review line.

`GenerateServiceLastAccessedDetails` starts a job for a user; `GetServiceLastAccessedDetails`
returns, per AWS service the user's policies allow, when it was last called (if ever). The job
is polled a bounded number of times; a job still running after that is a TransientAwsError, so
the caller retries later rather than recording "never used" on missing data.

Where AWS cannot say (the endpoint does not offer Access Advisor, the portal may not read it, the
user is missing, the answer cannot be read, the job failed), `UsageUnavailable` carries the reason in
plain words for the review evidence, never a library's exception text. Throttling and other
transient errors stay TransientAwsError: worth asking again.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from iam.aws import gateway
from iam.aws.errors import AwsError, PermanentAwsError, TransientAwsError

POLLS = 10
POLL_SECONDS = 1.0

_NOT_ALLOWED = (
    "the portal may not read Access Advisor in this account "
    "(it needs iam:GenerateServiceLastAccessedDetails and iam:GetServiceLastAccessedDetails)"
)
_NOT_OFFERED = "this AWS endpoint does not offer Access Advisor"
# Why AWS could not say, by the gateway's error code, in words an auditor reads in the evidence.
PLAIN_REASONS = {
    "AccessDenied": _NOT_ALLOWED,
    "AccessDeniedException": _NOT_ALLOWED,
    "UnauthorizedOperation": _NOT_ALLOWED,
    "NoSuchEntity": "AWS has no IAM user of that name in this account",
    "NotImplemented": _NOT_OFFERED,
    "InvalidAction": _NOT_OFFERED,
    "UnknownOperationException": _NOT_OFFERED,
    "Unreadable": "AWS's answer could not be read (the endpoint may not offer Access Advisor)",
    "JobFailed": "Access Advisor could not prepare its report",  # raised with AWS's reason, below
}
BUSY = "AWS was too busy to answer (throttled or unavailable) each time it was asked"


class UsageUnavailable(Exception):
    """AWS cannot say when this access was last used; `reason` says why, in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def plain_reason(exc: AwsError) -> str:
    if exc.code in PLAIN_REASONS:
        return PLAIN_REASONS[exc.code]
    if isinstance(exc, TransientAwsError):
        return BUSY
    return f"AWS refused to say (its error code: {exc.code or 'none'})"


@dataclass(frozen=True)
class Usage:
    last_used: datetime | None  # across every service the person may use; None: never
    services_used: int
    services_allowed: int


def user_arn(account: gateway.AccountAccess, user_name: str) -> str:
    return gateway.call(account, "iam", "get_user", UserName=user_name)["User"]["Arn"]


def last_accessed(
    account: gateway.AccountAccess, user_name: str, *, sleep: Callable[[float], None] = time.sleep
) -> Usage:
    """When `user_name` last used what their policies allow. Raises UsageUnavailable when AWS cannot say,
    TransientAwsError when asking again later may work (throttled, unavailable, the job still running)."""
    try:
        return _last_accessed(account, user_name, sleep)
    except PermanentAwsError as exc:
        raise UsageUnavailable(plain_reason(exc)) from exc
    except TransientAwsError as exc:
        # An answer that cannot be parsed (an HTML error page where XML was due) will not parse next time.
        if exc.code == "Unreadable":
            raise UsageUnavailable(plain_reason(exc)) from exc
        raise


def _last_accessed(account: gateway.AccountAccess, user_name: str, sleep: Callable[[float], None]) -> Usage:
    job = gateway.call(account, "iam", "generate_service_last_accessed_details", Arn=user_arn(account, user_name))
    for _ in range(POLLS):
        answer = gateway.call(account, "iam", "get_service_last_accessed_details", JobId=job["JobId"])
        status = answer["JobStatus"]
        if status == "COMPLETED":
            services = answer.get("ServicesLastAccessed", [])
            used = [item["LastAuthenticated"] for item in services if item.get("LastAuthenticated")]
            return Usage(max(used) if used else None, len(used), len(services))
        if status == "FAILED":
            # AWS's own words for a failed job are a sentence for people, not a library's text.
            reason = answer.get("Error", {}).get("Message", "no reason given")
            raise UsageUnavailable(f"{PLAIN_REASONS['JobFailed']}: {reason}")
        sleep(POLL_SECONDS)
    raise TransientAwsError(f"Access Advisor is still preparing the report on {user_name}.", "JobInProgress")


def role_last_used(account: gateway.AccountAccess, role_name: str) -> datetime | None:
    role = gateway.call(account, "iam", "get_role", RoleName=role_name)["Role"]
    return role.get("RoleLastUsed", {}).get("LastUsedDate")
