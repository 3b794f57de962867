"""Benchmark: grants applied by the portal's worker against the same AWS calls in a bare boto3 loop.

Run with `make bench` (BENCH_GRANTS=300 by default). Prints figures; asserts only that every
grant was applied. The portal side is the whole path: requests submitted and approved through
the services (one transaction, untimed beyond its own line), then the in-process worker drains
the queue (sync tasks and the notifications sent with them) until every grant is read back.
The bare side makes the same IAM calls per grant (AddUserToGroup, then ListGroupsForUser
through a paginator) with a plain boto3 client on the same moto server, reset in between.
"""

import collections
import os
import threading
import time

import boto3
import pytest
import requests as http
from botocore.config import Config
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import connection, transaction

from access import services
from access.models import Grant

GRANTS = int(os.environ.get("BENCH_GRANTS", "300"))
GOOD_REASON = "Deploying the billing service for the Q4 release"


class WorkerTally:
    """SQL queries and seconds spent per task name, counted inside the worker's thread."""

    def __init__(self):
        self.queries: collections.Counter = collections.Counter()
        self.seconds: collections.Counter = collections.Counter()
        self.runs: collections.Counter = collections.Counter()
        self._started = threading.local()

    def _before(self, task=None, **kwargs):
        name = task.name

        def count(execute, sql, params, many, context):
            self.queries[name] += 1
            return execute(sql, params, many, context)

        connection.execute_wrappers.append(count)
        self._started.at = time.perf_counter()

    def _after(self, task=None, **kwargs):
        connection.execute_wrappers.pop()
        self.seconds[task.name] += time.perf_counter() - self._started.at
        self.runs[task.name] += 1

    def __enter__(self):
        task_prerun.connect(self._before, weak=False)
        task_postrun.connect(self._after, weak=False)
        return self

    def __exit__(self, *exc):
        task_prerun.disconnect(self._before)
        task_postrun.disconnect(self._after)


class QueryCount:
    """SQL queries run by this thread inside the block (Django's own query log stops at 9,000)."""

    def __init__(self):
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        connection.execute_wrappers.append(self)
        return self

    def __exit__(self, *exc):
        connection.execute_wrappers.remove(self)


def iam_client(moto_url: str):
    config = Config(region_name="us-east-1", retries={"mode": "standard", "total_max_attempts": 5})
    return boto3.client("iam", endpoint_url=moto_url, config=config)


def create_users(moto_url: str, names: list[str]) -> None:
    iam = iam_client(moto_url)
    for name in names:
        iam.create_user(UserName=name)


def wait_until_applied(grant_ids, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while Grant.objects.filter(pk__in=grant_ids, sync_state=Grant.SyncState.APPLIED).count() < len(grant_ids):
        if time.monotonic() > deadline:
            states = collections.Counter(Grant.objects.filter(pk__in=grant_ids).values_list("sync_state", flat=True))
            raise AssertionError(f"not every grant applied after {seconds}s: {dict(states)}")
        time.sleep(0.05)


@pytest.fixture
def sync_worker():
    """A worker on the sync queue alone, as production runs it: notifications and SoD re-checks go to the
    background queue (portal.settings.celery_queues) and are drained after the timing by a second worker."""
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]):
        yield
    background = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-background"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[background]):
        time.sleep(2)  # long enough to drain a few hundred notification tasks before the database goes


@pytest.mark.timeout(1800)
@pytest.mark.django_db(transaction=True)
def test_portal_applies_grants_at_close_to_bare_boto3_speed(
    cast, sandbox, aws, moto_server, sync_worker, django_user_model
):
    names = [f"bench{number:05d}" for number in range(GRANTS)]
    people = [
        django_user_model.objects.create_user(email=f"{name}@example.com", full_name=name, manager=cast.bob)
        for name in names
    ]
    create_users(moto_server, names)  # the `aws` fixture made the Developers group

    with WorkerTally() as worker, QueryCount() as approving:
        started = time.perf_counter()
        with transaction.atomic():  # the syncs are queued when this commits
            for person in people:
                access_request = services.submit_request(
                    requester=person, entitlement=sandbox.developers, justification=GOOD_REASON
                )
                services.approve(request_id=access_request.pk, actor=cast.bob)
        committed = time.perf_counter()
        grant_ids = list(Grant.objects.filter(user__in=people).values_list("pk", flat=True))
        wait_until_applied(grant_ids, 1500)
        applied = time.perf_counter()
    portal_seconds = applied - committed

    http.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    iam = iam_client(moto_server)
    iam.create_group(GroupName="Developers")
    create_users(moto_server, names)
    bare_started = time.perf_counter()
    for name in names:
        iam.add_user_to_group(GroupName="Developers", UserName=name)
        groups = [
            g["GroupName"]
            for page in iam.get_paginator("list_groups_for_user").paginate(UserName=name)
            for g in page["Groups"]
        ]
        assert "Developers" in groups
    bare_seconds = time.perf_counter() - bare_started

    assert len(grant_ids) == GRANTS
    sync = "iam.sync_grant"
    other_tasks = sum(count for name, count in worker.queries.items() if name != sync)
    print(
        f"\n== apply benchmark: {GRANTS} grants; database {connection.vendor}, "
        f"broker {settings.CELERY_BROKER_URL.split('://')[0]} ==\n"
        f"submit + approve {GRANTS} requests (one transaction)  {committed - started:8.2f} s\n"
        f"portal: commit -> every grant applied           {portal_seconds:8.2f} s  "
        f"{GRANTS / portal_seconds:7.1f} grants/s\n"
        f"        of which inside iam.sync_grant tasks    {worker.seconds[sync]:8.2f} s  "
        f"({worker.runs[sync]} runs; other tasks {sum(worker.runs.values()) - worker.runs[sync]})\n"
        f"bare boto3 loop, same {2 * GRANTS} IAM calls          {bare_seconds:8.2f} s  "
        f"{GRANTS / bare_seconds:7.1f} grants/s\n"
        f"ratio portal/bare throughput                    {bare_seconds / portal_seconds:8.2f}    (target >= 0.7)\n"
        f"ratio sync tasks only/bare                      {bare_seconds / worker.seconds[sync]:8.2f}\n"
        f"(one worker on the sync queue; background tasks wait in their own queue, as in production)\n"
        f"SQL queries per grant: sync task {worker.queries[sync] / GRANTS:.1f}, "
        f"notification tasks {other_tasks / GRANTS:.1f}, submit + approve {approving.queries / GRANTS:.1f}"
    )
