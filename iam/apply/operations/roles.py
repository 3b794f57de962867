"""iam_role: permission to assume the role; revocation also ends the person's live sessions.

Granting. The person's IAM user gets an inline policy `portal-assume-<RoleName>` allowing
`sts:AssumeRole` on the role's ARN (from GetRole), on condition that the role session name
equals their own user name (`sts:RoleSessionName` = `${aws:username}`). The role's trust
policy must trust the account's principals (`"Principal": {"AWS": "arn:aws:iam::<id>:root"}`),
which leaves the decision to IAM policies in the account; the portal never rewrites trust
policies. Read back with GetUserPolicy. IAM allows 2,048 characters of inline policy per
user, about eight roles per person; beyond that AWS refuses (LimitExceeded) and the grant
fails visibly.

Revoking. The inline policy is deleted, so no new session can start. Sessions already
started keep working until they expire (up to 12 hours), so the role also gets a deny, as
AWS's "revoke active sessions" (`AWSRevokeOlderSessions`) does, but narrowed to the one
person: the role's inline policy `portal-revoked-sessions` holds one statement per revoked
person, denying every action to this role's sessions whose `aws:userid` (`<role id>:<session
name>`) matches `*:<user name>` and whose `aws:TokenIssueTime` is before a cut-off. The
session-name condition above is what makes the session name the person's user name.
Other people's sessions are untouched, and sessions the person starts after being granted
the role again are issued after the cut-off. Read back with GetRolePolicy and GetUserPolicy.

Workers merge into that one document under an AwsWriteLease, because IAM has no
conditional write and two revocations of the same role would otherwise lose one. Statements
whose cut-off is more than 12 hours old can no longer match a live session and are pruned on
each rewrite, which keeps the document under IAM's 10,240 characters per role.
"""

import json
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from iam.apply.operations.target import Target
from iam.aws import gateway, leases
from iam.aws.errors import PermanentAwsError, TransientAwsError

ASSUME_POLICY_PREFIX = "portal-assume-"
REVOKED_SESSIONS_POLICY = "portal-revoked-sessions"
# The longest any role session can last (MaxSessionDuration tops out at 12 hours).
SESSION_LIFETIME_LIMIT = timedelta(hours=12)
# IAM is eventually consistent: for a few seconds after the allow policy is deleted a new
# session may still be issued. A cut-off this far after the deletion catches those too.
PROPAGATION_MARGIN = timedelta(seconds=30)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def assume_policy_name(role_name: str) -> str:
    return f"{ASSUME_POLICY_PREFIX}{role_name}"


def assume_statement(role_arn: str) -> dict:
    return {
        "Sid": "PortalAssumeRole",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": role_arn,
        "Condition": {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}},
    }


def revocation_statement(user_name: str, cutoff: str) -> dict:
    return {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringLike": {"aws:userid": f"*:{user_name}"},
            "DateLessThan": {"aws:TokenIssueTime": cutoff},
        },
    }


def apply(target: Target, *, present: bool) -> str:
    return grant(target) if present else revoke(target)


def grant(target: Target) -> str:
    """Write the per-user assume policy (idempotent: the same document each time) and read it back."""
    account, user_name, role_name = target.account, target.user_name, target.aws_name
    role_arn = _get_role(account, role_name)["Arn"]
    expected = [assume_statement(role_arn)]
    policy_name = assume_policy_name(role_name)
    gateway.call(
        account,
        "iam",
        "put_user_policy",
        UserName=user_name,
        PolicyName=policy_name,
        PolicyDocument=_document(expected),
    )
    if _statements(_user_policy(account, user_name, policy_name)) != expected:
        raise TransientAwsError(f"AWS accepted {policy_name} for {user_name} but does not show it yet.")
    return f"{user_name} may assume {role_arn} through {policy_name} in {account.account_id} (read back)"


