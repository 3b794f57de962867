"""Applying one grant to AWS: claim it, change AWS, read AWS back, record what AWS says.

No database transaction is open while AWS is called. Running this twice, or after a crash
at any point, changes nothing more: the AWS calls are idempotent and the outcome is
recorded only by the worker holding the current claim.
"""

import logging
from dataclasses import dataclass

from access import services as access_services
from access.models import Grant
from accounts.models import User
from catalog.models import Entitlement
from iam import gateway
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
    work = access_services.claim_grant_for_sync(grant_id)
    if work is None:
        return SyncOutcome(grant_id, "skipped", "nothing to do, or another worker holds it")
    entitlement = Entitlement.objects.select_related("account").get(pk=work.entitlement_id)
    user_name = iam_user_name(User.objects.get(pk=work.user_id))
    account = account_access(entitlement.account)
    try:
        evidence = _apply_membership(account, user_name, entitlement, present=work.desired == Grant.Desired.PRESENT)
    except TransientAwsError as exc:
        access_services.release_claim(work, error=exc.message)
        return SyncOutcome(grant_id, "retry", exc.message)
    except PermanentAwsError as exc:
        access_services.record_sync_failure(work, error=exc.message)
        log.warning("grant %s failed permanently: %s", grant_id, exc.message)
        return SyncOutcome(grant_id, "failed", exc.message)
    access_services.record_sync_success(work, evidence=evidence)
    return SyncOutcome(grant_id, "applied", evidence)


def _apply_membership(account, user_name: str, entitlement, *, present: bool) -> str:
    """Change the membership, then read it back; AWS's answer is the evidence recorded."""
    group = entitlement.aws_name
    if present:
        gateway.add_user_to_group(account, user_name, group)
    else:
        gateway.remove_user_from_group(account, user_name, group)
    is_member = group in gateway.groups_of_user(account, user_name)
    if is_member != present:
        raise TransientAwsError(f"AWS accepted the change for {user_name} in {group} but does not show it yet.")
    verb = "is a member of" if present else "is not a member of"
    return f"{user_name} {verb} {group} in {account.account_id} (read back)"
