"""Reminding reviewers whose items are still undecided as a campaign's due date comes near."""

from datetime import timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.services.recipients import active, create
from notifications.wording import Wording
from reviews.models import Campaign, ReviewItem

REMIND_DAYS_BEFORE = 3


def remind_reviewers(now=None) -> int:
    """One notification (emailed with the rest) per reviewer and campaign due within three days, once a day."""
    now = now or timezone.now()
    due = Campaign.objects.filter(state=Campaign.State.ACTIVE, due_at__lte=now + timedelta(days=REMIND_DAYS_BEFORE))
    told = 0
    for campaign in due:
        waiting = (
            ReviewItem.objects.filter(campaign=campaign, decision=ReviewItem.Decision.UNDECIDED)
            .values("reviewer_id")
            .annotate(count=Count("pk"))
        )
        counts = {row["reviewer_id"]: row["count"] for row in waiting}
        recent = set(
            Notification.objects.filter(
                Q(created_at__gte=now - timedelta(days=1)),
                kind=Notification.Kind.REVIEW_DUE,
                title__contains=campaign.name,
            ).values_list("recipient_id", flat=True)
        )
        texts = {
            pk: Wording(
                f"Review due {campaign.due_at:%d %b}: {campaign.name}",
                f"{counts[pk]} lines of '{campaign.name}' wait for your decision; the campaign is due on "
                f"{campaign.due_at:%d %B %Y}. Undecided lines are then {campaign.get_undecided_display().lower()}.",
            )
            for pk in active(counts)
            if pk not in recent
        }
        told += len(create(Notification.Kind.REVIEW_DUE, reverse("reviews:queue", args=[campaign.pk]), texts, now))
    return told
