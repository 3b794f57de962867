"""A real Redis, broker and cache at once, killed while Bob approves his team's requests.

The test starts its own `redis-server` on a free port (never the machine's shared one), a real `celery
worker` process on it, and points this process's sends and cache at it. With Redis gone, every approval
(on the page and through the API) is answered as recorded, and signing in answers 503 with Retry-After.
Redis comes back empty (no persistence): the relay sends what waited and the worker applies every grant.
"""

import os
from datetime import timedelta

import boto3
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access import services
from access.models import AccessRequest, Grant
from outbox.models import OutboxMessage
from outbox.relay import relay
from tests.conftest import PASSWORD, own_address
from tests.iam.workers import WorkerProcess, database_url_of_this_run
from tests.outbox.own_brokers import sending_to
from tests.waiting import wait_until

GOOD_REASON = "Deploying the billing service for the Q4 release"
TEAM = 6
LATER = timedelta(minutes=10)


@pytest.fixture
def on_own_redis(own_redis, settings, transactional_db, moto_server, tmp_path):
    """Sends and the cache of this process on our Redis, and a worker process consuming it."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url[:-2] + "/1"}
    }
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": database_url_of_this_run(),
        "REDIS_URL": own_redis.url,
        "PORTAL_CELERY_QUEUE": django_settings.CELERY_TASK_DEFAULT_QUEUE,
        "AWS_ENDPOINT_URL": moto_server,
    }
    with sending_to(own_redis.url, "redis"):
        worker = WorkerProcess("outage-worker", env, tmp_path)
        try:
            yield worker
        finally:
            worker.kill()


@pytest.fixture
def team(cast, sandbox, aws, moto_server, django_user_model):
    """Bob's team, each with an IAM user in the simulated account and a request for Developers."""
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    requests = []
    for number in range(1, TEAM + 1):
        person = django_user_model.objects.create_user(
            email=f"engineer{number}@example.com", full_name=f"Engineer {number}", manager=cast.bob
        )
        iam.create_user(UserName=f"engineer{number}")
        requests.append(
            services.submit_request(requester=person, entitlement=sandbox.developers, justification=GOOD_REASON)
        )
    return requests


def sign_in(person):
    """Signing in on the page, in a browser of one's own."""
    return Client().post(
        reverse("account_login"), {"login": person.email, "password": PASSWORD}, REMOTE_ADDR=own_address()
    )


def approve_on_the_page(client, request_id):
    return client.post(reverse("access:approve", args=[request_id]), {"comment": "ok"})


def approve_through_the_api(api, request_id):
    return api.post(f"/api/requests/{request_id}/approve/", {"comment": "ok"}, format="json")


def applied(requests) -> int:
    return Grant.objects.filter(request__in=requests, sync_state=Grant.SyncState.APPLIED).count()


@pytest.mark.django_db(transaction=True)
def test_redis_killed_during_approvals_loses_no_decision_and_no_grant(
    own_redis, on_own_redis, client, cast, team, moto_server
):
    worker = on_own_redis
    client.force_login(cast.bob)
    api = APIClient()
    api.force_authenticate(cast.bob)
    first, *during = team

    assert approve_on_the_page(client, first.pk).status_code == 302
    wait_until(lambda: applied([first]) == 1, 180, "the first grant is applied with Redis up", explain=worker.tail)

    own_redis.kill()
    answers = [approve_on_the_page(client, request.pk).status_code for request in during[:3]]
    answers += [approve_through_the_api(api, request.pk).status_code for request in during[3:]]
    signing_in = sign_in(cast.alice)

    assert answers == [302, 302, 302, 200, 200], "every decision answered as recorded"
    decided = AccessRequest.objects.filter(pk__in=[request.pk for request in during])
    assert set(decided.values_list("state", flat=True)) == {"approved"}
    assert OutboxMessage.objects.filter(task_name="iam.sync_grant").count() == len(during)
    assert (signing_in.status_code, signing_in["Retry-After"]) == (503, "30")

    own_redis.start()

    def relayed_and_applied() -> bool:
        relay(now=timezone.now() + LATER)  # what beat does every PORTAL_OUTBOX_RELAY_SECONDS
        return applied(team) == TEAM

    wait_until(relayed_and_applied, 240, "every grant is applied after Redis came back", poll=1, explain=worker.tail)
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    members = sorted(user["UserName"] for user in iam.get_group(GroupName="Developers")["Users"])
    assert members == sorted(f"engineer{number}" for number in range(1, TEAM + 1))
    assert not OutboxMessage.objects.filter(task_name="iam.sync_grant").exists()
    assert sign_in(cast.alice).status_code == 302, "signing in works again"
