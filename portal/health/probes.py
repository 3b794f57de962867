"""The two probes, their checks and their answer.

live: the process answers; nothing else (a database outage must not get every web process restarted).
ready: the database, the cache, the broker, a worker on each queue the portal uses, beat's heartbeat,
the migrations and the outbox's backlog: whether this installation can do its work now. The answer is JSON
naming each check, with the reason of each failure; 200 when all pass, 503 when one fails.
"""

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe
from health_check.checks import Cache, Database  # type: ignore[import-untyped]  # no types, no stubs pinned

from portal.health import checks


def _live() -> dict:
    return {"process": checks.Process()}


def _ready() -> dict:
    replies = checks.WorkerReplies()
    return {
        "database": Database(),
        "cache": Cache(),
        "broker": checks.Broker(),
        **{
            f"worker:{queue.name}": checks.WorkerOnQueue(queue=queue.name, replies=replies)
            for queue in settings.CELERY_TASK_QUEUES
        },
        "beat": checks.BeatHeartbeat(),
        "migrations": checks.Migrations(),
        "outbox": checks.OutboxBacklog(),
    }


PROBES = {"live": _live, "ready": _ready}


@dataclasses.dataclass(frozen=True)
class Report:
    probe: str
    checks: dict

    @property
    def passed(self) -> bool:
        return all(result["status"] == "ok" for result in self.checks.values())

    def as_json(self) -> dict:
        return {"probe": self.probe, "status": "ok" if self.passed else "failing", "checks": self.checks}


async def _run_all(named: dict) -> list:
    return await asyncio.gather(*(check.get_result() for check in named.values()))


def _gather(named: dict) -> list:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: a sync worker's thread with no event loop
        return async_to_sync(_run_all)(named)
    # Called from a thread that runs an event loop (a test driving a browser, an ASGI server's thread), where
    # async_to_sync refuses to run: the checks run from a thread of their own, whose connections close after.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_gather_in_own_thread, named).result()


def _gather_in_own_thread(named: dict) -> list:
    try:
        return async_to_sync(_run_all)(named)
    finally:
        connections.close_all()


def run(probe: str) -> Report:
    """Run every check of the probe at once (each within its own time limit) and word the results."""
    named = PROBES[probe]()
    results = _gather(named)
    words = {}
    for name, result in zip(named, results, strict=True):
        words[name] = {"status": "ok", "seconds": round(result.time_taken, 3)}
        if result.error is not None:
            words[name] = {"status": "failing", "reason": result.error.message, "seconds": round(result.time_taken, 3)}
    return Report(probe, words)


_recent: dict[str, tuple[float, Report]] = {}
_recent_lock = threading.Lock()


def recent(probe: str) -> Report:
    """The probe's report. Readiness is reused for HEALTH_READY_CACHE_SECONDS: the probe answers anyone without
    signing in, and each run broadcasts to every worker, so a flood of probes costs one run per interval.
    Liveness always runs, and never waits behind a readiness run."""
    keep = settings.HEALTH_READY_CACHE_SECONDS if probe == "ready" else 0
    if keep <= 0:
        return run(probe)
    with _recent_lock:
        at, report = _recent.get(probe, (0.0, None))
        if report is None or time.monotonic() - at >= keep:
            report = run(probe)
            _recent[probe] = (time.monotonic(), report)
        return report


def respond(probe: str) -> JsonResponse:
    report = recent(probe)
    response = JsonResponse(report.as_json(), status=200 if report.passed else 503)
    add_never_cache_headers(response)
    return response


def view(probe: str) -> Callable[[HttpRequest], JsonResponse]:
    """The probe as a URL's view: reached only when the middleware passed the request on (a HEAD or GET is
    answered there), so that `reverse()` and the URL list know the paths."""

    @login_not_required
    @require_safe
    def probe_view(request: HttpRequest) -> JsonResponse:
        return respond(probe)

    probe_view.__name__ = f"health_{probe}"
    return probe_view
