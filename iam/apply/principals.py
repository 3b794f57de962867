"""Each person's IAM user, ensured once per account before their grants are applied.

The first grant of a person new to an account creates their IAM user with one CreateUser
(never a change that fails first); the IamPrincipal row then spares every later grant the
check. A sync batch ensures all its new people at once. Concurrent workers with grants of the
same new person wait for that one creation on PostgreSQL advisory locks keyed by account and
user name (session locks: no transaction is open across the AWS calls, and a worker that dies
releases them with its connection). On
SQLite, a single-writer database for development, there is no lock: a second CreateUser
answers EntityAlreadyExists, which means the user exists.

AWS is eventually consistent: for a few seconds after CreateUser, a change for the new user
may still answer NoSuchEntity. `recently_created` tells the sync engine to wait and retry
then, rather than blame the entitlement. A full reconcile records every IAM user it reads,
so people who already had a user before their first portal grant cost no call either.
"""

import functools
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.transactions import commit_without_waiting_for_disk
from catalog.models import AwsAccount
from iam.aws import at_once, gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError
from iam.models import IamPrincipal

# How long after the portal created a user a NoSuchEntity is taken for AWS still propagating it.
PROPAGATION_WINDOW = timedelta(seconds=60)


def known(account: AwsAccount, names: Iterable[str]) -> dict[str, IamPrincipal]:
    """The principals among `names` known to exist in the account, in one query."""
    rows = IamPrincipal.objects.filter(account=account, user_name__in=set(names))
    return {row.user_name: row for row in rows}


def ensure_all(
    account: AwsAccount, access: gateway.AccountAccess, emails: dict[str, str]
) -> tuple[dict[str, IamPrincipal], dict[str, Exception]]:
    """Create the IAM users named in `emails` (name -> email) that the portal does not know to exist.

    Returns the rows of every user now known, and the typed AWS error for each it could not
    create. Concurrent workers with the same new people wait for this one's creations: the
    locks are taken for the whole batch, in one order, and held until the rows are committed.
    """
    rows: dict[str, IamPrincipal] = {}
    errors: dict[str, Exception] = {}
    with _creation_locks(account.pk, emails):
        rows.update(known(account, emails))  # another worker created them (or a reconcile saw them) meanwhile
        created = []
        # The CreateUser calls several at once (iam.aws.at_once): they only call AWS; the locks stay on this connection.
        calls = [functools.partial(_create, access, name, emails[name]) for name in sorted(set(emails) - set(rows))]
        for name, outcome in at_once.run_all(calls, threads=settings.GRANT_SYNC_THREADS):
            if isinstance(outcome, Exception):
                errors[name] = outcome
                continue
            rows[name] = IamPrincipal(account=account, user_name=name, created_by_portal=outcome)
            created.append(rows[name])
        if created:
            now = timezone.now()
            for row in created:
                row.ensured_at = now
            with transaction.atomic():
                # Lost in a database crash, these rows only cost CreateUser calls that answer "exists".
                commit_without_waiting_for_disk()
                IamPrincipal.objects.bulk_create(created, ignore_conflicts=True)
    return rows, errors


def _create(access: gateway.AccountAccess, name: str, email: str) -> tuple[str, bool | Exception]:
    """CreateUser unless the user exists: whether the portal created it, or the typed AWS error."""
    try:
        return name, gateway.ensure_user(access, name, tags={"portal-email": email})
    except (TransientAwsError, PermanentAwsError) as exc:
        return name, exc


def recently_created(row: IamPrincipal | None, now: datetime | None = None) -> bool:
    """Whether AWS may still be propagating this user the portal created."""
    if row is None or not row.created_by_portal:
        return False
    return (now or timezone.now()) - row.ensured_at < PROPAGATION_WINDOW


def forget(account: AwsAccount, user_name: str) -> None:
    """AWS no longer has the user (deleted outside the portal): the next grant ensures it again."""
    IamPrincipal.objects.filter(account=account, user_name=user_name).delete()


def remember_seen(account: AwsAccount, names: Iterable[str], *, read_at: datetime) -> None:
    """Record the IAM users a full read of the account showed, and forget those it did not show.

    Rows ensured after the read began are kept: the read could not have seen them.
    """
    names = set(names)
    rows = [IamPrincipal(account=account, user_name=name, ensured_at=read_at) for name in sorted(names)]
    IamPrincipal.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    gone = IamPrincipal.objects.filter(account=account, ensured_at__lt=read_at).exclude(user_name__in=names)
    gone.delete()


@contextmanager
def _creation_locks(account_pk: int, names: Iterable[str]) -> Iterator[None]:
    """Session advisory locks on (account, name) for each name, taken in ascending key order.

    Every worker takes its batch's locks in the same order, so two batches sharing people wait
    for each other but never in a circle. A session lock: no transaction stays open across the
    AWS calls, and a worker that dies releases its locks with its connection.
    """
    if connection.vendor != "postgresql" or not names:
        yield
        return
    # Two 32-bit keys: the account, and the name's CRC (a collision only makes two creations queue).
    keys = sorted({zlib.crc32(name.encode()) - 2**31 for name in names})
    account_key = account_pk % 2**31
    # One round trip each way. The statements of one query string run one after the other, so the
    # locks are still taken in ascending order (a single SELECT over all keys would not promise it).
    lock = "; ".join(["SELECT pg_advisory_lock(%s, %s)"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(lock, [value for key in keys for value in (account_key, key)])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, key) FROM unnest(%s::integer[]) AS key", [account_key, keys])
