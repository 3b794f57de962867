"""The CIS AWS Foundations (v7.0) IAM controls as pure functions over data read from AWS.

No I/O and no database: `evaluate` takes the credential report rows, the account summary,
the authorization details, the active analyzers, the IAM user names of leavers and `now`,
and returns one Finding per principal examined, passed or not.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

ROOT = "<root_account>"
UNUSED_DAYS = 45
ROTATION_DAYS = 90
SUPPORT_POLICY_ARN = "arn:aws:iam::aws:policy/AWSSupportAccess"
KEY_SLOTS = ("access_key_1", "access_key_2")

HIGH, MEDIUM, LOW = "high", "medium", "low"
# Control id -> (title, severity).
CONTROLS = {
    "2.4": ("No access keys exist for the root user", HIGH),
    "2.5": ("MFA is enabled for the root user", HIGH),
    "2.10": ("MFA is enabled for every IAM user with a console password", HIGH),
    "2.11": (f"Credentials unused for {UNUSED_DAYS} days or more are disabled", MEDIUM),
    "2.12": (f"Active access keys are rotated every {ROTATION_DAYS} days or less", MEDIUM),
    "2.13": ("IAM users receive permissions only through groups", LOW),
    "2.14": ('No attached policy allows "Action": "*" on "Resource": "*"', HIGH),
    "2.15": ("A support role exists to manage incidents with AWS Support", LOW),
    "2.18": ("IAM Access Analyzer is enabled", MEDIUM),
    "portal.leaver_key": ("No leaver holds an active access key", HIGH),
}


@dataclass(frozen=True)
class Finding:
    """One principal examined for one control. `principal` is unique per control and account."""

    control_id: str
    principal: str
    passed: bool
    evidence: dict = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return CONTROLS[self.control_id][1]

    @property
    def user_name(self) -> str:
        return self.evidence.get("user", "")


def parse_report(content: str) -> list[dict[str, str]]:
    """The credential report CSV as one dict per row, keyed by the header's column names."""
    return list(csv.DictReader(io.StringIO(content)))


