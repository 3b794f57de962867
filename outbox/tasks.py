"""The relay as a task: beat's `outbox-relay` entry, and once whenever a worker starts."""

import logging

from celery import shared_task, signals

from outbox.outages import BROKER_ERRORS
from outbox.relay import relay

logger = logging.getLogger(__name__)


# A run still waiting when the next one is due is dropped (`expires` on the beat entry): one is enough.
@shared_task(name="outbox.relay", ignore_result=True)
def relay_outbox() -> int:
    return relay()


@signals.worker_ready.connect
def _relay_when_a_worker_starts(**kwargs: object) -> None:
    """A worker starting after an outage sends what waited, without waiting for beat's next run. Queued
    rather than run here, so the worker starts consuming at once. The relay's own message is sent
    directly, not through the outbox it drains."""
    try:
        relay_outbox.apply_async()
    except BROKER_ERRORS as exc:
        logger.warning("Outbox relay not queued at worker start (beat will run it): %s", exc)
