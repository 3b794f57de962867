"""What people are told as a campaign moves on: reviewers when it starts, holders when it removes their
access, the owner when it is ready to sign off or could not start.

Each is told once per campaign: a second run (a retried task, two decisions finishing at once) finds
the notice already there. Recipients who left or were disabled are not told (`recipients.active`).
"""

from datetime import datetime

from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from notifications import wording
from notifications.models import Notification
from notifications.services.recipients import active, create
from reviews.models import Campaign, ReviewItem

UNDECIDED = ReviewItem.Decision.UNDECIDED


def _already_told(campaign: Campaign, kind: str) -> set[int]:
    told = Notification.objects.filter(about_campaign=campaign.pk, kind=kind)
    return set(told.values_list("recipient_id", flat=True))


def campaign_started(campaign_id: int, now: datetime | None = None) -> list[int]:
    """One notice per reviewer with their number of lines (a digest, not one per line)."""
    now = now or timezone.now()
    campaign = Campaign.objects.get(pk=campaign_id)
    counts = dict(
        ReviewItem.objects.filter(campaign=campaign)
        .values_list("reviewer_id")
        .annotate(n=Count("pk"))
        .order_by("reviewer_id")
        .values_list("reviewer_id", "n")
    )
    told = _already_told(campaign, Notification.Kind.REVIEW_STARTED)
    texts = {pk: wording.review_started(campaign, counts[pk], now) for pk in active(counts) if pk not in told}
    link = reverse("reviews:queue", args=[campaign.pk])
    return create(Notification.Kind.REVIEW_STARTED, link, texts, now, about_campaign=campaign.pk)


def access_revoked(campaign_id: int, now: datetime | None = None) -> list[int]:
    """After sign-off: each holder whose access the review revoked, once, naming the entitlements."""
    campaign = Campaign.objects.get(pk=campaign_id)
    revoked = (
        ReviewItem.objects.filter(campaign=campaign, decision=ReviewItem.Decision.REVOKE, holder__isnull=False)
        .order_by("holder_id", "entitlement__name")
        .values_list("holder_id", "entitlement__name")
    )
    names: dict[int, list[str]] = {}
    for holder_id, name in revoked:
        names.setdefault(holder_id, []).append(name)
    told = _already_told(campaign, Notification.Kind.REVIEW_REVOKED)
    texts = {pk: wording.review_revoked(campaign, names[pk]) for pk in active(names) if pk not in told}
    return create(Notification.Kind.REVIEW_REVOKED, reverse("access:my_access"), texts, now, about_campaign=campaign.pk)


def tell_owner_if_ready(campaign_id: int, now: datetime | None = None) -> bool:
    """When the last undecided line of an active campaign is decided, its owner hears it can be signed off.

    Called after decisions; two EXISTS queries when there is nothing to say.
    """
    lines = ReviewItem.objects.filter(campaign=OuterRef("pk"))
    campaign = (
        Campaign.objects.filter(pk=campaign_id, state=Campaign.State.ACTIVE)
        .annotate(waiting=Exists(lines.filter(decision=UNDECIDED)), any_line=Exists(lines))
        .first()
    )
    if campaign is None or campaign.waiting or not campaign.any_line:
        return False
    if Notification.objects.filter(about_campaign=campaign.pk, kind=Notification.Kind.CAMPAIGN_READY).exists():
        return False
    text = wording.campaign_ready(campaign, campaign.items.count())
    link = reverse("reviews:campaign", args=[campaign.pk])
    told = create(
        Notification.Kind.CAMPAIGN_READY,
        link,
        {pk: text for pk in active([campaign.owner_id])},
        now,
        about_campaign=campaign.pk,
    )
    return bool(told)


def launch_failed(campaign: Campaign, reason: str, now: datetime | None = None) -> list[int]:
    """The owner learns why their campaign did not start (each failed attempt is told: they may retry)."""
    link = reverse("reviews:campaign", args=[campaign.pk])
    texts = {pk: wording.campaign_launch_failed(campaign, reason) for pk in active([campaign.owner_id])}
    return create(Notification.Kind.CAMPAIGN_LAUNCH_FAILED, link, texts, now, about_campaign=campaign.pk)
