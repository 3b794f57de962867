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
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager, suppress
from pathlib import Path

import boto3
import pytest
from celery import Celery
from django.conf import settings as django_settings
from django.utils import timezone
from kombu import Connection
from rest_framework.test import APIClient

from access.models import AccessRequest
from outbox.models import OutboxMessage
from outbox.relay import relay
from portal.celery import app as portal_app
from tests.iam.workers import WorkerProcess, database_url_of_this_run
from tests.outbox.conftest import wait_until
from tests.outbox.test_real_outage import (  # noqa: F401 (the team fixture)
    LATER,
    TEAM,
    applied,
    approve_on_the_page,
    approve_through_the_api,
    free_port,
    sign_in,
    team,
)

# The server script itself: /usr/sbin/rabbitmq-server (Debian's wrapper) would switch to the rabbitmq user.
RABBITMQ_SERVER = next(
    (
        path
        for path in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server"))
        if path and os.access(path, os.X_OK)
    ),
    None,
)


class OwnRabbitMQ:
    """A RabbitMQ node of this test's. Killed with SIGKILL, as in a crash; started again on the same data."""

    def __init__(self, base: Path):
        self.base, self.port = base, free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.log = base / "rabbitmq.out"
        self.process = None
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (base / "enabled_plugins").write_text("[].\n")  # no management plugin: its port is the machine's node's
        self.env = {
            **os.environ,
            "HOME": str(base),  # the Erlang cookie is written there, not in the user's home
            "RABBITMQ_NODENAME": f"portal-outage-{os.getpid()}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
        }

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [RABBITMQ_SERVER], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self.answers, 180, "our RabbitMQ node answers", poll=0.5, explain=self.tail)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def answers(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"our RabbitMQ node stopped:\n{self.tail()}")
        try:
            with Connection(self.url, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
                connection.default_channel  # noqa: B018 - opening a channel is the check
            return True
        except Exception:  # any failure means "not yet"
            return False

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture
def own_rabbitmq(tmp_path):
    if RABBITMQ_SERVER is None:
        pytest.skip("this test starts a RabbitMQ node of its own, and rabbitmq-server is not installed")
    node = OwnRabbitMQ(tmp_path)
    node.start()
    yield node
    node.kill()


@contextmanager
def sending_to(broker_url: str):
    """This thread's Celery app, sends through the outbox included, publishes to `broker_url` meanwhile."""
    app = Celery("portal-rabbitmq-outage-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=broker_url, broker_transport="amqp", broker_transport_options={"confirm_publish": True})
    app.set_current()
    try:
        yield app
    finally:
        portal_app.set_current()
        app.close()


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
    with sending_to(own_rabbitmq.url):
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
