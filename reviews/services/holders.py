"""Keeping the holder's name on review lines in step with the person's (`ReviewItem.holder_name`), and the
reviewer's on progress counters (`CampaignReviewerProgress.reviewer_name`).

The name is copied at launch so a reviewer's queue sorts on its own index; when a person's name
changes (`accounts.signals.name_changed`) their lines in running campaigns take the new one. Closed
campaigns keep the name as it stood: their queue is read-only and their evidence is a record of then.

It runs once the change has committed, in transactions of its own: the lock order puts a campaign and
its lines before any person (docs/architecture.md, "Locks and retries"), and the change locked the
person first. Each running campaign is locked, then the holder's lines in it are updated; a decision
on those lines waits for it, or it for the decision. A rename changes nobody's access and is audited
where it happened (`person.moved`, the admin's change): no event here.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from reviews.models import Campaign, CampaignReviewerProgress, ReviewItem


def rename_holder(*, person_id: int) -> int:
    """Copy the person's present name onto their lines in active campaigns; returns the lines changed."""
    name = get_user_model().objects.filter(pk=person_id).values_list("full_name", flat=True).first()
    if name is None:
        return 0
    changed = 0
    running = Campaign.objects.filter(state=Campaign.State.ACTIVE).order_by("pk").values_list("pk", flat=True)
    for campaign_id in running:
        with transaction.atomic():
            Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).first()
            # On the unique index (campaign, holder, entitlement): the holder's few lines, never a scan.
            changed += (
                ReviewItem.objects.filter(campaign_id=campaign_id, holder_id=person_id)
                .exclude(holder_name=name)
                .update(holder_name=name)
            )
    return changed


def rename_reviewer(*, person_id: int) -> int:
    """Copy the person's present name onto their progress counters, in every campaign (the campaign page
    always named reviewers as they are now); returns the rows changed.

    Their few rows (a row or two a campaign, on the counters' reviewer index), on their own: no campaign
    is locked, for a decision's upsert leaves the name alone. The rows are locked first in the order a
    decision's upsert takes them (by campaign, then stage), so the two wait for each other, never deadlock."""
    name = get_user_model().objects.filter(pk=person_id).values_list("full_name", flat=True).first()
    if name is None:
        return 0
    with transaction.atomic():
        rows = CampaignReviewerProgress.objects.filter(reviewer_id=person_id).exclude(reviewer_name=name)
        locked = list(rows.select_for_update().order_by("campaign_id", "stage").values_list("pk", flat=True))
        return CampaignReviewerProgress.objects.filter(pk__in=locked).update(reviewer_name=name)