def revoke(target: Target) -> str:
    """Delete the assume policy, deny the person's older sessions on the role, read both back."""
    account, user_name, role_name = target.account, target.user_name, target.aws_name
    policy_name = assume_policy_name(role_name)
    _delete_user_policy(account, user_name, policy_name)
    if _user_policy(account, user_name, policy_name) is not None:
        raise TransientAwsError(f"AWS deleted {policy_name} of {user_name} but still shows it.")
    try:
        _get_role(account, role_name)
    except PermanentAwsError as exc:
        if exc.code != "NoSuchEntity":
            raise
        return f"{user_name} has no {policy_name} and role {role_name} no longer exists in {account.account_id}"
    cutoff = deny_older_sessions(account, role_name, user_name)
    return (
        f"{user_name} has no {policy_name}; {role_name}'s {REVOKED_SESSIONS_POLICY} denies {user_name}'s sessions "
        f"issued before {cutoff} in {account.account_id} (read back)"
    )


def deny_older_sessions(account: gateway.AccountAccess, role_name: str, user_name: str) -> str:
    """Merge the person's deny into the role's revocation policy, read it back; return the cut-off."""
    now = timezone.now()
    cutoff = _format(now + PROPAGATION_MARGIN)
    with leases.exclusive(f"{account.account_id}:role/{role_name}:{REVOKED_SESSIONS_POLICY}"):
        current = _statements(_role_policy(account, role_name))
        statements = merge_revocation(current, user_name, cutoff, now=now)
        gateway.call(
            account,
            "iam",
            "put_role_policy",
            RoleName=role_name,
            PolicyName=REVOKED_SESSIONS_POLICY,
            PolicyDocument=_document(statements),
        )
    if revoked_cutoff(_statements(_role_policy(account, role_name)), user_name) != cutoff:
        raise TransientAwsError(f"AWS accepted {REVOKED_SESSIONS_POLICY} on {role_name} but does not show it yet.")
    return cutoff


def merge_revocation(statements: list[dict], user_name: str, cutoff: str, *, now: datetime) -> list[dict]:
    """One statement per person (theirs replaced), minus those too old to match any live session."""
    kept = [
        statement for statement in statements if _revoked_user(statement) != user_name and not _outlived(statement, now)
    ]
    return [*kept, revocation_statement(user_name, cutoff)]


def revoked_cutoff(statements: list[dict], user_name: str) -> str | None:
    """The cut-off of the person's deny in a revocation policy, or None."""
    for statement in statements:
        if _revoked_user(statement) == user_name:
            return statement["Condition"].get("DateLessThan", {}).get("aws:TokenIssueTime")
    return None


def _revoked_user(statement: dict) -> str | None:
    pattern = statement.get("Condition", {}).get("StringLike", {}).get("aws:userid", "")
    return pattern[2:] if isinstance(pattern, str) and pattern.startswith("*:") else None


def _outlived(statement: dict, now: datetime) -> bool:
    cutoff = statement.get("Condition", {}).get("DateLessThan", {}).get("aws:TokenIssueTime", "")
    try:
        issued_before = datetime.strptime(cutoff, _TIME_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return False  # not a statement the portal wrote: keep it
    return issued_before + SESSION_LIFETIME_LIMIT < now


def _format(moment: datetime) -> str:
    # Rounded up to the whole second: a cut-off rounded down could spare a session issued just before it.
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _document(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def _statements(document: dict | None) -> list[dict]:
    if not document:
        return []
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _get_role(account: gateway.AccountAccess, role_name: str) -> dict:
    return gateway.call(account, "iam", "get_role", RoleName=role_name)["Role"]


def _user_policy(account: gateway.AccountAccess, user_name: str, policy_name: str) -> dict | None:
    try:
        answer = gateway.call(account, "iam", "get_user_policy", UserName=user_name, PolicyName=policy_name)
    except PermanentAwsError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise
    return answer["PolicyDocument"]


def _role_policy(account: gateway.AccountAccess, role_name: str) -> dict | None:
    try:
        answer = gateway.call(account, "iam", "get_role_policy", RoleName=role_name, PolicyName=REVOKED_SESSIONS_POLICY)
    except PermanentAwsError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise
    return answer["PolicyDocument"]


def _delete_user_policy(account: gateway.AccountAccess, user_name: str, policy_name: str) -> None:
    try:
        gateway.call(account, "iam", "delete_user_policy", UserName=user_name, PolicyName=policy_name)
    except PermanentAwsError as exc:
        if exc.code != "NoSuchEntity":
            raise
