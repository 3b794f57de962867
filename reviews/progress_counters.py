"""Keeping `CampaignReviewerProgress` right: the one place that adjusts the counters.

Callers hold the campaign's lock (docs/architecture.md, "Locks and retries"), so changes to one
campaign's counters are serialised, and adjust them in the transaction that moves the lines, before
its audit event. Two ways:

- `moving(campaign_id, ids)` around an UPDATE of a known selection (a decision, a reassignment):
  the selection's contribution is grouped before and after, and only the difference is applied,
  whatever the UPDATE did to reviewers, stages and decisions. Two grouped reads of at most
  `MAX_BULK` lines by primary key, and one upsert of the rows that changed.
- `recount(campaign_id)` after a change of the whole campaign (launch, sign-off): the counters are
  rebuilt from two grouped reads of its lines and one bulk insert (a row per reviewer and stage).
"""

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.models import Count, Q, QuerySet

from reviews.models import CampaignReviewerProgress, ReviewItem

FIELDS = ("total", "decided", "revoked", "unmanaged", "handed_on")
_DECIDED = ~Q(decision=ReviewItem.Decision.UNDECIDED)
_REVOKED = Q(decision=ReviewItem.Decision.REVOKE)
_UNMANAGED = Q(origin=ReviewItem.Origin.UNMANAGED)


def contributions(lines: QuerySet[ReviewItem]) -> dict[tuple[int, int], list[int]]:
    """What `lines` add to the counters, per (reviewer id, stage): two grouped queries."""
    counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(FIELDS))
    rows = (
        lines.order_by()
        .values("reviewer_id", "stage")
        .annotate(
            total=Count("pk"),
            decided=Count("pk", filter=_DECIDED),
            revoked=Count("pk", filter=_REVOKED),
            unmanaged=Count("pk", filter=_UNMANAGED),
        )
    )
    for row in rows:
        counts[(row["reviewer_id"], row["stage"])][:4] = [row[field] for field in FIELDS[:4]]
    handed = lines.filter(first_decided_by__isnull=False).order_by().values("first_decided_by_id")
    for row in handed.annotate(n=Count("pk")):
        counts[(row["first_decided_by_id"], ReviewItem.Stage.FIRST)][4] += row["n"]
    return dict(counts)


@contextmanager
def moving(campaign_id: int, ids: list[int]) -> Iterator[None]:
    """Adjust the counters by what the block does to the lines `ids` of the campaign."""
    lines = ReviewItem.objects.filter(campaign_id=campaign_id, pk__in=ids)
    before = contributions(lines)
    yield
    after = contributions(lines)
    delta = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, [0] * len(FIELDS)), after.get(key, [0] * len(FIELDS))
        change = [b - a for a, b in zip(old, new, strict=True)]
        if any(change):
            delta[key] = change
    _add(campaign_id, delta)


def _add(campaign_id: int, delta: dict[tuple[int, int], list[int]]) -> None:
    """One upsert adding `delta` to the rows (created at zero when new); rows left with nothing go."""
    if not delta:
        return
    table = CampaignReviewerProgress._meta.db_table
    values, params = [], []
    for (reviewer_id, stage), change in sorted(delta.items()):
        values.append("(%s, %s, %s, " + ", ".join(["%s"] * len(FIELDS)) + ")")
        params += [campaign_id, reviewer_id, stage, *change]
    columns = ", ".join(FIELDS)
    upsert = (
        f"INSERT INTO {table} (campaign_id, reviewer_id, stage, {columns}) VALUES {', '.join(values)}"  # noqa: S608
        f" ON CONFLICT (campaign_id, reviewer_id, stage) DO UPDATE SET "
    )
    updates = ", ".join(f"{field} = {table}.{field} + excluded.{field}" for field in FIELDS)
    with connection.cursor() as cursor:
        # Only the model's table and field names are formatted in; every value is a parameter.
        cursor.execute(upsert + updates, params)
    CampaignReviewerProgress.objects.filter(campaign_id=campaign_id, total=0, handed_on=0).delete()


def recount(campaign_id: int) -> None:
    """Rebuild the campaign's counters from its lines (launch, sign-off, the data migration)."""
    CampaignReviewerProgress.objects.filter(campaign_id=campaign_id).delete()
    counts = contributions(ReviewItem.objects.filter(campaign_id=campaign_id))
    CampaignReviewerProgress.objects.bulk_create(
        CampaignReviewerProgress(
            campaign_id=campaign_id, reviewer_id=reviewer_id, stage=stage, **dict(zip(FIELDS, row, strict=True))
        )
        for (reviewer_id, stage), row in sorted(counts.items())
    )
