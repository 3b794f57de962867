"""A worker process killed in the middle of a batch loses nothing and records nothing twice.

Real `celery worker` processes on Redis consume this run's queue, talk to the test database
and to moto over HTTP. The first is SIGKILLed while it applies a batch of grants; a second
one, with the sweep playing beat's part, finishes the batch. A grant the dead worker held is
taken over once its (shortened) lease runs out.
"""

import collections
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from urllib.parse import quote

import boto3
import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from access import services
from access.models import Grant
from audit.models import AuditEvent
from iam import tasks
from portal.celery import app

GOOD_REASON = "Deploying the billing service for the Q4 release"
GRANTS = 40
LEASE_SECONDS = 2  # how soon a dead worker's claim may be taken over, in the workers and the sweep


@pytest.fixture
def redis_broker(settings):
    """Real worker processes need a broker they can share with this process: Redis."""
    if not settings.REDIS_URL:
        message = "this test needs Redis for its worker processes (set REDIS_URL)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return settings.REDIS_URL


def database_url_of_this_run() -> str:
    """The database pytest-django created, as a DATABASE_URL for another process."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    credentials = f"{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}@"
    return f"postgresql://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """`celery worker` in its own process group, so SIGKILL takes it and anything it started."""

    def __init__(self, name: str, env: dict, log_dir):
        self.log = log_dir / f"{name}.log"
        # -Q as well: portal.settings_test names the default queue after the process id and
        # does not read PORTAL_CELERY_QUEUE, so without it the worker would listen elsewhere.
        queue = env["PORTAL_CELERY_QUEUE"]
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-n", f"{name}@%h"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue, "-l", "INFO"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def start_worker(redis_broker, moto_server, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": database_url_of_this_run(),
        "REDIS_URL": redis_broker,
        "PORTAL_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PORTAL_GRANT_SYNC_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        started.append(WorkerProcess(name, env, tmp_path))
        return started[-1]

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()
        # portal.settings_test names each process's own queue after its pid: drop what the
        # workers sent there (notifications), so nothing is left behind on the shared Redis.
        if started:
            redis.Redis.from_url(redis_broker).delete(*[f"portal-test-{w.process.pid}" for w in started])


@contextmanager
def no_other_worker_on(queue: str):
    """Stop in-process workers of this run (the `celery_worker` fixture) from consuming the queue."""
    replies = app.control.inspect(timeout=1).active_queues() or {}
    others = [name for name, queues in replies.items() if any(q["name"] == queue for q in queues)]
    if others:
        app.control.cancel_consumer(queue, destination=others, reply=True, timeout=5)
    try:
        yield
    finally:
        if others:
            app.control.add_consumer(queue, destination=others, reply=True, timeout=5)


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
    """A quarter applied and one being applied (so the kill lands inside a task), or most applied."""
    states = collections.Counter(Grant.objects.filter(pk__in=grant_ids).values_list("sync_state", flat=True))
    applied, busy = states[Grant.SyncState.APPLIED], states[Grant.SyncState.IN_PROGRESS]
    return (applied >= GRANTS // 4 and busy > 0) or applied >= GRANTS * 3 // 4


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

        first = start_worker("doomed")
        wait_until(lambda: mid_batch(grant_ids), 60, "the first worker is in the middle of the batch", first)
        first.kill()
        assert 0 < applied_count(grant_ids) < GRANTS, "the worker finished before it could be killed: add grants"
        held_by_the_dead = list(
            Grant.objects.filter(pk__in=grant_ids, sync_state=Grant.SyncState.IN_PROGRESS).values_list("pk", flat=True)
        )

        second = start_worker("successor")

        def converged() -> bool:
            if applied_count(grant_ids) == GRANTS:
                return True
            tasks.sweep_pending_grants()  # what beat does every minute; queues sync_grant for the rest
            time.sleep(LEASE_SECONDS / 2)
            return False

        wait_until(converged, 90, "every grant is applied", second, poll=0)

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
