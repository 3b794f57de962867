"""The sync engine under AWS faults: throttling, an unreachable endpoint, a refusal.

Grants are approved the real way and applied by the real in-process worker against moto
over HTTP. Faults are injected at the HTTP edge: a botocore hook on the gateway's own cached
IAM client answers some requests with AWS's Throttling error, the endpoint moves to a closed
port, or moto's IAM authorization refuses the portal's credentials. AWS is read back directly.
"""

import itertools
import socket
import threading
import time

import boto3
import pytest
import requests as http
from botocore.awsrequest import AWSResponse
from django.db import transaction

from access import services
from access.models import Grant
from audit.models import AuditEvent
from iam import tasks
from iam.aws import gateway

GOOD_REASON = "Deploying the billing service for the Q4 release"
THROTTLED = b"""<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>
<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"""
SYNCING = (Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS)


class FakeRaw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting until {what}")
        time.sleep(0.1)


def describe(grant_ids) -> list[tuple]:
    return list(Grant.objects.filter(pk__in=grant_ids).values_list("pk", "sync_state", "sync_attempts", "last_error"))


def states(grant_ids) -> list[str]:
    return list(Grant.objects.filter(pk__in=grant_ids).values_list("sync_state", flat=True))


def wait_until_synced(grant_ids, seconds: float = 180) -> None:
    try:
        wait_until(lambda: not any(state in SYNCING for state in states(grant_ids)), seconds, "every grant is synced")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; grants: {describe(grant_ids)}") from None


def members_of(moto_url: str, group: str) -> list[str]:
    """Ask the simulated AWS directly, not through the code under test."""
    iam = boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1")
    return [user["UserName"] for user in iam.get_group(GroupName=group)["Users"]]


@pytest.fixture
def engineers(cast, aws, moto_server, django_user_model):
    """Engineers reporting to Bob, each with an IAM user in the sandbox account."""

    def hire(count: int) -> list:
        iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
        people = []
        for number in range(1, count + 1):
            person = django_user_model.objects.create_user(
                email=f"engineer{number:02d}@example.com", full_name=f"Engineer {number}", manager=cast.bob
            )
            iam.create_user(UserName=f"engineer{number:02d}")
            people.append(person)
        return people

    return hire


def approve_developers_for(people, sandbox, bob) -> list[int]:
    """Each asks for Developers and Bob approves: the worker is sent one sync per grant.

    One transaction for all, so the syncs start when it commits: on SQLite, a write here while
    the worker writes fails at once with "database is locked" (deferred transactions).
    """
    with transaction.atomic():
        for person in people:
            access_request = services.submit_request(
                requester=person, entitlement=sandbox.developers, justification=GOOD_REASON
            )
            services.approve(request_id=access_request.pk, actor=bob)
    return list(Grant.objects.filter(user__in=people).values_list("pk", flat=True))


def throttle_every_third_call(client) -> tuple[list[str], list[str]]:
    """Answer every third IAM request of each thread with Throttling; return (every attempt, throttled ones).

    Counted per thread: a batch applies several people's grants at once (iam.aws.at_once), and botocore
    retries a call in the thread that made it, so each call's retry is never throttled in turn.
    """
    attempts: list[str] = []
    throttled: list[str] = []
    lock, counters = threading.Lock(), threading.local()

    def respond(request, event_name, **kwargs):
        operation = event_name.rsplit(".", 1)[-1]
        if not hasattr(counters, "numbers"):
            counters.numbers = itertools.count(1)
        number = next(counters.numbers)
        with lock:
            attempts.append(operation)
            if number % 3:
                return None
            throttled.append(operation)
        return AWSResponse(request.url, 400, {}, FakeRaw(THROTTLED))

    client.meta.events.register("before-send.iam.*", respond)
    return attempts, throttled


