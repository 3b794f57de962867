"""Brokers of a test's own, started and killed by the outage tests, and this process's sends pointed at one.

Never the machine's shared Redis or RabbitMQ node (CI and other test runs use those): each server here has its
own port, data and log folder, and dies with SIGKILL as in a crash.
"""

import os
import shutil
import signal
import socket
import subprocess
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import redis
from celery import Celery
from kombu import Connection

from portal.celery import app as portal_app
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A `redis-server` of this test's: no persistence, so a restart comes back empty, as after a crash."""

    def __init__(self, log_dir):
        self.port, self.log = free_port(), log_dir / "redis.log"
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_until(lambda: self._answers(client), 30, "our redis-server answers", explain=self.tail)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    @staticmethod
    def _answers(client) -> bool:
        try:
            return client.ping()
        except redis.exceptions.ConnectionError:
            return False


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


@contextmanager
def sending_to(broker_url: str, transport: str, **transport_options):
    """This thread's Celery app, sends through the outbox included, publishes to `broker_url` meanwhile."""
    app = Celery(f"portal-{transport}-outage-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=broker_url, broker_transport=transport, broker_transport_options=transport_options)
    app.set_current()
    try:
        yield app
    finally:
        portal_app.set_current()
        app.close()
