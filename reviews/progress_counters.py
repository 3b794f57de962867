"""Keeping `CampaignReviewerProgress`, `CampaignStageProgress` and `CampaignDecisionDay` right: the one place
that adjusts the counters.

Callers hold the campaign's lock (docs/architecture.md, "Locks and retries"), so changes to one
campaign's counters are serialised, and adjust them in the transaction that moves the lines, before
its audit event. Two ways:

- `moving(campaign_id, ids)` around an UPDATE of a known selection (a decision, a reassignment):
  the selection's contribution is grouped before and after, and only the difference is applied,
  whatever the UPDATE did to reviewers, stages and decisions. Two grouped reads of at most
  `MAX_BULK` lines by primary key, before and after, and an upsert of the rows that changed (a new
  row taking its reviewer's name in it), one of the stages that changed and one of the days.
- `recount(campaign_id)` after a change of the whole campaign (launch, sign-off): the counters are
  rebuilt from two grouped reads of its lines and bulk inserts (a row per reviewer and stage, and
  per day with decisions).
"""

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Count, DateField, Q, QuerySet, When
from django.db.models.functions import TruncDate

from reviews.models import CampaignDecisionDay, CampaignReviewerProgress, CampaignStageProgress, ReviewItem

FIELDS = ("total", "decided", "revoked", "unmanaged", "handed_on")
STAGE_FIELDS = ("total", "decided", "unmanaged")  # a campaign's stage totals, summed from FIELDS
DAY_FIELDS = ("kept", "revoked")
_DECIDED = ~Q(decision=ReviewItem.Decision.UNDECIDED)
_KEPT = Q(decision=ReviewItem.Decision.KEEP)
_BY_HAND = Q(decided_at__isnull=False, automatic=False)
_REVOKED = Q(decision=ReviewItem.Decision.REVOKE)
_UNMANAGED = Q(origin=ReviewItem.Origin.UNMANAGED)


def contributions(lines: QuerySet[ReviewItem]) -> tuple[dict[tuple[int, int], list[int]], dict[date, list[int]]]:
    """What `lines` add to the counters, per (reviewer id, stage), and to the decisions per day (kept and
    revoked by hand, per day): two grouped queries."""
    counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(FIELDS))
    days: dict[date, list[int]] = defaultdict(lambda: [0] * len(DAY_FIELDS))
    # The day a line was decided by hand; none for the undecided and the automatic decisions at sign-off.
    day = Case(When(_BY_HAND, then=TruncDate("decided_at")), output_field=DateField())
    rows = (
        lines.order_by()
        .annotate(day=day)
        .values("reviewer_id", "stage", "day")
        .annotate(
            total=Count("pk"),
            decided=Count("pk", filter=_DECIDED),
            revoked=Count("pk", filter=_REVOKED),
            unmanaged=Count("pk", filter=_UNMANAGED),
            kept=Count("pk", filter=_KEPT),
        )
    )
    for row in rows:
        counter = counts[(row["reviewer_id"], row["stage"])]
        for index, field in enumerate(FIELDS[:4]):
            counter[index] += row[field]
        if row["day"] is not None:
            on_the_day = days[row["day"]]
            for index, field in enumerate(DAY_FIELDS):
                on_the_day[index] += row[field]
    handed = lines.filter(first_decided_by__isnull=False).order_by().values("first_decided_by_id")
    for row in handed.annotate(n=Count("pk")):
        counts[(row["first_decided_by_id"], ReviewItem.Stage.FIRST)][4] += row["n"]
    return dict(counts), dict(days)


@contextmanager
def moving(campaign_id: int, ids: list[int]) -> Iterator[None]:
    """Adjust the counters by what the block does to the lines `ids` of the campaign."""
    lines = ReviewItem.objects.filter(campaign_id=campaign_id, pk__in=ids)
    before, days_before = contributions(lines)
    yield
    after, days_after = contributions(lines)
    _add(campaign_id, _difference(before, after, len(FIELDS)))
    _add_days(campaign_id, _difference(days_before, days_after, len(DAY_FIELDS)))


def _difference(before: dict, after: dict, width: int) -> dict:
    """Per key, `after` less `before`, for the keys that changed."""
    delta = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, [0] * width), after.get(key, [0] * width)
        change = [b - a for a, b in zip(old, new, strict=True)]
        if any(change):
            delta[key] = change
    return delta


