"""Exclusive leases on AWS documents that are read, merged and written back (see AwsWriteLease)."""

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from iam.aws.errors import TransientAwsError
from iam.models import AwsWriteLease

# Long enough for a handful of IAM calls with botocore's retries; a dead holder blocks no longer.
LEASE_SECONDS = 120
WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.2


@contextmanager
def exclusive(key: str, *, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the lease on `key` for the block, waiting a little for another holder to finish.

    Raises TransientAwsError if the lease is still held after `wait_seconds` (default
    WAIT_SECONDS), so the grant goes back to the queue and is retried instead of a worker
    blocking for long.
    """
    holder = _acquire(key, WAIT_SECONDS if wait_seconds is None else wait_seconds)
    try:
        yield
    finally:
        AwsWriteLease.objects.filter(key=key, holder=holder).delete()


def _acquire(key: str, wait_seconds: float) -> uuid.UUID:
    deadline = time.monotonic() + wait_seconds
    while True:
        holder = _try_take(key)
        if holder is not None:
            return holder
        if time.monotonic() >= deadline:
            raise TransientAwsError(f"Another worker is updating {key}; trying again later.", "LeaseBusy")
        time.sleep(_POLL_SECONDS)


def _try_take(key: str) -> uuid.UUID | None:
    now, holder = timezone.now(), uuid.uuid4()
    expires_at = now + timedelta(seconds=LEASE_SECONDS)
    # A lease that ran out belongs to a worker that died or overran: take it over.
    if AwsWriteLease.objects.filter(key=key, expires_at__lt=now).update(holder=holder, expires_at=expires_at):
        return holder
    try:
        with transaction.atomic():
            AwsWriteLease.objects.create(key=key, holder=holder, expires_at=expires_at)
    except IntegrityError:
        return None  # held by a live worker
    return holder
