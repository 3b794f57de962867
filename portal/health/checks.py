"""The portal's own health checks, beside django-health-check's Database and Cache.

Each raises ServiceUnavailable with a reason an operator can act on. Reasons are read by anyone who can
reach the probe, so they name queues and ages, never hosts, URLs or credentials.
"""

import dataclasses
import datetime
import threading

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from health_check.base import HealthCheck  # type: ignore[import-untyped]  # no types, no stubs pinned
from health_check.exceptions import ServiceUnavailable  # type: ignore[import-untyped]  # the same

from portal.health import heartbeat

# How long the readiness probe waits for workers to answer its broadcast.
WORKER_ANSWER_SECONDS = 1.5


def _reason(exc: Exception) -> str:
    """An error in words without the address it was about: the class, and the OS's words if there are any."""
    cause = exc.__cause__ or exc.__context__
    words = getattr(exc, "strerror", None) or getattr(cause, "strerror", None)
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


@dataclasses.dataclass
class Process(HealthCheck):
    """Liveness: this process is running and answering requests. Asks nothing else, so a database or broker
    outage never gets every web process restarted."""

    async def run(self) -> None:
        return None


@dataclasses.dataclass
class Broker(HealthCheck):
    """A connection to the broker (Redis, RabbitMQ or the embedded filesystem transport) opens."""

    connect_seconds: float = dataclasses.field(default=3.0, repr=False)

    def run(self) -> None:
        from portal.celery import app

        try:
            with app.connection_for_write(connect_timeout=self.connect_seconds) as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=self.connect_seconds)
                connection.default_channel  # noqa: B018 - opening the channel is the check
        except Exception as exc:
            raise ServiceUnavailable(f"cannot reach the broker ({_reason(exc)})") from exc


class WorkerReplies:
    """One broadcast per probe, shared by the per-queue checks: which queues the workers that answered consume."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # The queues the workers consume, or why they could not be asked; None until asked.
        self._answer: set[str] | ServiceUnavailable | None = None

    def consumed_queues(self) -> set[str]:
        with self._lock:
            if self._answer is None:
                self._answer = self._ask()
        if isinstance(self._answer, ServiceUnavailable):
            raise self._answer
        return self._answer

    def _ask(self) -> set[str] | ServiceUnavailable:
        from portal.celery import app

        try:
            replies = app.control.inspect(timeout=WORKER_ANSWER_SECONDS).active_queues() or {}
        except Exception as exc:
            return ServiceUnavailable(f"cannot ask the workers ({_reason(exc)})")
        return {queue["name"] for queues in replies.values() for queue in queues or []}


@dataclasses.dataclass
class WorkerOnQueue(HealthCheck):
    """At least one worker answers the broadcast and consumes this queue."""

    queue: str
    replies: WorkerReplies = dataclasses.field(repr=False, default_factory=WorkerReplies)

    def run(self) -> None:
        if self.queue not in self.replies.consumed_queues():
            raise ServiceUnavailable(f"no worker answered on queue {self.queue} within {WORKER_ANSWER_SECONDS:g} s")


@dataclasses.dataclass
class BeatHeartbeat(HealthCheck):
    """Beat's last heartbeat is recent: at most two periods old (one late run is tolerated)."""

    async def run(self) -> None:
        period = settings.BEAT_HEARTBEAT_SECONDS
        age = await heartbeat.age()
        if age is None:
            raise ServiceUnavailable(f"no heartbeat from beat yet (it sends one every {period} s)")
        if age > 2 * period:
            raise ServiceUnavailable(f"beat's last heartbeat is {age:.0f} s old (it sends one every {period} s)")


@dataclasses.dataclass
class OutboxBacklog(HealthCheck):
    """No task has waited in the outbox longer than OUTBOX_MAX_AGE_SECONDS: tasks reach the workers. A row
    older than that means the broker refuses them or nothing relays them (beat or the workers are down),
    so background work (syncs to AWS, mail) is held back although each check above may pass."""

    def run(self) -> None:
        from outbox import backlog  # models: this module is loaded with the logging configuration, before apps

        limit = settings.OUTBOX_MAX_AGE_SECONDS
        try:
            # Opened and closed here, as for the migrations: probes run in short-lived threads.
            with connections["default"].temporary_connection():
                age = backlog.oldest_age_seconds(timezone.now())
                waiting = backlog.waiting_count(10_000) if age > limit else 0
        except DatabaseError as exc:
            raise ServiceUnavailable(f"cannot read the outbox ({_reason(exc)})") from exc
        if age > limit:
            many = "10000+" if waiting >= 10_000 else str(waiting)
            raise ServiceUnavailable(
                f"the oldest of {many} tasks in the outbox has waited {age:.0f} s for the broker "
                f"(at most {limit} s allowed)"
            )


# Once every migration is applied it stays so for this process's code: the check then costs nothing.
_migrations_applied = threading.Event()


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration of this code is applied to the database (a new release waits for `migrate`)."""

    timeout: datetime.timedelta = dataclasses.field(default=datetime.timedelta(seconds=10), repr=False)

    def run(self) -> None:
        if _migrations_applied.is_set():
            return
        connection = connections["default"]
        try:
            # Opened and closed here: probes run in short-lived threads, which must leave no connection behind.
            with connection.temporary_connection():
                executor = MigrationExecutor(connection)
                plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise ServiceUnavailable(f"cannot read the applied migrations ({_reason(exc)})") from exc
        if plan:
            first = plan[0][0]
            raise ServiceUnavailable(f"{len(plan)} migrations not applied, the first {first.app_label}.{first.name}")
        _migrations_applied.set()
