"""Reminding reviewers whose items are still undecided as a campaign's due date comes near, and
escalating them to someone accountable when it is closer still.

Both run on beat every hour or so and tell each person at most once a day per campaign: the
campaign is locked while one run decides who to tell, so two runs at once cannot both tell them.
Each reviewer escalated is audited on the campaign (`campaign.reviewer_escalated`, in the transaction
that writes the notifications), which is what the campaign page shows its owner.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from audit.services import record_many
from notifications import wording
from notifications.models import Notification
from notifications.services.recipients import active, create, governance_admins
from reviews.models import Campaign, ReviewItem

ONCE_A_DAY = timedelta(days=1)
ESCALATED_ACTION = "campaign.reviewer_escalated"
ESCALATOR = "system:review-escalation"
UNDECIDED = Q(decision=ReviewItem.Decision.UNDECIDED)


def remind_reviewers(now: datetime | None = None) -> int:
    """One notification (emailed with the rest) per reviewer, once a day, from the campaign's
    `remind_days_before` days before its due date."""
    now = now or timezone.now()
    told = 0
    for campaign_id in _due_within("remind_days_before", now):
        with transaction.atomic():
            campaign = _locked(campaign_id)
            if campaign is None:
                continue
            counts = {row["reviewer_id"]: row["undecided"] for row in _progress(campaign)}
            recent = _told_lately(campaign, Notification.Kind.REVIEW_DUE, now)
            texts = {pk: wording.review_due(campaign, counts[pk], now) for pk in active(counts) if pk not in recent}
            told += len(
                _tell(Notification.Kind.REVIEW_DUE, reverse("reviews:queue", args=[campaign.pk]), texts, now, campaign)
            )
    return told


@dataclass(frozen=True)
class Escalation:
    """Who is told about one reviewer's undecided lines, and as what."""

    target_ids: tuple[int, ...]
    why: str  # completes "you are told as ...", for them
    told: str  # says who was told, for the reviewer
    link: str


def escalate_reviewers(now: datetime | None = None) -> int:
    """Once a day per campaign, from its `escalate_days_before` days before its due date until
    sign-off, each reviewer with undecided lines is escalated: someone accountable is told, naming them
    and the count, and the reviewer is told who was. Returns how many people were told.

    Told instead of the reviewer: their manager; the campaign owner when they have no active manager,
    or the manager holds some of the lines still undecided (nobody is asked to chase the review of
    their own access); the governance admins when the owner is the reviewer or holds such a line too.
    """
    now = now or timezone.now()
    told = 0
    for campaign_id in _due_within("escalate_days_before", now):
        with transaction.atomic():
            campaign = _locked(campaign_id)
            if campaign is not None:
                told += _escalate(campaign, now)
    return told


def _escalate(campaign: Campaign, now) -> int:
    progress = {row["reviewer_id"]: (row["undecided"], row["total"]) for row in _progress(campaign)}
    if not progress:
        return 0
    reviewers = get_user_model().objects.filter(pk__in=progress).select_related("manager")
    admins = governance_admins(excluding=())
    holders = _undecided_holders(campaign, progress, {campaign.owner_id, *admins})
    by_target: dict[int, list[tuple]] = {}
    links: dict[int, str] = {}
    escalations: dict[int, Escalation] = {}
    for reviewer in reviewers:
        escalation = _escalation_for(reviewer, campaign, admins, holders.get(reviewer.pk, set()))
        undecided, total = progress[reviewer.pk]
        for target_id in escalation.target_ids:
            by_target.setdefault(target_id, []).append((reviewer, undecided, total, escalation.why))
            links.setdefault(target_id, escalation.link)
        escalations[reviewer.pk] = escalation
    recent = _told_lately(campaign, Notification.Kind.REVIEW_ESCALATION, now)
    targets_told: set[int] = set()
    for link in set(links.values()):
        texts = {
            pk: wording.review_escalation(campaign, by_target[pk], now)
            for pk in active(by_target)
            if pk not in recent and links[pk] == link
        }
        targets_told.update(_tell(Notification.Kind.REVIEW_ESCALATION, link, texts, now, campaign))
    recent = _told_lately(campaign, Notification.Kind.REVIEW_ESCALATED, now)
    texts = {
        pk: wording.review_escalated(campaign, *progress[pk], escalations[pk].told, now)
        for pk in active(escalations)
        if pk not in recent
    }
    queue = reverse("reviews:queue", args=[campaign.pk])
    reviewers_told = set(_tell(Notification.Kind.REVIEW_ESCALATED, queue, texts, now, campaign))
    _audit(campaign, escalations, progress, targets_told, reviewers_told, now)
    return len(targets_told) + len(reviewers_told)


