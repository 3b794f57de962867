"""AWS reads (and the one remediation write) behind the IAM posture checks, as plain data.

Everything goes through `iam.aws.gateway`, so errors arrive typed. What the data means for the
CIS controls is decided in `posture.checks`, never here.
"""

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeGuard
from urllib.parse import unquote

from iam.aws import gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError

# AWS regenerates the credential report at most every four hours; an older one is stale.
REPORT_MAX_AGE = timedelta(hours=4)
REPORT_POLL_ATTEMPTS = 10
REPORT_POLL_SECONDS = 2.0
_REPORT_NOT_READY = {"ReportNotPresent", "ReportExpired", "ReportInProgress"}
_DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def _fetch_report(access: gateway.AccountAccess) -> dict | None:
    try:
        return gateway.call(access, "iam", "get_credential_report")
    except PermanentAwsError as exc:
        if exc.code in _REPORT_NOT_READY:
            return None
        raise


def _is_fresh(report: dict | None, now: datetime) -> TypeGuard[dict]:
    return report is not None and now - report["GeneratedTime"] <= REPORT_MAX_AGE


def credential_report(
    access: gateway.AccountAccess, *, now: datetime | None = None, sleep: Callable[[float], None] = time.sleep
) -> tuple[str, datetime]:
    """The account's credential report CSV and when AWS generated it, never older than four hours.

    A missing or stale report is regenerated and polled a bounded number of times; if AWS has
    not finished by then, TransientAwsError (try again later) rather than an old answer.
    """
    now = now or datetime.now(UTC)
    report = _fetch_report(access)
    attempts = 0
    while not _is_fresh(report, now):
        if attempts >= REPORT_POLL_ATTEMPTS:
            raise TransientAwsError(
                "The credential report is still being generated; try again later.", "ReportInProgress"
            )
        if attempts:
            sleep(REPORT_POLL_SECONDS)
        attempts += 1
        state = gateway.call(access, "iam", "generate_credential_report")["State"]
        report = _fetch_report(access) if state == "COMPLETE" else None
    content = report["Content"]
    return (content.decode() if isinstance(content, bytes) else content), report["GeneratedTime"]


def account_summary(access: gateway.AccountAccess) -> dict[str, int]:
    """GetAccountSummary's SummaryMap (AccountMFAEnabled, AccountAccessKeysPresent, ...)."""
    return gateway.call(access, "iam", "get_account_summary")["SummaryMap"]


def _document(raw: str | dict) -> dict:
    """boto3 decodes policy documents; a raw URL-encoded string is decoded here too."""
    return json.loads(unquote(raw)) if isinstance(raw, str) else raw


def authorization_details(access: gateway.AccountAccess) -> dict[str, list]:
    """One GetAccountAuthorizationDetails walk (all pages): users, groups, roles, local policies.

    Policy documents come back as dicts; for customer-managed policies only the default
    version's document is kept, under "DefaultDocument".
    """
    details: dict[str, list] = {key: [] for key in _DETAIL_KEYS}
    params = {"Filter": ["User", "Group", "Role", "LocalManagedPolicy"]}
    for page in gateway.pages(access, "iam", "get_account_authorization_details", **params):
        for key in _DETAIL_KEYS:
            details[key].extend(page.get(key, []))
    for policy in details["Policies"]:
        default = next((v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
        policy["DefaultDocument"] = _document(default["Document"]) if default else {}
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        for principal in details[key]:
            for inline in principal.get(key.replace("DetailList", "PolicyList"), []):
                inline["PolicyDocument"] = _document(inline["PolicyDocument"])
    return details


def active_analyzers(access: gateway.AccountAccess) -> list[dict]:
    """The IAM Access Analyzers of the portal's region whose status is ACTIVE."""
    analyzers = gateway.collect(access, "accessanalyzer", "list_analyzers", "analyzers")
    return [analyzer for analyzer in analyzers if analyzer.get("status") == "ACTIVE"]


def access_keys(access: gateway.AccountAccess, user_name: str) -> list[dict]:
    """The user's access keys: AccessKeyId, Status, CreateDate and LastUsedDate (None if never used)."""
    keys = gateway.collect(access, "iam", "list_access_keys", "AccessKeyMetadata", UserName=user_name)
    for key in keys:
        used = gateway.call(access, "iam", "get_access_key_last_used", AccessKeyId=key["AccessKeyId"])
        key["LastUsedDate"] = used.get("AccessKeyLastUsed", {}).get("LastUsedDate")
    return keys


def deactivate_access_key(access: gateway.AccountAccess, user_name: str, key_id: str) -> str:
    """Set the key Inactive, then read it back; returns the status AWS reports afterwards."""
    gateway.call(access, "iam", "update_access_key", UserName=user_name, AccessKeyId=key_id, Status="Inactive")
    keys = gateway.collect(access, "iam", "list_access_keys", "AccessKeyMetadata", UserName=user_name)
    return next((key["Status"] for key in keys if key["AccessKeyId"] == key_id), "Missing")
