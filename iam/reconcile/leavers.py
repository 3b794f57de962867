"""A leaver's own credentials and sessions in one AWS account, taken away and read back.

On top of the grant removal (the sync engine's work): the IAM user's access keys are set Inactive
(kept, not deleted: the evidence of what they held stays), the console password (login profile) is
deleted, MFA devices are deactivated, the sessions of every role they could assume are denied (the
role's `portal-revoked-sessions` policy: AWS's `AWSRevokeOlderSessions` deny on `aws:TokenIssueTime`,
narrowed to this person's sessions, see iam.apply.operations.roles), and the unmanaged access the reconciler
found them holding is removed or only reported, as the account's `leaver_unmanaged` says. Last, the
`grants` step waits until the grants ended at leaving in this account are read back absent.

Runs in a Celery task, never inside a database transaction; each step is recorded through
access.services.leavers. Safe to run twice: done steps are skipped, and each AWS change is idempotent.
A transient AWS error leaves the step retrying (the task is queued again with backoff); a refusal, or
the last attempt, leaves it failed with AWS's reason; the other steps still run.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from access.models import Grant, LeaverStep
from access.services import leavers as ledger
from accounts.models import User
from catalog.models import AwsAccount, Entitlement
from iam.apply.operations import roles
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError
from iam.aws.gateway import account_access
from iam.aws.identity import iam_user_name
from iam.facts.inventory import Held
from iam.models import UnmanagedAccess
from iam.reconcile import drift_register

# Tries of one step before it is left failed (the backoff between them: iam.tasks.retry_countdown).
MAX_ATTEMPTS = 6


class GrantsNotYetRemoved(Exception):
    """The sync engine is still removing grants in this account: look again shortly (not an attempt)."""


@dataclass
class Outcome:
    """What a run of an account's steps left: whether to run again, and after which attempt."""

    again: bool = False
    waiting_for_grants: bool = False
    attempt: int = 0


def run_account(person_id: int, account_id: int) -> Outcome:
    """Work through the person's steps in this account that are not done yet."""
    steps = ledger.steps_to_do(person_id, account_id)
    outcome = Outcome()
    if not steps:
        return outcome
    person = get_user_model().objects.get(pk=person_id)
    account = AwsAccount.objects.get(pk=account_id)
    context = _Context(person, account)
    for step in steps:
        try:
            evidence = STEPS[step.kind](context, step)
        except GrantsNotYetRemoved as waiting:
            ledger.step_not_done(step.pk, str(waiting), final=False, count_attempt=False)
            outcome.again = outcome.waiting_for_grants = True
            continue
        except TransientAwsError as exc:
            final = step.attempts + 1 >= MAX_ATTEMPTS
            ledger.step_not_done(step.pk, str(exc), final=final)
            if not final:
                outcome.again, outcome.attempt = True, max(outcome.attempt, step.attempts + 1)
            continue
        except PermanentAwsError as exc:
            ledger.step_not_done(step.pk, str(exc), final=True)
            continue
        ledger.step_done(step.pk, evidence)
    return outcome


class _Context:
    """The account's access and the person's IAM user there, read once per run."""

    def __init__(self, person: User, account: AwsAccount) -> None:
        self.person, self.account = person, account
        self.access = account_access(account)
        self.user_name = iam_user_name(person, account)
        self._exists: bool | None = None

    @property
    def user_exists(self) -> bool:
        if self._exists is None:
            self._exists = gateway.user_exists(self.access, self.user_name)
        return self._exists

    def no_user(self) -> str:
        return f"no IAM user {self.user_name} in {self.account.account_id} (read back)"


def _access_keys(ctx: _Context, step: LeaverStep) -> str:
    if not ctx.user_exists:
        return ctx.no_user()
    keys = gateway.deactivate_access_keys(ctx.access, ctx.user_name)
    active = [key["AccessKeyId"] for key in keys if key["Status"] != "Inactive"]
    if active:
        raise TransientAwsError(f"AWS still shows {', '.join(active)} active for {ctx.user_name}.")
    if not keys:
        return f"{ctx.user_name} has no access keys in {ctx.account.account_id} (read back)"
    listed = ", ".join(key["AccessKeyId"] for key in keys)
    return f"{ctx.user_name}'s {len(keys)} access key(s) Inactive, kept as evidence: {listed} (read back)"


def _login_profile(ctx: _Context, step: LeaverStep) -> str:
    if not ctx.user_exists:
        return ctx.no_user()
    had = gateway.delete_login_profile(ctx.access, ctx.user_name)
    if gateway.has_login_profile(ctx.access, ctx.user_name):
        raise TransientAwsError(f"AWS deleted {ctx.user_name}'s console password but still shows it.")
    said = "deleted" if had else "none to delete"
    return f"{ctx.user_name} has no console password in {ctx.account.account_id} ({said}; read back)"