def _add(campaign_id: int, delta: dict[tuple[int, int], list[int]]) -> None:
    """One upsert adding `delta` to the rows (created at zero when new); rows left with nothing go."""
    if not delta:
        return
    rows = [[campaign_id, reviewer, stage, reviewer, *change] for (reviewer, stage), change in sorted(delta.items())]
    # A new row takes its reviewer's name (`reviewer_name`, the page's order) in the same statement; only
    # the model's table name is formatted in, the reviewer is a parameter.
    users = get_user_model()._meta.db_table
    named = ("reviewer_name", f"coalesce((SELECT full_name FROM {users} WHERE id = %s), '')")  # noqa: S608
    table = CampaignReviewerProgress._meta.db_table
    _upsert_adding(table, ("campaign_id", "reviewer_id", "stage"), FIELDS, rows, copied=named)
    CampaignReviewerProgress.objects.filter(campaign_id=campaign_id, total=0, handed_on=0).delete()
    _add_stages(campaign_id, delta)


def _per_stage(counts: dict[tuple[int, int], list[int]]) -> dict[int, list[int]]:
    """The reviewers' `counts` (FIELDS) summed per stage (STAGE_FIELDS), the stages with any."""
    stages: dict[int, list[int]] = defaultdict(lambda: [0] * len(STAGE_FIELDS))
    for (_, stage), row in counts.items():
        for index, field in enumerate(STAGE_FIELDS):
            stages[stage][index] += row[FIELDS.index(field)]
    return {stage: row for stage, row in stages.items() if any(row)}


def _add_stages(campaign_id: int, delta: dict[tuple[int, int], list[int]]) -> None:
    """The reviewers' `delta` added to the campaign's stage totals, in one upsert (none for a reassignment
    within a stage). A stage left with no line keeps its row, at zero: deleting it would cost a decision
    handing lines on one more statement, and the readers take a missing stage as zero anyway."""
    stages = _per_stage(delta)
    if not stages:
        return
    rows = [[campaign_id, stage, *change] for stage, change in sorted(stages.items())]
    _upsert_adding(CampaignStageProgress._meta.db_table, ("campaign_id", "stage"), STAGE_FIELDS, rows, copied=None)


def _add_days(campaign_id: int, delta: dict[date, list[int]]) -> None:
    """One upsert adding `delta` to the campaign's days; days left with no decision go."""
    if not delta:
        return
    rows = [[campaign_id, day, *change] for day, change in sorted(delta.items())]
    _upsert_adding(CampaignDecisionDay._meta.db_table, ("campaign_id", "day"), DAY_FIELDS, rows, copied=None)
    if any(value < 0 for change in delta.values() for value in change):  # a day may be left with none
        CampaignDecisionDay.objects.filter(campaign_id=campaign_id, kept=0, revoked=0).delete()


def _upsert_adding(
    table: str, keys: tuple[str, ...], fields: tuple[str, ...], rows: list[list], copied: tuple[str, str] | None
) -> None:
    """INSERT the rows (`keys`, the parameter of `copied`, then `fields`), adding `fields` to those of a row
    already there. `copied` is a column and the SQL giving a new row's value (left alone on a row there)."""
    placeholders = ["%s"] * len(keys) + ([copied[1]] if copied else []) + ["%s"] * len(fields)
    values = ", ".join(["(" + ", ".join(placeholders) + ")"] * len(rows))
    columns = keys + ((copied[0],) if copied else ()) + fields
    upsert = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{field} = {table}.{field} + excluded.{field}" for field in fields)
    )
    with connection.cursor() as cursor:
        # Only the model's table and field names are formatted in; every value is a parameter.
        cursor.execute(upsert, [value for row in rows for value in row])


def recount(campaign_id: int) -> None:
    """Rebuild the campaign's counters from its lines (launch, sign-off, the data migration)."""
    counts, days = contributions(ReviewItem.objects.filter(campaign_id=campaign_id))
    CampaignDecisionDay.objects.filter(campaign_id=campaign_id).delete()
    CampaignDecisionDay.objects.bulk_create(
        CampaignDecisionDay(campaign_id=campaign_id, day=day, kept=kept, revoked=revoked)
        for day, (kept, revoked) in sorted(days.items())
    )
    CampaignStageProgress.objects.filter(campaign_id=campaign_id).delete()
    CampaignStageProgress.objects.bulk_create(
        CampaignStageProgress(campaign_id=campaign_id, stage=stage, **dict(zip(STAGE_FIELDS, row, strict=True)))
        for stage, row in sorted(_per_stage(counts).items())
        if row[0]
    )
    CampaignReviewerProgress.objects.filter(campaign_id=campaign_id).delete()
    reviewers = {reviewer_id for reviewer_id, _ in counts}
    names = dict(get_user_model().objects.filter(pk__in=reviewers).values_list("pk", "full_name"))
    CampaignReviewerProgress.objects.bulk_create(
        CampaignReviewerProgress(
            campaign_id=campaign_id,
            reviewer_id=reviewer_id,
            reviewer_name=names.get(reviewer_id, ""),
            stage=stage,
            **dict(zip(FIELDS, row, strict=True)),
        )
        for (reviewer_id, stage), row in sorted(counts.items())
    )
