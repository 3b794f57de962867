"""Reads for the review pages: my campaigns with progress, a reviewer's queue, progress per stage and reviewer,
and how each reviewer was reminded and escalated."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from django.contrib.auth import get_user_model
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
    prefetch_related_objects,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Lower, NullIf

from accounts.models import User
from accounts.roles import reads_everything
from audit.models import AuditEvent
from inputs.rules import id_or_none
from notifications.models import Notification
from reviews.models import (
    Campaign,
    CampaignDecisionDay,
    CampaignReviewerProgress,
    CampaignStageProgress,
    EvidencePack,
    ReviewItem,
)
from reviews.reminders import ESCALATED_ACTION

if TYPE_CHECKING:  # django-stubs-ext is a development requirement, for types only
    from django_stubs_ext import WithAnnotations

UNDECIDED = Q(decision=ReviewItem.Decision.UNDECIDED)


def _count(lines) -> Coalesce:
    """How many of a campaign's `lines` (correlated on OuterRef("pk")) there are, as one subquery."""
    counted = lines.order_by().values("campaign_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_my_counts(campaigns: QuerySet[Campaign], user: User) -> QuerySet[Campaign]:
    """`mine`: the lines `user` decides now plus those they kept and handed on to the second stage;
    `mine_decided`: of those, the decided ones and every line handed on (their part is done).

    The lines `user` has now come from their progress counters (a row or two per campaign, on
    `one_counter_per_reviewer_stage`), not a count of their thousands of lines; the lines handed on are
    counted on the partial index `review_handed_on` (a line handed on to the same person is theirs now,
    so it is not counted twice, which the counters' `handed_on` would)."""
    lines = ReviewItem.objects.filter(campaign=OuterRef("pk"))
    handed_on = _count(lines.filter(first_decided_by=user).exclude(reviewer=user))  # built once, used twice
    return campaigns.annotate(mine=_mine(user, "total") + handed_on, mine_decided=_mine(user, "decided") + handed_on)


def _mine(user: User, field: str) -> Coalesce:
    """`field` of `user`'s own progress counters in a campaign (OuterRef("pk")), both stages, as one subquery."""
    counters = CampaignReviewerProgress.objects.filter(campaign=OuterRef("pk"), reviewer=user)
    summed = counters.order_by().values("campaign_id").annotate(n=Sum(field)).values("n")
    return Coalesce(Subquery(summed, output_field=IntegerField()), Value(0))


def reviews_in(campaign: Campaign, user: User) -> bool:
    """Whether `user` has lines to decide in the campaign, or handed lines on from it."""
    lines = ReviewItem.objects.filter(campaign=campaign)
    return lines.filter(reviewer=user).exists() or lines.filter(first_decided_by=user).exists()


def campaigns_of_reviewer(user: User) -> QuerySet[Campaign]:
    """Active campaigns with lines for `user` to review, or lines they kept and handed on to the second stage."""
    lines = ReviewItem.objects.filter(campaign=OuterRef("pk"))
    active = Campaign.objects.filter(state=Campaign.State.ACTIVE).filter(
        Exists(lines.filter(reviewer=user)) | Exists(lines.filter(first_decided_by=user))
    )
    return with_my_counts(active, user).order_by("due_at")


def campaigns_for_api(user: User) -> QuerySet[Campaign]:
    """The API's list: the caller's campaigns to review; every campaign for governance admins and auditors."""
    if not reads_everything(user):
        return campaigns_of_reviewer(user)
    return with_my_counts(Campaign.objects.all(), user).order_by("-created_at")


def counted(field: str) -> Coalesce:
    """A campaign's (OuterRef("pk")) lines from its stage counters, as one subquery: `total` or `decided`
    sums a row or two, not its 100,000 lines nor its reviewers' 1,000 counters."""
    counters = CampaignStageProgress.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign_id")
    summed = counters.annotate(n=Sum(field)).values("n")
    return Coalesce(Subquery(summed, output_field=IntegerField()), Value(0))


def campaigns_run_by(user: User) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.all() if reads_everything(user) else Campaign.objects.filter(owner=user)
    return campaigns.annotate(total=counted("total"), decided=counted("decided")).order_by("-created_at")


def queue(
    campaign: Campaign,
    reviewer: User | None,
    *,
    only_undecided: bool,
    recommendation: str,
    risk: str,
    account: str,
    person: str,
    group_by: str,
    stage: str = "",
) -> QuerySet[ReviewItem]:
    """The lines `reviewer` decides now, filtered, by holder name (or entitlement); with `reviewer` None,
    every line (a read-only view), in snapshot order unless grouped by entitlement."""
    # The page names each line's holder, and in two stages who kept it first and who decides next; the
    # grant and unmanaged access the API reads for remediation it never shows (two queries a page fewer).
    relations = ["holder", *(["first_decided_by", "second_reviewer"] if campaign.second_stage else [])]
    items = shown_with_what_they_name(ReviewItem.objects.filter(campaign=campaign), relations)
    if reviewer is not None:
        items = items.filter(reviewer=reviewer)
    if only_undecided:
        items = items.filter(UNDECIDED)
    if recommendation in ReviewItem.Decision.values:
        items = items.filter(recommendation=recommendation)
    if risk:
        items = items.filter(entitlement__risk=risk)
    if (account_id := id_or_none(account)) is not None:
        items = items.filter(entitlement__account_id=account_id)
    if stage.isdigit():
        items = items.filter(stage=int(stage))
    if person:
        items = items.filter(
            Q(holder__full_name__icontains=person)
            | Q(holder__email__icontains=person)
            | Q(aws_principal__icontains=person)
        )
    if reviewer is None and group_by != "entitlement":
        # Every line of a campaign (100,000 at a company's size), read-only: in snapshot order, which
        # is holder by holder, on the index (campaign, id). Sorting by name across joins to show 50
        # lines sorted the whole campaign on every view.
        return items.order_by("pk")
    if group_by == "entitlement":
        return items.order_by("entitlement__name", "holder_name", "pk")
    # A reviewer's lines by the holder's name copied onto each line: with the default filter (undecided)
    # a page is a range of `review_queue_by_holder`, not a sort of their thousands of lines across a join.
    return items.order_by("holder_name", "pk")


NAMED = ("holder", "first_decided_by", "second_reviewer")


def shown_with_what_they_name(lines: QuerySet[ReviewItem], relations: Sequence[str] = NAMED) -> QuerySet[ReviewItem]:
    """A page of lines with the people, grant and unmanaged access each names: the page's 50 lines come
    from their index with the entitlement, its account and the reviewer joined, and the rest by primary
    key for those lines alone (a query each). Joining all nine tables in one statement cost PostgreSQL more
    to plan (7-15 ms) than to run, and read more rows the larger the tables."""
    return lines.select_related("entitlement__account", "reviewer").prefetch_related(*relations)


def with_remediation_read(lines: list[ReviewItem]) -> list[ReviewItem]:
    """`lines` with the grant or unmanaged access read (a query each, by primary key) of those whose
    remediation follows what AWS was last read to show (`ReviewItem.live_remediation`): lines revoked at
    sign-off. The others name neither, so a page of an open campaign's lines reads neither table."""
    followed = [line for line in lines if line.remediation not in ReviewItem.SETTLED]
    prefetch_related_objects(followed, "grant", "unmanaged")
    return lines


def progress(campaign: Campaign) -> dict:
    """The campaign's lines: all, decided for good, and waiting in each stage (one query over its stage
    counters, a row a stage: not a sum of its reviewers' counters, 1,000 at a company's size)."""
    sums = CampaignStageProgress.objects.filter(campaign=campaign).values_list("stage", "total", "decided", "unmanaged")
    per_stage = {stage: (total, decided, unmanaged) for stage, total, decided, unmanaged in sums}
    first = per_stage.get(ReviewItem.Stage.FIRST, (0, 0, 0))
    owner = per_stage.get(ReviewItem.Stage.OWNER, (0, 0, 0))
    return {
        "total": first[0] + owner[0],
        "decided": first[1] + owner[1],
        "waiting_first": first[0] - first[1],
        "waiting_second": owner[0] - owner[1],
        "handed_on": owner[0],
        "unmanaged": first[2] + owner[2],
    }


def reviewer_progress(campaign: Campaign, reviewer: User) -> dict:
    """One reviewer's part of a campaign: the lines they decide now, and those they handed on.

    The first two from the reviewer's progress counters (their rows of the campaign: one query, whatever
    their number of lines), the lines handed on counted on `review_handed_on`."""
    mine = CampaignReviewerProgress.objects.filter(campaign=campaign, reviewer=reviewer).aggregate(
        total=Coalesce(Sum("total"), 0), decided=Coalesce(Sum("decided"), 0)
    )
    handed_on = ReviewItem.objects.filter(campaign=campaign, first_decided_by=reviewer).exclude(reviewer=reviewer)
    return {**mine, "handed_on": handed_on.count()}


def progress_by_reviewer(campaign: Campaign, limit: int | None = None) -> list[dict]:
    """Per reviewer and stage: lines and how many are decided, from the progress counters (one query),
    the first `limit` by reviewer name. A line kept in the first stage counts as decided for its first
    reviewer and, once more, for the owner who has it now."""
    return progress_by_reviewer_shown(campaign, limit)[0]


def progress_by_reviewer_shown(campaign: Campaign, limit: int | None) -> tuple[list[dict], int]:
    """`progress_by_reviewer`'s first `limit` rows and how many rows there are in all, in the same query.

    The rows come in the order of `progress_by_reviewer_name` (the reviewer's name is copied onto their
    counters), so the first `limit` are a range of it and no person is joined; the rows in all are counted
    once, in a subquery on the campaign's counters (a window over the rows shown would read and order every
    row of the campaign before the first is shown)."""
    rows = _reviewer_counters(campaign)
    everyone = rows.order_by().values("campaign_id").annotate(n=Count("pk")).values("n")
    ordered = (
        rows.annotate(counted=Subquery(everyone))
        .values("reviewer_name", "stage", "lines", "done", "counted")
        .order_by("reviewer_name", "stage", "reviewer_id")
    )
    shown = list(ordered if limit is None else ordered[:limit])
    return [
        {
            "reviewer__full_name": row["reviewer_name"],
            "stage": row["stage"],
            "total": row["lines"],
            "decided": row["done"],
        }
        for row in shown
    ], (shown[0]["counted"] if shown else 0)


class _Counted(TypedDict):
    """What `_reviewer_counters` adds to each counter row (named for the type checker, which reads `values()`)."""

    lines: int
    done: int


def _reviewer_counters(campaign: Campaign) -> "QuerySet[WithAnnotations[CampaignReviewerProgress, _Counted]]":
    # One counter row per (campaign, reviewer, stage): no grouping; a reviewer with no lines is not listed.
    return (
        CampaignReviewerProgress.objects.filter(campaign=campaign)
        .annotate(lines=F("total") + F("handed_on"), done=F("decided") + F("handed_on"))
        .filter(lines__gt=0)
    )


def decisions_per_day(campaign: Campaign) -> list[dict]:
    """How many lines were decided each day, for the campaign's chart (a first-stage keep handed on counts
    when the owner decides the line): the campaign's day counters, a row a day on their unique index, not a
    grouping of its decided lines (`reviews.progress_counters`)."""
    days = CampaignDecisionDay.objects.filter(campaign=campaign).order_by("day").values_list("day", "kept", "revoked")
    return [{"day": day.isoformat(), "keep": kept, "revoke": revoked} for day, kept, revoked in days]


def waiting_count(user: User) -> int:
    """The lines waiting for `user`'s decision in active campaigns: the Reviews badge on every page, summed
    from their progress counters (a row per campaign and stage, on the counters' reviewer index), not a
    count of their lines."""
    return waiting_counters(user).aggregate(n=Coalesce(Sum(F("total") - F("decided")), 0))["n"]


def waiting_counters(user: User) -> QuerySet[CampaignReviewerProgress]:
    """`user`'s progress counters in active campaigns: what `waiting_count` sums (and the navigation bar,
    in one query with its other badges)."""
    return CampaignReviewerProgress.objects.filter(reviewer=user, campaign__state=Campaign.State.ACTIVE)


@dataclass(frozen=True)
class FollowUp:
    """One reviewer's part of a campaign and how they were chased: the latest reminder, and the latest
    escalation with the people it was told to (none: nobody else could be told)."""

    reviewer: User
    undecided: int
    total: int
    reminded_at: datetime | None
    escalated_at: datetime | None
    escalated_to: tuple = ()


# A reviewer as the follow-ups name them (a person's field, and its name in a row of their counters).
PERSON = {"id": "reviewer_id", "full_name": "person_name", "email": "person_email"}


def follow_ups(campaign: Campaign) -> list[FollowUp]:
    """Every reviewer of the campaign, those with the most lines undecided first (`follow_ups_shown`)."""
    return follow_ups_shown(campaign, None)[0]


def follow_ups_shown(campaign: Campaign, limit: int | None) -> tuple[list[FollowUp], int]:
    """The first `limit` reviewers of the campaign, those with the most lines undecided first, and how
    many reviewers there are in all: three queries whatever the number of reviewers, and a fourth when
    reviewers with no line left, or people told of an escalation, are to be named.

    A reviewer is anyone with lines in the campaign, or reminded or escalated about it. The database picks
    and orders the first `limit` of those with lines (a company's campaign has 1,000; the page shows 100)
    from their progress counters, a few rows each, and counts them all; then reminders and escalations are
    read for the reviewers shown and for those with no line left (all their lines handed on or moved: they
    rank last, with nothing undecided). The people shown come with their rows; those with no line left and
    those escalations were told to, if any, by key.

    Reminders are the notifications `reviews.remind_reviewers` wrote about the campaign; escalations
    are read from the audit trail (`campaign.reviewer_escalated`, on the campaign's index), each at its
    run's time, the clock of the notifications it wrote."""
    with_lines = CampaignReviewerProgress.objects.filter(campaign=campaign, total__gt=0)
    if campaign.second_stage:
        # A reviewer may have a row in each stage: their rows are summed, then ranked by str(reviewer),
        # the name the follow-ups are sorted by after the undecided count (a grouping of the campaign's
        # counter rows, a few hundred).
        name = Lower(Coalesce(NullIf("reviewer__full_name", Value("")), "reviewer__email", output_field=CharField()))
        ranked = with_lines.values(
            "reviewer_id", person_name=F("reviewer__full_name"), person_email=F("reviewer__email")
        ).annotate(left=Sum("undecided"), lines=Sum("total"), name=name, counted=Window(Count("reviewer_id")))
    else:
        # A row a reviewer: the first `limit` are a range of `progress_most_undecided` (by the name copied
        # onto the row, so no person is joined; a reviewer without a name ranks first among those tied on
        # their count), counted once on the campaign's rows, not by a window that would read every row
        # before the first is shown.
        everyone = with_lines.order_by().values("campaign_id").annotate(n=Count("pk")).values("n")
        # The name and address of each reviewer picked, by key (a join would read every reviewer's row to
        # sort them, not a range of the index).
        person = get_user_model().objects.filter(pk=OuterRef("reviewer_id")).order_by()
        ranked = with_lines.values(
            "reviewer_id",
            person_name=Subquery(person.values("full_name")),
            person_email=Subquery(person.values("email")),
        ).annotate(left=F("undecided"), lines=F("total"), name=Lower("reviewer_name"), counted=Subquery(everyone))
    ranked = ranked.order_by("-left", "name", "reviewer_id")
    top = list(ranked if limit is None else ranked[:limit])
    counts = {row["reviewer_id"]: (row["left"], row["lines"]) for row in top}
    # The people shown, as their rows name them (joined by key to the rows picked): what a query of them
    # by key would read, without it.
    user = get_user_model()
    # `from_db` takes the values in the model's order of its fields, as a query reads them.
    read = [(field.attname, PERSON[field.attname]) for field in user._meta.concrete_fields if field.attname in PERSON]
    names = [attname for attname, _ in read]
    people = {row["reviewer_id"]: user.from_db(None, names, [row[key] for _, key in read]) for row in top}

    def shown_or_without_lines(reviewer: str) -> Q:
        """The reviewer (a field of the row) is shown, or has no lines (so is counted and ranked here)."""
        return Q(**{f"{reviewer}__in": counts}) | Q(~Exists(with_lines.filter(reviewer_id=OuterRef(reviewer))))

    reminders = (
        Notification.objects.filter(about_campaign=campaign.pk, kind=Notification.Kind.REVIEW_DUE)
        .filter(shown_or_without_lines("recipient_id"))
        .values("recipient_id")
        .annotate(last=Max("created_at"))
        .order_by()
    )
    reminded = {row["recipient_id"]: row["last"] for row in reminders}
    escalated = {}
    for event in _latest_escalations(campaign).filter(shown_or_without_lines("reviewer_key")):
        after = event.after if isinstance(event.after, dict) else {}
        if isinstance(after.get("reviewer"), int):
            told = named if isinstance(named := after.get("told"), list) else []
            escalated[after["reviewer"]] = (_run_time(event), [pk for pk in told if isinstance(pk, int)])
    # Those read beyond the reviewers shown are the ones with no lines left.
    without_lines = {*reminded, *escalated} - counts.keys()
    told_ids = {pk for reviewer_id in {*counts, *without_lines} for pk in escalated.get(reviewer_id, (None, []))[1]}
    # Those with no line left and those they were told to, by key (no query when there are none).
    unnamed = {*without_lines, *told_ids} - people.keys()
    people.update(user.objects.only(*names).in_bulk(unnamed))
    rows = []
    for reviewer_id in {*counts, *without_lines}:
        if reviewer_id not in people:
            continue
        undecided, total = counts.get(reviewer_id, (0, 0))
        at, to = escalated.get(reviewer_id, (None, []))
        rows.append(
            FollowUp(
                reviewer=people[reviewer_id],
                undecided=undecided,
                total=total,
                reminded_at=reminded.get(reviewer_id),
                escalated_at=at,
                escalated_to=tuple(people[pk] for pk in to if pk in people),
            )
        )
    rows.sort(key=lambda row: (-row.undecided, str(row.reviewer).casefold(), row.reviewer.pk))
    with_lines_in_all = top[0]["counted"] if top else 0
    return (rows if limit is None else rows[:limit]), with_lines_in_all + len(without_lines)


def _run_time(event: AuditEvent) -> datetime:
    """When the escalation's run told people: the clock its notifications carry (the event's own time,
    the moment it was recorded, for an event without it)."""
    if event.after is None:
        return event.created_at
    try:
        return datetime.fromisoformat(event.after["at"])
    except (KeyError, TypeError, ValueError):
        return event.created_at


def _latest_escalations(campaign: Campaign) -> QuerySet[AuditEvent]:
    """Each reviewer's latest escalation event on the campaign, in one query."""
    events = AuditEvent.objects.filter(
        object_type=Campaign._meta.label_lower, object_id=str(campaign.pk), action=ESCALATED_ACTION
    )
    latest = events.values(reviewer=KT("after__reviewer")).annotate(last=Max("seq")).values("last")
    # The reviewer's id as a number, for the follow-ups to pick the reviewers they show.
    reviewer_key = Cast(KT("after__reviewer"), BigIntegerField())
    # What the follow-ups read of an event (its run's time, whom it was told to), not the trail's hashes.
    latest_events = events.filter(seq__in=Subquery(latest)).only("seq", "created_at", "after")
    return latest_events.annotate(reviewer_key=reviewer_key).order_by()


# Packs listed on a campaign's page (older ones stay in the table and the audit trail).
RECENT_PACKS = 5


def recent_evidence_packs(campaign: Campaign) -> list[EvidencePack]:
    """The campaign's latest evidence packs, newest first (index evidence_pack_latest)."""
    # Who asked for each, by name: two columns of the person, not their every column.
    pack_fields = [field.name for field in EvidencePack._meta.concrete_fields]
    packs = EvidencePack.objects.filter(campaign=campaign).select_related("requested_by")
    packs = packs.only(*pack_fields, "requested_by__full_name", "requested_by__email")
    return list(packs.order_by("-requested_at")[:RECENT_PACKS])
