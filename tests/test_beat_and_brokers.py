"""Beat and the brokers as production runs them, in real processes.

Two beats started against one Redis: only the one holding redbeat's lock sends anything; when it dies the
other takes over within the lock's time. A task sent through RabbitMQ (PORTAL_BROKER_URL) is run by a
worker consuming RabbitMQ.
"""

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress

import pytest
from django.conf import settings
from django.core.cache import cache
from kombu import Connection

from portal.celery import app

RABBITMQ_URL = os.environ.get("PORTAL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
HEARTBEAT_SENT = "Sending due task beat-heartbeat (portal.beat_heartbeat)"


class Process:
    """`celery -A portal <args>` in its own process group, its output in a file."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir):
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", *args],
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", **env},
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def processes(tmp_path):
    started: list[Process] = []

    def start(name: str, args: list[str], env: dict) -> Process:
        started.append(Process(name, args, env, tmp_path))
        return started[-1]

    yield start
    for process in started:
        process.kill()


def wait_until(condition, seconds: float, what: str, *watched: Process) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.log.name}:\n{p.output()[-2000:]}" for p in watched)
            raise AssertionError(f"gave up after {seconds}s waiting until {what}\n{logs}")
        time.sleep(0.5)


def test_of_two_beats_only_the_lock_holder_schedules_and_the_other_takes_over_when_it_dies(processes, settings):
    if not settings.REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("this test needs Redis for redbeat's lock (set REDIS_URL)")
        pytest.skip("this test needs Redis for redbeat's lock (set REDIS_URL)")
    # This run's own queue names its schedule and lock (and the suite's end removes its keys from Redis).
    env = {
        "PORTAL_CELERY_QUEUE": f"{settings.CELERY_TASK_DEFAULT_QUEUE}-beats",
        "PORTAL_BEAT_HEARTBEAT_SECONDS": "5",
        "PORTAL_BEAT_LOCK_SECONDS": "15",
    }
    beat = ["beat", "--loglevel=INFO"]
    first = processes("first-beat", beat, env)
    wait_until(lambda: HEARTBEAT_SENT in first.output(), 120, "the first beat sends its heartbeat", first)
    second = processes("second-beat", beat, env)
    wait_until(lambda: "beat: Starting..." in second.output(), 120, "the second beat is up", second)

    sent_before = first.output().count(HEARTBEAT_SENT)
    wait_until(
        lambda: first.output().count(HEARTBEAT_SENT) >= sent_before + 2,
        60,
        "the first beat sends two more heartbeats while the second runs",
        first,
        second,
    )
    assert HEARTBEAT_SENT not in second.output(), "the second beat waits for the lock"
    assert "beat: Acquired lock" not in second.output()

    first.kill()  # dies holding the lock: it is free again when its 15 seconds run out
    wait_until(lambda: HEARTBEAT_SENT in second.output(), 90, "the second beat takes over", second)
    assert "beat: Acquired lock" in second.output()


@pytest.fixture
def rabbitmq():
    try:
        with Connection(RABBITMQ_URL, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        message = f"RabbitMQ is not answering at {RABBITMQ_URL} ({type(exc).__name__}); .ci/run starts it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return RABBITMQ_URL


def test_a_task_sent_through_rabbitmq_is_run_by_a_worker(processes, rabbitmq, settings):
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-amqp"
    worker = processes(
        "rabbitmq-worker",
        ["worker", "--pool=solo", "--without-gossip", "--without-mingle", "-Q", queue, "--loglevel=INFO"],
        {"PORTAL_BROKER_URL": rabbitmq, "PORTAL_CELERY_QUEUE": queue},
    )
    try:
        wait_until(lambda: "ready." in worker.output(), 120, "the worker is ready", worker)
        assert f"transport:   {rabbitmq.replace('guest:guest', 'guest:**')}" in worker.output()
        # The worker's heartbeat key is named after its queue: only this test's worker writes it.
        heartbeat_key = f"beat-heartbeat:{queue}"
        cache.delete(heartbeat_key)

        # A connection of its own: this process's app may be set up for another transport.
        with Connection(rabbitmq) as connection:
            app.send_task("portal.beat_heartbeat", queue=queue, connection=connection)

        wait_until(lambda: cache.get(heartbeat_key) is not None, 60, "the worker ran the task", worker)
        assert "Task portal.beat_heartbeat[" in worker.output()
    finally:
        worker.kill()
        with Connection(rabbitmq) as connection:
            connection.default_channel.queue_delete(queue)
