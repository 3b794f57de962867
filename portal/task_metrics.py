"""How long each Celery task runs, observed in the worker (`portal_task_runtime_seconds`).

Where the figures go: with PROMETHEUS_MULTIPROC_DIR set (prometheus_client's multiprocess mode), every
process writes its samples to files in that folder; the web server's /metrics adds up the folder, so web
and workers of one machine sharing the folder are scraped at one address. A worker on a machine with no
web server serves the folder itself on PORTAL_WORKER_METRICS_PORT (docs/operations.md).
"""

import os
import time

from celery import signals
from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, multiprocess, start_http_server

TASK_RUNTIME = Histogram(
    "portal_task_runtime_seconds",
    "Time a Celery task took in the worker, by task name and outcome (SUCCESS, FAILURE, RETRY...).",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
# Task id -> start, in the process running it (one entry per task in flight).
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id=None, **kwargs) -> None:
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if started is not None and task is not None:
        TASK_RUNTIME.labels(task.name, state or "UNKNOWN").observe(time.monotonic() - started)


def registry() -> CollectorRegistry:
    """This process's metrics, or every process's of the machine in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY


@signals.worker_ready.connect
def _serve_worker_metrics(**kwargs) -> None:
    """PORTAL_WORKER_METRICS_PORT: the worker's own /metrics (no token: bind it to a private address)."""
    if settings.WORKER_METRICS_PORT:
        start_http_server(settings.WORKER_METRICS_PORT, addr=settings.WORKER_METRICS_ADDRESS, registry=registry())
