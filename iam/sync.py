"""Applying one grant to AWS: claim it, change AWS, read AWS back, record what AWS says.

What "applied" means depends on the entitlement's kind; iam.operations has one module per
kind and this module dispatches to it.

No database transaction is open while AWS is called. Running this twice, or after a crash
at any point, changes nothing more: the AWS calls are idempotent and the outcome is
recorded only by the worker holding the current claim.
"""

import logging
from dataclasses import dataclass

from access import services as access_services
from access.models import Grant
from catalog.models import Entitlement
from iam import gateway, operations
from iam.errors import PermanentAwsError, TransientAwsError
from iam.identity import iam_user_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    grant_id: int
    result: str  # "applied", "failed", "retry", "skipped"
    detail: str = ""


def account_access(account) -> gateway.AccountAccess:
    return gateway.AccountAccess(account.account_id, account.role_arn, account.external_id)


def sync_grant(grant_id: int) -> SyncOutcome:
    """Make AWS match one grant and record what AWS reads back; a no-op if another worker holds it."""
    work = access_services.claim_grant_for_sync(grant_id)
    if work is None:
        return SyncOutcome(grant_id, "skipped", "nothing to do, or another worker holds it")
    entitlement = work.entitlement
    target = _target(work.user, entitlement)
    present = work.desired == Grant.Desired.PRESENT
    try:
        evidence = _apply(entitlement, target, present=present)
    except TransientAwsError as exc:
        access_services.release_claim(work, error=exc.message)
        return SyncOutcome(grant_id, "retry", exc.message)
    except PermanentAwsError as exc:
        access_services.record_sync_failure(work, error=exc.message)
        log.warning("grant %s failed permanently: %s", grant_id, exc.message)
        return SyncOutcome(grant_id, "failed", exc.message)
    except Exception as exc:
        # A bug, not AWS: give the grant back at once rather than leaving it claimed for a lease.
        access_services.release_claim(work, error=f"Unexpected error in the sync engine: {type(exc).__name__}")
        raise
    access_services.record_sync_success(work, evidence=evidence)
    return SyncOutcome(grant_id, "applied", evidence)


IAM_KINDS = {Entitlement.Kind.IAM_GROUP, Entitlement.Kind.IAM_POLICY, Entitlement.Kind.IAM_ROLE}


def _apply(entitlement, target: operations.Target, *, present: bool) -> str:
    """Apply; where the account allows it, create a missing IAM user on the first grant and apply again."""
    try:
        return operations.apply(entitlement.kind, target, present=present)
    except PermanentAwsError as exc:
        if not (exc.code == "NoSuchEntity" and present and entitlement.kind in IAM_KINDS) or _user_exists(target):
            raise  # not the user that is missing (a group, policy or role is)
        if not entitlement.account.create_iam_users:
            raise PermanentAwsError(
                f"{target.user_name} has no IAM user in {entitlement.account.account_id}, and the account does not "
                "let the portal create IAM users: create it there, or allow it on the account.",
                exc.code,
            ) from exc
    gateway.ensure_user(target.account, target.user_name, tags={"portal-email": target.email})
    log.info("created IAM user %s in %s", target.user_name, entitlement.account.account_id)
    return operations.apply(entitlement.kind, target, present=present)


def _user_exists(target: operations.Target) -> bool:
    try:
        gateway.call(target.account, "iam", "get_user", UserName=target.user_name)
    except PermanentAwsError as exc:
        if exc.code == "NoSuchEntity":
            return False
        raise
    return True


def _target(person, entitlement) -> operations.Target:
    account = entitlement.account
    return operations.Target(
        account=account_access(account),
        user_name=iam_user_name(person, account),
        email=person.email,
        aws_name=entitlement.aws_name,
        sso_instance_arn=account.sso_instance_arn,
    )