def _audit(campaign: Campaign, escalations: dict, progress: dict, targets_told: set, reviewers_told: set, now) -> None:
    """One event per reviewer this run told anyone about: whom, as what, how many lines were waiting, and
    the run's time (`at`: the clock its notifications carry and the once-a-day check counts from). A run
    that told nobody (everyone was told within the day) records nothing."""
    entries = []
    for reviewer_id, escalation in sorted(escalations.items()):
        told = sorted(pk for pk in escalation.target_ids if pk in targets_told)
        if not told and reviewer_id not in reviewers_told:
            continue
        undecided, total = progress[reviewer_id]
        entries.append(
            {
                "actor": None,
                "actor_label": ESCALATOR,
                "action": ESCALATED_ACTION,
                "obj": campaign,
                "after": {
                    "reviewer": reviewer_id,
                    "undecided": undecided,
                    "total": total,
                    "told": told,
                    "told_as": escalation.why,
                    "reviewer_told": reviewer_id in reviewers_told,
                    "at": now.isoformat(),
                },
            }
        )
    record_many(entries)


def _escalation_for(reviewer, campaign: Campaign, admins: list[int], holds: set[int]) -> Escalation:
    """Who hears about `reviewer`'s undecided lines; `holds`: the people among those lines' holders."""
    manager = reviewer.manager
    if (
        manager is not None
        and manager.is_active
        and manager.employment_status == manager.EmploymentStatus.ACTIVE
        and manager.pk not in holds
    ):
        # A manager sees neither the campaign nor the queue: the notification itself says it all.
        told = f"your manager {manager} was told"
        return Escalation((manager.pk,), "their manager", told, reverse("notifications:list"))
    campaign_page = reverse("reviews:campaign", args=[campaign.pk])
    owner = campaign.owner
    if owner.pk != reviewer.pk and owner.is_active and owner.pk not in holds:
        return Escalation((owner.pk,), "the campaign's owner", f"the campaign owner {owner} was told", campaign_page)
    others = tuple(pk for pk in admins if pk != reviewer.pk and pk not in holds)
    told = "the governance admins were told" if others else "nobody else could be told"
    return Escalation(others, "a governance admin", told, campaign_page)


def _due_within(schedule: str, now) -> list[int]:
    """Active campaigns whose due date is within their own `schedule` field's days (0: never)."""
    active = Campaign.objects.filter(state=Campaign.State.ACTIVE).values_list("pk", "due_at", schedule)
    return [pk for pk, due_at, days in active if days and due_at <= now + timedelta(days=days)]


def _locked(campaign_id: int) -> Campaign | None:
    """The campaign, locked for this run, if it is still active (a sign-off may have come first)."""
    return (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("owner")
        .filter(pk=campaign_id, state=Campaign.State.ACTIVE)
        .first()
    )


def _progress(campaign: Campaign):
    """Per reviewer with undecided lines: how many of their lines are undecided, of how many."""
    return (
        ReviewItem.objects.filter(campaign=campaign)
        .values("reviewer_id")
        .annotate(undecided=Count("pk", filter=UNDECIDED), total=Count("pk"))
        .filter(undecided__gt=0)
        .order_by("reviewer_id")
    )


def _undecided_holders(campaign: Campaign, reviewer_ids, candidates: set[int]) -> dict[int, set[int]]:
    """Per reviewer, which of the people who might be told (their managers, the owner, the admins) hold
    one of the lines they have not decided. One query, whatever the number of lines."""
    managers = get_user_model().objects.filter(pk__in=reviewer_ids, manager__isnull=False)
    candidates = candidates | set(managers.values_list("manager_id", flat=True))
    pairs = (
        ReviewItem.objects.filter(UNDECIDED, campaign=campaign, holder_id__in=candidates)
        .values_list("reviewer_id", "holder_id")
        .distinct()
    )
    holders: dict[int, set[int]] = {}
    for reviewer_id, holder_id in pairs:
        holders.setdefault(reviewer_id, set()).add(holder_id)
    return holders


def _told_lately(campaign: Campaign, kind: str, now) -> set[int]:
    """Who had a notification of `kind` about the campaign within the last day."""
    recent = Notification.objects.filter(kind=kind, about_campaign=campaign.pk, created_at__gt=now - ONCE_A_DAY)
    return set(recent.values_list("recipient_id", flat=True))


def _tell(kind: str, link: str, texts: dict, now, campaign: Campaign) -> list[int]:
    return create(kind, link, texts, now, about_campaign=campaign.pk)
