"""Periodic work of the reviews app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from reviews import services
from reviews.models import Campaign, ReviewItem


@shared_task(name="reviews.refresh_remediation")
def refresh_remediation() -> int:
    """Record, for the evidence, what the grant ledger read back for every pending revocation."""
    campaign_ids = (
        ReviewItem.objects.filter(remediation=ReviewItem.Remediation.PENDING, campaign__state=Campaign.State.CLOSED)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    return sum(services.refresh_remediation(campaign_id) for campaign_id in campaign_ids)
