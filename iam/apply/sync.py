"""Applying grants to AWS in batches: claim them, ensure their principals, change AWS, read back, record.

A task takes up to GRANT_SYNC_BATCH_SIZE grants of one account (iam.tasks), so one client
for the account serves them all (an assumed role's session is reused while valid). What
"applied" means depends on the entitlement's kind; iam.apply.operations has one module per kind
and this module dispatches to it.

Before the first grant of a person new to an account, their IAM user is created once
(iam.apply.principals), so no change fails first. A NoSuchEntity just after the portal created the
user is AWS still propagating it: retried with backoff here, then given back to the queue,
never recorded as the entitlement's failure.

No database transaction is open while AWS is called. Running this twice, or after a crash
at any point, changes nothing more: the AWS calls are idempotent and outcomes are recorded
only for grants whose claim the worker still holds, in one transaction per batch.
"""

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from access.models import Grant
from access.services import sync_batches
from access.services.sync_batches import GrantWork, SyncResult
from accounts.models import User
from catalog.models import AwsAccount, Entitlement
from iam.apply import operations, principals
from iam.aws import at_once, gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError
from iam.aws.identity import iam_user_names
from iam.models import IamPrincipal

log = logging.getLogger(__name__)

IAM_KINDS = {Entitlement.Kind.IAM_GROUP, Entitlement.Kind.IAM_POLICY, Entitlement.Kind.IAM_ROLE}
# Waits before trying a change again while AWS propagates a user the portal just created.
PROPAGATION_BACKOFF = (0.2, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class SyncOutcome:
    grant_id: int
    result: str  # "applied", "failed", "retry", "skipped"
    detail: str = ""
    attempt: int = 0


def sync_grant(grant_id: int) -> SyncOutcome:
    """Make AWS match one grant and record what AWS reads back; a no-op if another worker holds it."""
    outcomes = sync_batch(grant_id, batch=1)
    if not outcomes:
        return SyncOutcome(grant_id, "skipped", "nothing to do, or another worker holds it")
    return outcomes[0]


def sync_batch(grant_id: int, *, batch: int) -> list[SyncOutcome]:
    """Claim `grant_id` and up to `batch - 1` other waiting grants of its account, apply and record them.

    Several people's grants are applied at once (`GRANT_SYNC_THREADS`, iam.aws.at_once); each person's
    one after the other, so no two changes to one IAM user race each other.
    """
    works = sync_batches.claim_grants_for_sync(grant_id, batch=batch)
    if not works:
        return []
    results: list[SyncResult] = []
    gone: set[str] = set()
    try:
        account = works[0].entitlement.account
        names = iam_user_names({work.user_id: work.user for work in works}.values(), account)
        ready = _ensure_principals(account, works, names)
        by_person: dict[int, list[GrantWork]] = {}
        for work in works:
            by_person.setdefault(work.user_id, []).append(work)
        pooled: list[Callable[[], _PersonDone]] = []
        here: list[Callable[[], _PersonDone]] = []
        for person_works in by_person.values():
            unit = functools.partial(_sync_person, account, person_works, ready, names[person_works[0].user_id])
            (here if _uses_database(person_works) else pooled).append(unit)
        with contextlib.closing(at_once.run_all(pooled, threads=settings.GRANT_SYNC_THREADS, here=here)) as done:
            error = None
            for person in done:
                results += person.results
                gone |= person.gone
                error = error or person.error
        if error:
            raise error
        for user_name in sorted(gone):
            principals.forget(account, user_name)
    except Exception as exc:
        # A bug, not AWS: record what was done and give the rest back at once rather than after a lease.
        settled = {result.work.grant_id for result in results}
        message = f"Unexpected error in the sync engine: {type(exc).__name__}"
        results += [SyncResult(work, "retry", message) for work in works if work.grant_id not in settled]
        sync_batches.record_sync_results(results)
        raise
    held = set(sync_batches.record_sync_results(results))
    for result in results:
        if result.result == "failed":
            log.warning("grant %s failed permanently: %s", result.work.grant_id, result.detail)
    return [
        SyncOutcome(r.work.grant_id, r.result if r.work.grant_id in held else "skipped", r.detail, r.work.attempt)
        for r in results
    ]


@dataclass
class _PersonDone:
    """One person's grants of the batch, as applied by a thread: outcomes, users found deleted, a bug met."""

    results: list[SyncResult]
    gone: set[str]
    error: Exception | None = None


def _uses_database(works: list[GrantWork]) -> bool:
    """A role's revocation merges its deny under an AwsWriteLease, a database row: applied in the batch's thread."""
    return any(
        work.entitlement.kind == Entitlement.Kind.IAM_ROLE and work.desired != Grant.Desired.PRESENT for work in works
    )


def _sync_person(account: AwsAccount, works: list[GrantWork], ready: "_Principals", user_name: str) -> _PersonDone:
    """One person's grants in order. A bug stops them there: the rest are given back by the batch."""
    done = _PersonDone([], set())
    for work in works:
        try:
            done.results.append(_sync_one(account, work, ready, user_name))
        except _UserDeleted as exc:
            done.gone.add(user_name)
            done.results.append(SyncResult(work, "retry", exc.message))
        except Exception as exc:  # handed to the batch, which gives the rest back and raises it
            done.error = exc
            break
    return done


@dataclass
class _Principals:
    """The batch's knowledge of its people's IAM users: rows known or ensured, and errors ensuring them."""

    rows: dict[str, IamPrincipal]
    errors: dict[str, Exception]


def _needs_iam_user(work: GrantWork) -> bool:
    return work.desired == Grant.Desired.PRESENT and work.entitlement.kind in IAM_KINDS


def _ensure_principals(account: AwsAccount, works: list[GrantWork], user_names: dict[int, str]) -> _Principals:
    """One query for the batch's people the portal knows in the account; one CreateUser for each other one."""
    emails = {user_names[work.user_id]: work.user.email for work in works if _needs_iam_user(work)}
    rows = principals.known(account, emails) if emails else {}
    missing = {name: email for name, email in emails.items() if name not in rows}
    if not (missing and account.create_iam_users):
        return _Principals(rows, {})
    created, errors = principals.ensure_all(account, gateway.account_access(account), missing)
    return _Principals({**rows, **created}, errors)


def _sync_one(account: AwsAccount, work: GrantWork, ready: _Principals, user_name: str) -> SyncResult:
    target = _target(work.user, work.entitlement, user_name)
    present = work.desired == Grant.Desired.PRESENT
    try:
        if _needs_iam_user(work) and target.user_name in ready.errors:
            raise ready.errors[target.user_name]
        evidence = _apply(
            account, work.entitlement, target, present=present, principal=ready.rows.get(target.user_name)
        )
    except _UserDeleted:
        raise  # its row is forgotten by the batch's thread, which holds the database connection
    except TransientAwsError as exc:
        return SyncResult(work, "retry", exc.message)
    except PermanentAwsError as exc:
        return SyncResult(work, "failed", exc.message)
    return SyncResult(work, "applied", evidence)


def _apply(
    account: AwsAccount,
    entitlement: Entitlement,
    target: operations.Target,
    *,
    present: bool,
    principal: IamPrincipal | None,
) -> str:
    """Apply; a NoSuchEntity for the person's user is AWS propagating it, or a user deleted outside the portal."""
    for delay in (*PROPAGATION_BACKOFF, None):
        try:
            return operations.apply(entitlement.kind, target, present=present)
        except PermanentAwsError as exc:
            if not (exc.code == "NoSuchEntity" and present and entitlement.kind in IAM_KINDS):
                raise
            missing = exc
        if delay is None or not principals.recently_created(principal):
            break
        time.sleep(delay)
    if principals.recently_created(principal):
        raise TransientAwsError(
            f"AWS does not show the new IAM user {target.user_name} yet; trying again later.", "NotYetVisible"
        ) from missing
    if gateway.user_exists(target.account, target.user_name):
        raise missing  # the user is there: the group, policy or role is what is missing
    if not account.create_iam_users:
        raise PermanentAwsError(
            f"{target.user_name} has no IAM user in {account.account_id}, and the account does not "
            "let the portal create IAM users: create it there, or allow it on the account.",
            missing.code,
        ) from missing
    raise _UserDeleted(
        f"The IAM user {target.user_name} was deleted outside the portal; it is created again on the next try.",
        "UserDeleted",
    ) from missing


class _UserDeleted(TransientAwsError):
    """The person's IAM user is gone from AWS: their IamPrincipal row is forgotten, the grant tried again."""


def _target(person: User, entitlement: Entitlement, user_name: str) -> operations.Target:
    account = entitlement.account
    return operations.Target(
        account=gateway.account_access(account),
        user_name=user_name,
        email=person.email,
        aws_name=entitlement.aws_name,
        sso_instance_arn=account.sso_instance_arn,
    )
