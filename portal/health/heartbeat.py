"""Beat's heartbeat: a task beat schedules every BEAT_HEARTBEAT_SECONDS writes the time to the cache, and
the readiness probe reads how old it is. It proves the whole path a scheduled job takes: a beat holding the
lock sends, the broker carries, a worker of the default queue runs."""

import time

from django.conf import settings
from django.core.cache import cache

# Long enough to show "stale" for a while rather than "never"; a day without beat is plainly an outage.
KEPT_SECONDS = 24 * 3600


def key() -> str:
    # Named after the installation's queue, as its beat lock is: installations sharing a cache stay apart.
    return f"beat-heartbeat:{settings.CELERY_TASK_DEFAULT_QUEUE}"


def record() -> float:
    now = time.time()
    cache.set(key(), now, timeout=KEPT_SECONDS)
    return now


async def age() -> float | None:
    """Seconds since the last heartbeat, or None if there was none."""
    return _since(await cache.aget(key()))


def age_now() -> float | None:
    """`age`, for callers outside an event loop (the metrics scrape)."""
    return _since(cache.get(key()))


def _since(last: float | None) -> float | None:
    return None if last is None else max(0.0, time.time() - float(last))
