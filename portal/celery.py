"""The Celery application. Tasks live in each app's tasks.py and are found by autodiscovery."""

import os

from celery import Celery, signals
from django.db import close_old_connections, connections

from portal import task_metrics  # noqa: F401 - observes every task's runtime (Celery signals)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _refuse_misconfigured_start(**kwargs) -> None:
    """celery runs no system checks: the settings a production worker must not start with are refused here."""
    from portal.checks import refuse_to_start_misconfigured

    refuse_to_start_misconfigured()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _keep_healthy_connections(**kwargs) -> None:
    """What Django does around each request, around each task: a connection is reused until it is
    CONN_MAX_AGE old or unusable, and checked (CONN_HEALTH_CHECKS) before its first use in a task.
    Celery's own fix-up would close it around every task unless CELERY_DB_REUSE_MAX is set.

    A task applied eagerly inside its caller's transaction (`task.apply()`, as tests do) leaves the
    connection alone: closing it would end the caller's transaction."""
    if any(connection.in_atomic_block for connection in connections.all(initialized_only=True)):
        return
    close_old_connections()


@app.on_after_configure.connect
def _redbeat_settings_under_their_own_names(sender, **kwargs) -> None:
    """celery-redbeat checks for its settings by their bare names (`redbeat_redis_url`), which the CELERY_
    namespace of Django's settings does not give: without this it warns, and takes the broker's transport
    options for its own Redis connection."""
    from django.conf import settings

    sender.conf.update(
        {
            name.removeprefix("CELERY_").lower(): getattr(settings, name)
            for name in dir(settings)
            if name.startswith("CELERY_REDBEAT_")
        }
    )
