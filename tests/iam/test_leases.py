"""Leases on AWS documents that workers read, merge and write back."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from iam.aws import leases
from iam.aws.errors import TransientAwsError
from iam.models import AwsWriteLease

KEY = "123456789012:role/Deployer:portal-revoked-sessions"


def held_by_another_worker(expires_in: timedelta) -> AwsWriteLease:
    return AwsWriteLease.objects.create(key=KEY, holder=uuid.uuid4(), expires_at=timezone.now() + expires_in)


def test_the_lease_is_held_for_the_block_and_released_after(db):
    with leases.exclusive(KEY):
        assert AwsWriteLease.objects.filter(key=KEY).count() == 1

    assert not AwsWriteLease.objects.filter(key=KEY).exists()


def test_the_lease_is_released_when_the_block_fails(db):
    with pytest.raises(RuntimeError), leases.exclusive(KEY):
        raise RuntimeError("AWS call failed")

    assert not AwsWriteLease.objects.filter(key=KEY).exists()


def test_a_live_lease_makes_the_other_worker_retry_later(db):
    other = held_by_another_worker(timedelta(minutes=1))

    with pytest.raises(TransientAwsError, match="Another worker is updating"), leases.exclusive(KEY, wait_seconds=0.3):
        pass

    assert AwsWriteLease.objects.get(key=KEY).holder == other.holder, "the holder's lease is untouched"


def test_a_dead_workers_lease_is_taken_over_once_it_runs_out(db):
    dead = held_by_another_worker(timedelta(seconds=-1))

    with leases.exclusive(KEY, wait_seconds=0):
        assert AwsWriteLease.objects.get(key=KEY).holder != dead.holder

    assert not AwsWriteLease.objects.filter(key=KEY).exists()