def _mfa_devices(ctx: _Context, step: LeaverStep) -> str:
    if not ctx.user_exists:
        return ctx.no_user()
    serials = gateway.deactivate_mfa_devices(ctx.access, ctx.user_name)
    left = gateway.mfa_devices(ctx.access, ctx.user_name)
    if left:
        raise TransientAwsError(f"AWS still shows MFA devices {', '.join(left)} enabled for {ctx.user_name}.")
    said = f"deactivated {', '.join(serials)}" if serials else "none enabled"
    return f"{ctx.user_name} has no MFA device enabled in {ctx.account.account_id} ({said}; read back)"


def _role_sessions(ctx: _Context, step: LeaverStep) -> str:
    """Every role they could assume: the roles the portal granted them here, and the roles their own
    inline policies allow them to assume (read from AWS, so roles granted outside the portal count)."""
    names = set(
        Grant.objects.filter(
            user=ctx.person, entitlement__account=ctx.account, entitlement__kind=Entitlement.Kind.IAM_ROLE
        ).values_list("entitlement__aws_name", flat=True)
    )
    if ctx.user_exists:
        for document in gateway.inline_user_policies(ctx.access, ctx.user_name).values():
            names |= _assumable_roles(document, ctx.account.account_id)
    revoked, gone = [], []
    for role_name in sorted(names):
        try:
            cutoff = roles.deny_older_sessions(ctx.access, role_name, ctx.user_name)
        except PermanentAwsError as exc:
            if exc.code != "NoSuchEntity":
                raise
            gone.append(role_name)
            continue
        revoked.append(f"{role_name} (issued before {cutoff})")
    if not revoked and not gone:
        return f"{ctx.user_name} could assume no role in {ctx.account.account_id}"
    said = f"sessions denied on {', '.join(revoked)}" if revoked else "no role left"
    if gone:
        said += f"; roles no longer in AWS: {', '.join(gone)}"
    return f"{ctx.user_name}: {said} in {ctx.account.account_id} (read back)"


def _assumable_roles(document: str | dict, account_id: str) -> set[str]:
    """Names of this account's roles an Allow statement lets the user assume (sts:AssumeRole)."""
    statements = (json.loads(document) if isinstance(document, str) else document).get("Statement", [])
    names = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not any(
            a.lower() in ("sts:assumerole", "sts:*", "*") for a in actions
        ):
            continue
        resources = statement.get("Resource", [])
        for resource in [resources] if isinstance(resources, str) else resources:
            prefix = f"arn:aws:iam::{account_id}:role/"
            if resource.startswith(prefix) and "*" not in resource:
                names.add(resource.rsplit("/", 1)[-1])
    return names


def _unmanaged(ctx: _Context, step: LeaverStep) -> str:
    rows = list(
        UnmanagedAccess.objects.filter(account=ctx.account, state=UnmanagedAccess.State.OPEN).filter(person=ctx.person)
        | UnmanagedAccess.objects.filter(
            account=ctx.account, state=UnmanagedAccess.State.OPEN, aws_principal=ctx.user_name
        )
    )
    if not rows:
        return f"no unmanaged access found for {ctx.user_name} in {ctx.account.account_id}"
    listed = ", ".join(sorted(f"{row.get_kind_display()} {row.aws_name}" for row in rows))
    if ctx.account.leaver_unmanaged != AwsAccount.LeaverUnmanaged.REMOVE:
        return f"reported, not removed (account setting): {len(rows)} unmanaged: {listed}"
    for row in rows:
        drift_register.remove(
            row, Held(row.kind, row.aws_principal, row.aws_name, row.person_id, row.principal_email), ctx.account
        )
    return f"removed from AWS (read back): {len(rows)} unmanaged: {listed}"


def _grants(ctx: _Context, step: LeaverStep) -> str:
    waiting, failed = ledger.grants_left(ctx.person.pk, ctx.account.pk, step.left_at)
    if failed:
        raise PermanentAwsError(f"The removal of {len(failed)} grant(s) failed: {'; '.join(failed)}", "GrantFailed")
    if waiting:
        raise GrantsNotYetRemoved(f"{waiting} grant(s) still being removed by the sync.")
    return f"every grant ended at leaving in {ctx.account.account_id} is read back absent"


STEPS: dict[str, Callable[[_Context, LeaverStep], str]] = {
    LeaverStep.Kind.ACCESS_KEYS: _access_keys,
    LeaverStep.Kind.LOGIN_PROFILE: _login_profile,
    LeaverStep.Kind.MFA_DEVICES: _mfa_devices,
    LeaverStep.Kind.ROLE_SESSIONS: _role_sessions,
    LeaverStep.Kind.UNMANAGED: _unmanaged,
    LeaverStep.Kind.GRANTS: _grants,
}
