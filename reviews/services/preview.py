"""What a draft's launch would snapshot, before it is launched: the count per reviewer, the lines nobody
usual can review (they go to the fallback), the unmanaged lines, and the population's count and hash.

The preview runs the launch's own INSERT ... SELECT inside a transaction that it rolls back, so its
numbers are the launch's, not an estimate from a second copy of the rules. It reads the ledger and the
drift register as they are now; the launch reconciles the accounts in scope first, so AWS may have
changed a few lines by then.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q

from inputs.refusals import InvalidInput
from reviews.models import Campaign, ReviewItem
from reviews.services.launch import population_hash, take_snapshot

# The reasons the launch gives a line that went to the fallback reviewer or the campaign owner.
FALLBACK_REASONS = Q(reviewer_reason__startswith="Fallback reviewer") | Q(reviewer_reason__startswith="Campaign owner:")


@dataclass(frozen=True)
class ReviewerLoad:
    name: str
    email: str
    first: int
    second: int  # lines this person would confirm in the second stage, if kept in the first


@dataclass(frozen=True)
class Preview:
    refusal: str = ""  # why it cannot launch; the rest is empty then
    count: int = 0
    unmanaged: int = 0
    to_fallback: int = 0
    sha256: str = ""
    reviewers: list[ReviewerLoad] = field(default_factory=list)


def preview(campaign: Campaign) -> Preview:
    """The launch's snapshot of this draft, counted and rolled back (the draft's row is locked meanwhile)."""
    try:
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().select_related("owner").get(pk=campaign.pk)
            if campaign.state != Campaign.State.DRAFT:
                return Preview(refusal=f"This campaign is already {campaign.get_state_display().lower()}.")
            granted, unmanaged = take_snapshot(campaign)
            result = Preview(
                count=granted + unmanaged,
                unmanaged=unmanaged,
                to_fallback=campaign.items.filter(FALLBACK_REASONS).count(),
                sha256=population_hash(campaign.pk),
                reviewers=_loads(campaign),
            )
            transaction.set_rollback(True)
    except InvalidInput as exc:
        return Preview(refusal=exc.message)
    return result


def _loads(campaign: Campaign) -> list[ReviewerLoad]:
    first = (
        ReviewItem.objects.filter(campaign=campaign)
        .values("reviewer_id", "reviewer__full_name", "reviewer__email")
        .annotate(n=Count("pk"))
        .order_by()
    )
    loads = {row["reviewer_id"]: [row["reviewer__full_name"], row["reviewer__email"], row["n"], 0] for row in first}
    if campaign.second_stage:
        second = (
            ReviewItem.objects.filter(campaign=campaign, second_reviewer__isnull=False)
            .values("second_reviewer_id", "second_reviewer__full_name", "second_reviewer__email")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in second:
            load = loads.setdefault(
                row["second_reviewer_id"], [row["second_reviewer__full_name"], row["second_reviewer__email"], 0, 0]
            )
            load[3] = row["n"]
    return sorted((ReviewerLoad(*load) for load in loads.values()), key=lambda load: (load.name, load.email))
