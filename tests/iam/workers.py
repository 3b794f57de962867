"""Real `celery worker` processes for tests: on this run's Redis queue, test database and moto server.

Used by the tests that need workers in other processes (killed mid-batch, many workers at once).
"""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager, suppress
from urllib.parse import quote

import pytest
import redis
from django.conf import settings

from portal.celery import app


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
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = f"{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}@"
    return f"postgresql://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """`celery worker` in its own process group, so SIGKILL takes it and anything it started.

    `concurrency` None: the solo pool (one task at a time); a number: that many prefork children.
    `module`: run `python -m module <worker options>` instead of `celery -A portal worker`.
    """

    def __init__(
        self,
        name: str,
        env: dict,
        log_dir,
        concurrency: int | None = None,
        *,
        module: str | None = None,
        prefetch_multiplier: int | None = None,
        queues: list[str] | None = None,
    ):
        self.log = log_dir / f"{name}.log"
        # -Q as well: portal.settings_test names the default queue after the process id and
        # does not read PORTAL_CELERY_QUEUE, so without it the worker would listen elsewhere.
        queue = ",".join(queues) if queues else env["PORTAL_CELERY_QUEUE"]
        pool = ["--pool=solo"] if concurrency is None else ["--pool=prefork", f"--concurrency={concurrency}"]
        program = [module] if module else ["celery", "-A", "portal", "worker"]
        command = [sys.executable, "-m", *program, *pool, "-n", f"{name}@%h"]
        if prefetch_multiplier is not None:
            command.append(f"--prefetch-multiplier={prefetch_multiplier}")
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
    """start(name, env={...}, concurrency=None, queues=None): a worker process (on the default queue unless
    `queues` are named); all are killed at the end."""
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": database_url_of_this_run(),
        "REDIS_URL": redis_broker,
        "PORTAL_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    started: list[WorkerProcess] = []

    def start(
        name: str, env: dict | None = None, concurrency: int | None = None, queues: list[str] | None = None
    ) -> WorkerProcess:
        started.append(WorkerProcess(name, {**base_env, **(env or {})}, tmp_path, concurrency, queues=queues))
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
