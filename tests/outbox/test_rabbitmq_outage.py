"""A real RabbitMQ broker killed while Bob approves his team's requests (the cache stays where it is).

As test_real_outage does with Redis, but with the broker on RabbitMQ (PORTAL_BROKER_URL=amqp://). The test starts
a RabbitMQ node of its own (its own node name, ports, data and log folders; never the machine's node on 5672,
which CI and others share), a real `celery worker` process consuming it, and points this process's sends at it.
With the node killed, every approval (on the page and through the API) is answered as recorded, signing in still
works (it needs the cache, not the broker), and the readiness probe fails on the broker with the reason. The node
comes back: the relay sends what waited, the worker reconnects and applies every grant, readiness's broker check
passes again.
"""

import json
import os
import subprocess
import sys

import boto3
import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import AccessRequest
from outbox.models import OutboxMessage
from outbox.relay import relay
from tests.iam.workers import WorkerProcess, database_url_of_this_run
from tests.outbox.own_brokers import sending_to
from tests.outbox.test_real_outage import (  # noqa: F401 (the team fixture)
    LATER,
    TEAM,
    applied,
    approve_on_the_page,
    approve_through_the_api,
    sign_in,
    team,
)
from tests.waiting import wait_until


@pytest.fixture
def on_own_rabbitmq(own_rabbitmq, transactional_db, moto_server, tmp_path):
    """Sends of this process to our node, and a worker process consuming it; the environment both share."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": database_url_of_this_run(),
        "PORTAL_BROKER_URL": own_rabbitmq.url,
        "PORTAL_CELERY_QUEUE": django_settings.CELERY_TASK_DEFAULT_QUEUE,
        "AWS_ENDPOINT_URL": moto_server,
    }
    with sending_to(own_rabbitmq.url, "amqp", confirm_publish=True):
        worker = WorkerProcess("rabbitmq-outage-worker", env, tmp_path)
        try:
            yield worker, env
        finally:
            worker.kill()


def readiness_of_the_broker(env: dict) -> dict:
    """`manage.py health ready` as a container probe runs it, with the portal's settings: its broker check."""
    probe = subprocess.run(
        [sys.executable, "manage.py", "health", "ready"],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return json.loads(probe.stdout)["checks"]["broker"]


@pytest.mark.django_db(transaction=True)
def test_rabbitmq_killed_during_approvals_loses_no_decision_and_no_grant(
    own_rabbitmq,
    on_own_rabbitmq,
    client,
    cast,
    team,  # noqa: F811 (the fixture imported above)
    moto_server,
):
    worker, env = on_own_rabbitmq
    client.force_login(cast.bob)
    api = APIClient()
    api.force_authenticate(cast.bob)
    first, *during = team

    assert approve_on_the_page(client, first.pk).status_code == 302
    wait_until(lambda: applied([first]) == 1, 180, "the first grant is applied with RabbitMQ up", explain=worker.tail)
    assert readiness_of_the_broker(env)["status"] == "ok"

    own_rabbitmq.kill()
    answers = [approve_on_the_page(client, request.pk).status_code for request in during[:3]]
    answers += [approve_through_the_api(api, request.pk).status_code for request in during[3:]]
    signing_in = sign_in(cast.alice)

    assert answers == [302, 302, 302, 200, 200], "every decision answered as recorded"
    decided = AccessRequest.objects.filter(pk__in=[request.pk for request in during])
    assert set(decided.values_list("state", flat=True)) == {"approved"}
    assert OutboxMessage.objects.filter(task_name="iam.sync_grant").count() == len(during)
    assert signing_in.status_code == 302, "signing in needs the cache, not the broker"
    broker = readiness_of_the_broker(env)
    assert broker["status"] != "ok" and "cannot reach the broker" in json.dumps(broker), broker

    own_rabbitmq.start()

    def relayed_and_applied() -> bool:
        relay(now=timezone.now() + LATER)  # what beat does every PORTAL_OUTBOX_RELAY_SECONDS
        return applied(team) == TEAM

    wait_until(relayed_and_applied, 300, "every grant is applied after RabbitMQ came back", poll=1, explain=worker.tail)
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    members = sorted(user["UserName"] for user in iam.get_group(GroupName="Developers")["Users"])
    assert members == sorted(f"engineer{number}" for number in range(1, TEAM + 1))
    assert not OutboxMessage.objects.filter(task_name="iam.sync_grant").exists()
    assert readiness_of_the_broker(env)["status"] == "ok", "readiness sees the broker back"
