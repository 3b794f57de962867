"""A worker process killed in the middle of a batch loses nothing and records nothing twice.

Real `celery worker` processes on Redis consume this run's queue, talk to the test database
and to moto over HTTP. The first is SIGKILLed while it applies a batch of grants; a second
one, with the sweep playing beat's part, finishes the batch. A grant the dead worker held is
taken over once its (shortened) lease runs out.
"""

import collections
import time

import boto3
import pytest
from django.core.management import call_command
from django.db import transaction

from access import services
from access.models import Grant
from audit.models import AuditEvent
from iam import tasks
from tests.iam.workers import WorkerProcess, no_other_worker_on

GOOD_REASON = "Deploying the billing service for the Q4 release"
GRANTS = 120
LEASE_SECONDS = 2  # how soon a dead worker's claim may be taken over, in the workers and the sweep
# Batches of four: the kill lands while one batch is claimed and others are recorded or waiting.
SHORT_LEASE = {"PORTAL_GRANT_SYNC_LEASE_SECONDS": str(LEASE_SECONDS), "PORTAL_GRANT_SYNC_BATCH_SIZE": "4"}


def wait_until(condition, seconds: float, what: str, worker: WorkerProcess, poll: float = 0.02):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting until {what}; worker log:\n{worker.tail()}")
        time.sleep(poll)
    return result


@pytest.fixture
def engineers(cast, aws, moto_server, django_user_model):
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    people = []
    for number in range(1, GRANTS + 1):
        people.append(
            django_user_model.objects.create_user(
                email=f"engineer{number:02d}@example.com", full_name=f"Engineer {number}", manager=cast.bob
            )
        )
        iam.create_user(UserName=f"engineer{number:02d}")
    return people


def applied_count(grant_ids) -> int:
    return Grant.objects.filter(pk__in=grant_ids, sync_state=Grant.SyncState.APPLIED).count()


def mid_batch(grant_ids) -> bool:
    """A batch recorded and another being applied (so the kill lands inside a task), or most applied."""
    states = collections.Counter(Grant.objects.filter(pk__in=grant_ids).values_list("sync_state", flat=True))
    applied, busy = states[Grant.SyncState.APPLIED], states[Grant.SyncState.IN_PROGRESS]
    return (applied > 0 and busy > 0) or applied >= GRANTS * 3 // 4


@pytest.mark.django_db(transaction=True)
def test_killed_worker_loses_nothing_and_records_nothing_twice(
    cast, sandbox, engineers, moto_server, start_worker, settings
):
    settings.GRANT_SYNC_LEASE_SECONDS = LEASE_SECONDS
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with no_other_worker_on(queue):
        with transaction.atomic():  # every sync is queued before the first worker starts
            for person in engineers:
                access_request = services.submit_request(
                    requester=person, entitlement=sandbox.developers, justification=GOOD_REASON
                )
                services.approve(request_id=access_request.pk, actor=cast.bob)
        grant_ids = list(Grant.objects.values_list("pk", flat=True))
        assert len(grant_ids) == GRANTS

        first = start_worker("doomed", env=SHORT_LEASE)
        wait_until(lambda: mid_batch(grant_ids), 60, "the first worker is in the middle of the batch", first)
        first.kill()
        assert 0 < applied_count(grant_ids) < GRANTS, "the worker finished before it could be killed: add grants"
        held_by_the_dead = list(
            Grant.objects.filter(pk__in=grant_ids, sync_state=Grant.SyncState.IN_PROGRESS).values_list("pk", flat=True)
        )

        second = start_worker("successor", env=SHORT_LEASE)

        def converged() -> bool:
            if applied_count(grant_ids) == GRANTS:
                return True
            tasks.sweep_pending_grants()  # what beat does every minute; queues sync_grant for the rest
            time.sleep(LEASE_SECONDS / 2)
            return False

        wait_until(converged, 180, "every grant is applied", second, poll=0)

    grants = Grant.objects.filter(pk__in=grant_ids)
    assert {grant.sync_state for grant in grants} == {Grant.SyncState.APPLIED}
    for grant in grants.filter(pk__in=held_by_the_dead):
        assert grant.sync_attempts == 2, "the dead worker's claim was taken over once"
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    members = collections.Counter(user["UserName"] for user in iam.get_group(GroupName="Developers")["Users"])
    assert members == {f"engineer{number:02d}": 1 for number in range(1, GRANTS + 1)}
    applied_events = collections.Counter(
        AuditEvent.objects.filter(action="grant.applied", object_type="access.grant").values_list(
            "object_id", flat=True
        )
    )
    assert applied_events == {str(grant_id): 1 for grant_id in grant_ids}
    call_command("verify_audit")