def _date(value: str) -> datetime | None:
    """A report timestamp, or None for `N/A`, `no_information`, `not_supported` and blanks."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def _true(value: str) -> bool:
    return value == "true"


def _fields(row: dict, *names: str) -> dict:
    return {"user": row["user"], **{name: row.get(name, "") for name in names}}


def _root_checks(root: dict | None, summary: dict) -> list[Finding]:
    root = root or {"user": ROOT}
    keys_in_report = any(_true(root.get(f"{slot}_active", "")) for slot in KEY_SLOTS)
    keys_in_summary = summary.get("AccountAccessKeysPresent", 0) > 0
    evidence = _fields(root, "access_key_1_active", "access_key_2_active")
    evidence["AccountAccessKeysPresent"] = summary.get("AccountAccessKeysPresent")
    mfa = _true(root.get("mfa_active", "")) and summary.get("AccountMFAEnabled", 0) == 1
    mfa_evidence = {**_fields(root, "mfa_active"), "AccountMFAEnabled": summary.get("AccountMFAEnabled")}
    return [
        Finding("2.4", ROOT, not (keys_in_report or keys_in_summary), evidence),
        Finding("2.5", ROOT, mfa, mfa_evidence),
    ]


def _unused(row: dict, used_field: str, fallback_field: str, now: datetime) -> Finding:
    """2.11 for one credential: last used, else (never used) when it was set; unknown is a failure."""
    credential = used_field.removesuffix("_last_used_date").removesuffix("_last_used")
    last = _date(row.get(used_field, "")) or _date(row.get(fallback_field, ""))
    passed = last is not None and now - last < timedelta(days=UNUSED_DAYS)
    evidence = {**_fields(row, used_field, fallback_field), "credential": credential}
    return Finding("2.11", f"{row['user']}:{credential}", passed, evidence)


def _user_checks(row: dict, leavers: set[str], now: datetime) -> list[Finding]:
    user, findings = row["user"], []
    if _true(row.get("password_enabled", "")):
        findings.append(
            Finding("2.10", user, _true(row.get("mfa_active", "")), _fields(row, "password_enabled", "mfa_active"))
        )
        findings.append(_unused(row, "password_last_used", "password_last_changed", now))
    active = [slot for slot in KEY_SLOTS if _true(row.get(f"{slot}_active", ""))]
    for slot in active:
        findings.append(_unused(row, f"{slot}_last_used_date", f"{slot}_last_rotated", now))
        rotated = _date(row.get(f"{slot}_last_rotated", ""))
        passed = rotated is not None and now - rotated <= timedelta(days=ROTATION_DAYS)
        evidence = {**_fields(row, f"{slot}_active", f"{slot}_last_rotated"), "credential": slot}
        findings.append(Finding("2.12", f"{user}:{slot}", passed, evidence))
    if user in leavers:
        evidence = {**_fields(row, *(f"{slot}_active" for slot in KEY_SLOTS)), "leaver": True}
        findings.append(Finding("portal.leaver_key", user, not active, evidence))
    return findings


def _allows_everything(document: dict) -> bool:
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if statement.get("Effect") == "Allow" and "*" in actions and "*" in resources:
            return True
    return False


def _policy_checks(details: dict) -> list[Finding]:
    findings = []
    for user in details.get("UserDetailList", []):
        attached = [policy["PolicyArn"] for policy in user.get("AttachedManagedPolicies", [])]
        inline = [policy["PolicyName"] for policy in user.get("UserPolicyList", [])]
        evidence = {"user": user["UserName"], "attached_policies": attached, "inline_policies": inline}
        findings.append(Finding("2.13", user["UserName"], not attached and not inline, evidence))
    for policy in details.get("Policies", []):
        if policy.get("AttachmentCount", 0) > 0:
            evidence = {"policy_arn": policy["Arn"], "attachments": policy["AttachmentCount"]}
            findings.append(Finding("2.14", policy["Arn"], not _allows_everything(policy["DefaultDocument"]), evidence))
    for key, kind in (("UserDetailList", "User"), ("GroupDetailList", "Group"), ("RoleDetailList", "Role")):
        for principal in details.get(key, []):
            for inline in principal.get(f"{kind}PolicyList", []):
                name = f"{principal['Arn']}:inline/{inline['PolicyName']}"
                evidence = {"principal_arn": principal["Arn"], "inline_policy": inline["PolicyName"]}
                findings.append(Finding("2.14", name, not _allows_everything(inline["PolicyDocument"]), evidence))
    support_roles = [
        role["RoleName"]
        for role in details.get("RoleDetailList", [])
        if any(policy["PolicyArn"] == SUPPORT_POLICY_ARN for policy in role.get("AttachedManagedPolicies", []))
    ]
    findings.append(Finding("2.15", "account", bool(support_roles), {"support_roles": support_roles}))
    return findings


def evaluate(
    rows: list[dict], summary: dict, details: dict, analyzers: list[dict], leavers: set[str], now: datetime
) -> list[Finding]:
    """Every control on one account, as of `now`: one Finding per principal examined."""
    root = next((row for row in rows if row["user"] == ROOT), None)
    findings = _root_checks(root, summary)
    for row in rows:
        if row["user"] != ROOT:
            findings.extend(_user_checks(row, leavers, now))
    findings.extend(_policy_checks(details))
    names = [analyzer.get("name", "") for analyzer in analyzers]
    findings.append(Finding("2.18", "account", bool(analyzers), {"active_analyzers": names}))
    return findings


def controls_outcome(findings: list[Finding]) -> dict[str, bool]:
    """Each control's verdict: passed unless one of its findings failed (leaver check: only if examined)."""
    outcome = {control_id: True for control_id in CONTROLS}
    for finding in findings:
        outcome[finding.control_id] = outcome[finding.control_id] and finding.passed
    return outcome
