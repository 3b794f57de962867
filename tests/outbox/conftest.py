"""A broker that can be switched off, for the outbox's tests; the real one is killed in test_real_outage."""

import shutil
import threading
import time

import pytest
from celery import current_app
from kombu.exceptions import OperationalError

from tests.outbox.own_brokers import RABBITMQ_SERVER, OwnRabbitMQ, OwnRedis

REFUSED = "Error 111 connecting to 127.0.0.1:6379. Connection refused."


class Broker:
    """Stands in for `current_app.send_task`: records what it is given, or refuses while down.

    `passing`: hand what it is given on to the real broker too (for tests with a real worker)."""

    def __init__(self, real_send, passing: bool):
        self.real_send, self.passing = real_send, passing
        self.sent: list[tuple[str, list]] = []
        self.options: list[dict] = []
        self.refused: list[str] = []
        self.is_down = False
        self.delay = 0.0  # seconds each send takes, to widen a race
        self._lock = threading.Lock()

    def send_task(self, name, args=(), **options):
        if self.is_down:
            with self._lock:
                self.refused.append(name)
            raise OperationalError(REFUSED)
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.sent.append((name, list(args)))
            self.options.append(options)
        if self.passing:
            return self.real_send(name, args=args, **options)
        return None

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]


@pytest.fixture
def broker(monkeypatch):
    """Sends are recorded, not made."""
    fake = Broker(current_app.send_task, passing=False)
    monkeypatch.setattr(current_app, "send_task", fake.send_task)
    return fake


@pytest.fixture
def real_broker(monkeypatch):
    """Sends are recorded and made (the session's worker consumes them), unless it is down."""
    fake = Broker(current_app.send_task, passing=True)
    monkeypatch.setattr(current_app, "send_task", fake.send_task)
    return fake


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("this test starts its own redis-server, which is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def own_rabbitmq(tmp_path):
    if RABBITMQ_SERVER is None:
        pytest.skip("this test starts a RabbitMQ node of its own, and rabbitmq-server is not installed")
    node = OwnRabbitMQ(tmp_path)
    node.start()
    yield node
    node.kill()
