"""The portal's own periodic task: beat's heartbeat, read by the readiness probe (portal/health)."""

from celery import shared_task

from portal.health import heartbeat


@shared_task(name="portal.beat_heartbeat")
def beat_heartbeat() -> float:
    return heartbeat.record()
