"""When access was last used, from IAM's Access Advisor: the evidence beside each review line.

`GenerateServiceLastAccessedDetails` starts a job for a user; `GetServiceLastAccessedDetails`
returns, per AWS service the user's policies allow, when it was last called (if ever). The job
is polled a bounded number of times; a job still running after that is a TransientAwsError, so
the caller retries later rather than recording "never used" on missing data.
"""

import time
from dataclasses import dataclass
from datetime import datetime

from iam import gateway
from iam.errors import PermanentAwsError, TransientAwsError

POLLS = 10
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Usage:
    last_used: datetime | None  # across every service the person may use; None: never
    services_used: int
    services_allowed: int


def user_arn(account: gateway.AccountAccess, user_name: str) -> str:
    return gateway.call(account, "iam", "get_user", UserName=user_name)["User"]["Arn"]


def last_accessed(account: gateway.AccountAccess, user_name: str, *, sleep=time.sleep) -> Usage:
    job = gateway.call(account, "iam", "generate_service_last_accessed_details", Arn=user_arn(account, user_name))
    for _ in range(POLLS):
        answer = gateway.call(account, "iam", "get_service_last_accessed_details", JobId=job["JobId"])
        status = answer["JobStatus"]
        if status == "COMPLETED":
            services = answer.get("ServicesLastAccessed", [])
            used = [item["LastAuthenticated"] for item in services if item.get("LastAuthenticated")]
            return Usage(max(used) if used else None, len(used), len(services))
        if status == "FAILED":
            reason = answer.get("Error", {}).get("Message", "no reason given")
            raise PermanentAwsError(f"Access Advisor could not report on {user_name}: {reason}", "JobFailed")
        sleep(POLL_SECONDS)
    raise TransientAwsError(f"Access Advisor is still preparing the report on {user_name}.", "JobInProgress")


def role_last_used(account: gateway.AccountAccess, role_name: str) -> datetime | None:
    role = gateway.call(account, "iam", "get_role", RoleName=role_name)["Role"]
    return role.get("RoleLastUsed", {}).get("LastUsedDate")