@pytest.mark.django_db(transaction=True)
def test_throttled_grants_all_converge_with_bounded_retries(
    cast, sandbox, aws, engineers, moto_server, celery_worker, fresh_clients, settings
):
    settings.AWS_MAX_ATTEMPTS = 3
    people = engineers(20)
    attempts, throttled = throttle_every_third_call(gateway.iam_client(aws))

    grant_ids = approve_developers_for(people, sandbox, cast.bob)
    wait_until_synced(grant_ids)

    grants = Grant.objects.filter(pk__in=grant_ids)
    assert {grant.sync_state for grant in grants} == {Grant.SyncState.APPLIED}, [g.last_error for g in grants]
    assert sorted(members_of(moto_server, "Developers")) == sorted(f"engineer{n:02d}" for n in range(1, 21))
    # About one attempt in three of each thread was throttled (a thread's last call gets through).
    assert len(attempts) // 3 >= len(throttled) >= len(grant_ids) // 2, "about a third of the IAM calls were throttled"
    # One AddUserToGroup and one ListGroupsForUser got through per grant: no call was repeated
    # after it succeeded, and no grant went back to the queue (botocore absorbed every throttle).
    assert len(attempts) - len(throttled) == 2 * len(grant_ids)
    assert {grant.sync_attempts for grant in grants} == {1}
    # Throttles never come twice in a row for a call, so each call needs at most 2 of its 3 attempts;
    # with one request in three throttled that is at most 3 requests per grant, not 2 x 3.
    assert len(attempts) <= 3 * len(grant_ids)
    assert AuditEvent.objects.filter(action="grant.applied").count() == len(grant_ids)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_unreachable_aws_keeps_grants_pending_until_it_is_back(
    cast, sandbox, aws, engineers, moto_server, celery_worker, fresh_clients, settings
):
    people = engineers(5)
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"
    settings.AWS_MAX_ATTEMPTS = 2

    grant_ids = approve_developers_for(people, sandbox, cast.bob)

    def all_waiting_with_the_reason() -> bool:
        grants = Grant.objects.filter(pk__in=grant_ids)
        return all(g.sync_state == Grant.SyncState.PENDING and "Could not reach AWS" in g.last_error for g in grants)

    wait_until(all_waiting_with_the_reason, 30, "every grant is pending with 'Could not reach AWS'")
    assert members_of(moto_server, "Developers") == []
    assert not AuditEvent.objects.filter(action__in=["grant.applied", "grant.sync_failed"]).exists()

    settings.AWS_ENDPOINT_URL = moto_server
    tasks.sweep_pending_grants.delay()
    wait_until_synced(grant_ids, 30)

    grants = Grant.objects.filter(pk__in=grant_ids)
    assert {(grant.sync_state, grant.last_error) for grant in grants} == {(Grant.SyncState.APPLIED, "")}
    assert sorted(members_of(moto_server, "Developers")) == [f"engineer{n:02d}" for n in range(1, 6)]
    assert AuditEvent.objects.filter(action="grant.applied").count() == len(grant_ids)


@pytest.fixture
def portal_without_permissions(aws, moto_server, fresh_clients, monkeypatch):
    """The portal signs in as an IAM user with no policy, and moto enforces IAM authorization."""
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    iam.create_user(UserName="portal-sync")
    key = iam.create_access_key(UserName="portal-sync")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    gateway._clients.clear()
    http.post(f"{moto_server}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield gateway.iam_client(aws)
    finally:
        http.post(f"{moto_server}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()


def count_calls(client, operation: str) -> list[int]:
    calls: list[int] = []
    client.meta.events.register(f"before-send.iam.{operation}", lambda **kwargs: calls.append(1))
    return calls


@pytest.mark.django_db(transaction=True)
def test_access_denied_fails_the_grant_once_with_the_aws_message(
    cast, sandbox, moto_server, celery_worker, portal_without_permissions
):
    add_calls = count_calls(portal_without_permissions, "AddUserToGroup")

    [grant_id] = approve_developers_for([cast.alice], sandbox, cast.bob)
    wait_until_synced([grant_id], 30)

    grant = Grant.objects.get(pk=grant_id)
    assert grant.sync_state == Grant.SyncState.FAILED
    assert grant.last_error == (
        "AWS refused (AccessDenied): User: arn:aws:iam::123456789012:user/portal-sync "
        "is not authorized to perform: iam:AddUserToGroup"
    )
    assert tasks.sweep_pending_grants() == 0, "a failed grant is not put back in the queue"
    time.sleep(1)  # room for a retry storm to show itself
    assert len(add_calls) == 1 and grant.sync_attempts == 1
    assert AuditEvent.objects.filter(action="grant.sync_failed").count() == 1

    http.post(f"{moto_server}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()
    services.retry_grant(grant_id=grant_id, actor=cast.erin)
    wait_until_synced([grant_id], 30)

    assert Grant.objects.get(pk=grant_id).sync_state == Grant.SyncState.APPLIED
    assert members_of(moto_server, "Developers") == ["alice"]
    assert len(add_calls) == 2, "one AddUserToGroup per sync"
