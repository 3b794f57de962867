"""The locks every access service takes, in the one order of docs/architecture.md ("Locks and retries").

    beneficiary person → access request(s), by id → grant(s), by id → audit chain head (by audit.record)

A service takes its row locks before it records its first audit event: `record` locks the chain
head, which every writer needs, so whoever holds it must wait for nothing else. Rows are locked
FOR NO KEY UPDATE and only the row itself (`of=("self",)`), never a joined one: a plain FOR UPDATE
would also stop other transactions from inserting rows that refer to it (PostgreSQL checks foreign
keys with FOR KEY SHARE, at commit), which is how a submission and an approval used to deadlock.

Locking the beneficiary serialises everything that changes one person's access: separation of
duties is checked after that lock, in the transaction that creates or completes the grant, so two
conflicting requests for one person can never both complete.
"""

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from access.models import AccessRequest, Grant
from accounts.models import User
from audit.transactions import atomic_with_retries
from inputs.refusals import Contended, NotFound

# Around every service's transaction: retried if it loses a deadlock, then 409.
atomic_change = atomic_with_retries(Contended)


def lock_person(person_id: int) -> User:
    """The beneficiary (or holder) whose access is about to change, locked first."""
    return get_user_model().objects.select_for_update(no_key=True).get(pk=person_id)


def lock_request(request_id: int) -> AccessRequest:
    """The request, after its beneficiary: the beneficiary never changes, so it can be read unlocked first."""
    beneficiary_id = AccessRequest.objects.filter(pk=request_id).values_list("beneficiary_id", flat=True).first()
    if beneficiary_id is None:
        raise NotFound("That request does not exist.")
    lock_person(beneficiary_id)
    return (
        AccessRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("entitlement", "beneficiary", "requester")
        .get(pk=request_id)
    )


def lock_grants(person_id: int, entitlement_ids: Iterable[int]) -> dict[int, Grant]:
    """The person's grants of these entitlements (those that exist), by entitlement id, locked in id order."""
    grants = (
        Grant.objects.select_for_update(no_key=True, of=("self",))
        .select_related("entitlement")
        .filter(user_id=person_id, entitlement_id__in=list(entitlement_ids))
        .order_by("pk")
    )
    return {grant.entitlement_id: grant for grant in grants}
