"""Each person's IAM user, ensured once per account before their grants are applied.

The first grant of a person new to an account creates their IAM user with one CreateUser
(never a change that fails first); the IamPrincipal row then spares every later grant the
check. Concurrent workers with grants of the same new person wait for that one creation on
a PostgreSQL advisory lock keyed by account and user name (a session lock: no transaction
is open across the AWS call, and a worker that dies releases it with its connection). On
SQLite, a single-writer database for development, there is no lock: a second CreateUser
answers EntityAlreadyExists, which means the user exists.

AWS is eventually consistent: for a few seconds after CreateUser, a change for the new user
may still answer NoSuchEntity. `recently_created` tells the sync engine to wait and retry
then, rather than blame the entitlement. A full reconcile records every IAM user it reads,
so people who already had a user before their first portal grant cost no call either.
"""

import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from audit.transactions import commit_without_waiting_for_disk
from catalog.models import AwsAccount
from iam import gateway
from iam.models import IamPrincipal

# How long after the portal created a user a NoSuchEntity is taken for AWS still propagating it.
PROPAGATION_WINDOW = timedelta(seconds=60)


def known(account: AwsAccount, names: Iterable[str]) -> dict[str, IamPrincipal]:
    """The principals among `names` known to exist in the account, in one query."""
    rows = IamPrincipal.objects.filter(account=account, user_name__in=set(names))
    return {row.user_name: row for row in rows}


def ensure(account: AwsAccount, access: gateway.AccountAccess, user_name: str, email: str) -> IamPrincipal:
    """Create the person's IAM user unless the portal knows it exists; waits for a concurrent creation."""
    with _creation_lock(account.pk, user_name):
        row = IamPrincipal.objects.filter(account=account, user_name=user_name).first()
        if row is not None:
            return row  # another worker created it (or a reconcile saw it) while this one waited
        created = gateway.ensure_user(access, user_name, tags={"portal-email": email})
        row = IamPrincipal(account=account, user_name=user_name, created_by_portal=created, ensured_at=timezone.now())
        with transaction.atomic():
            # Lost in a database crash, the row only costs a CreateUser that answers "exists".
            commit_without_waiting_for_disk()
            IamPrincipal.objects.bulk_create([row], ignore_conflicts=True)
    return row


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
def _creation_lock(account_pk: int, user_name: str) -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    # Two 32-bit keys: the account, and the name's CRC (a collision only makes two creations queue).
    keys = [account_pk % 2**31, zlib.crc32(user_name.encode()) - 2**31]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", keys)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)
