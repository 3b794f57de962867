"""Reads for the review pages: my campaigns with progress, a reviewer's queue, per-reviewer progress."""

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from reviews.models import Campaign, ReviewItem

DECIDED = ~Q(items__decision=ReviewItem.Decision.UNDECIDED)


def campaigns_of_reviewer(user) -> QuerySet[Campaign]:
    return (
        Campaign.objects.filter(state=Campaign.State.ACTIVE, items__reviewer=user)
        .annotate(
            mine=Count("items", filter=Q(items__reviewer=user)),
            mine_decided=Count("items", filter=Q(items__reviewer=user) & DECIDED),
        )
        .order_by("due_at")
    )


def campaigns_run_by(user) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.all() if user.is_governance_admin else Campaign.objects.filter(owner=user)
    return campaigns.annotate(total=Count("items"), decided=Count("items", filter=DECIDED)).order_by("-created_at")


def queue(
    campaign: Campaign,
    reviewer,
    *,
    only_undecided: bool,
    recommendation: str,
    risk: str,
    account: str,
    person: str,
    group_by: str,
) -> QuerySet[ReviewItem]:
    items = ReviewItem.objects.filter(campaign=campaign, reviewer=reviewer).select_related(
        "holder", "entitlement__account", "grant"
    )
    if only_undecided:
        items = items.filter(decision=ReviewItem.Decision.UNDECIDED)
    if recommendation in ReviewItem.Decision.values:
        items = items.filter(recommendation=recommendation)
    if risk:
        items = items.filter(entitlement__risk=risk)
    if account.isdigit():
        items = items.filter(entitlement__account_id=int(account))
    if person:
        items = items.filter(Q(holder__full_name__icontains=person) | Q(holder__email__icontains=person))
    order = (
        ["entitlement__name", "holder__full_name"]
        if group_by == "entitlement"
        else ["holder__full_name", "entitlement__name"]
    )
    return items.order_by(*order, "pk")


def progress_by_reviewer(campaign: Campaign):
    return (
        ReviewItem.objects.filter(campaign=campaign)
        .values("reviewer__full_name")
        .annotate(total=Count("pk"), decided=Count("pk", filter=~Q(decision=ReviewItem.Decision.UNDECIDED)))
        .order_by("reviewer__full_name")
    )


def decisions_per_day(campaign: Campaign) -> list[dict]:
    """How many lines were decided each day, for the campaign's chart."""
    rows = (
        ReviewItem.objects.filter(campaign=campaign, decided_at__isnull=False, automatic=False)
        .annotate(day=TruncDate("decided_at"))
        .values("day")
        .annotate(
            keep=Count("pk", filter=Q(decision=ReviewItem.Decision.KEEP)),
            revoke=Count("pk", filter=Q(decision=ReviewItem.Decision.REVOKE)),
        )
        .order_by("day")
    )
    return [{"day": row["day"].isoformat(), "keep": row["keep"], "revoke": row["revoke"]} for row in rows]
