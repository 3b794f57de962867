"""How the audit log names campaigns and review lines (see audit.subjects).

A decision is recorded once for the whole selection, on the campaign, with the lines' ids in its
payload (and, since the log names them, each line's holder and entitlement ids); the log reads the
lines back to say whose access was decided. Lines are never deleted, so old events are named too.
Lines are not indexed by holder (a launch copies millions of them), so the person and entitlement
filters do not reach review lines: they find the reviewer's decisions through the actor.
An escalation (`campaign.reviewer_escalated`, by beat) is named by its reviewer, the lines still
waiting and the people told, read back by id: renaming a person never touches a hashed row.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse

from audit.subjects import Subject, register
from catalog.audit_names import entitlement_words
from reviews.models import Campaign, ReviewItem
from reviews.reminders import ESCALATED_ACTION

DECISIONS = ("review.keep", "review.revoke", "review.recommendations_accepted")
NAMED_LINES = 3  # a selection of more lines is named by its first three and its count


def _line_words(item: ReviewItem) -> str:
    holder = item.holder if item.holder_id else item.aws_principal
    return f"{holder} — {entitlement_words(item.entitlement)}"


def _items_of(event) -> list[int]:
    items = (event.after or {}).get("items") if isinstance(event.after, dict) else None
    return [item for item in items if isinstance(item, int)] if isinstance(items, list) else []


def _decided(event, campaign: Campaign, lines: dict[int, ReviewItem]) -> Subject | None:
    url = reverse("reviews:campaign", args=[campaign.pk])
    items = (event.after or {}).get("items") if isinstance(event.after, dict) else None
    if isinstance(items, int):  # large selections are audited by their count
        return Subject(f"{items} review lines in {campaign.name}", url)
    found = [lines[item] for item in _items_of(event) if item in lines]
    if not found:
        return None
    if len(found) == 1:
        return Subject(f"Review line: {_line_words(found[0])} in {campaign.name}", url)
    named = "; ".join(_line_words(item) for item in found[:NAMED_LINES])
    more = "; …" if len(found) > NAMED_LINES else ""
    return Subject(f"{len(found)} review lines in {campaign.name}: {named}{more}", url)


def _people_of(event) -> list[int]:
    """The reviewer and the people told, as an escalation's payload names them (ids only)."""
    after = event.after if isinstance(event.after, dict) else {}
    told = named if isinstance(named := after.get("told"), list) else []
    return [pk for pk in [after.get("reviewer"), *told] if isinstance(pk, int)]


def _escalated(event, campaign: Campaign, people: dict) -> Subject | None:
    after = event.after if isinstance(event.after, dict) else {}
    reviewer = people.get(after.get("reviewer"))
    if reviewer is None:
        return None
    told = [str(people[pk]) for pk in _people_of(event)[1:] if pk in people]
    to = f"told {', '.join(told)} ({after.get('told_as', '')})" if told else "nobody else could be told"
    total = after.get("total")
    waiting = f"{after.get('undecided')} of {total} line{'' if total == 1 else 's'} undecided"
    url = reverse("reviews:campaign", args=[campaign.pk])
    return Subject(f"Reviewer {reviewer} escalated in {campaign.name}: {waiting}; {to}", url)


def _describe_campaigns(ids, events):
    campaigns = {campaign.pk: campaign for campaign in Campaign.objects.filter(pk__in=ids).only("name")}
    wanted = {item for event in events if event.action in DECISIONS for item in _items_of(event)}
    lines = (
        {
            item.pk: item
            for item in ReviewItem.objects.filter(pk__in=wanted).select_related("holder", "entitlement__account")
        }
        if wanted
        else {}
    )
    mentioned = {pk for event in events if event.action == ESCALATED_ACTION for pk in _people_of(event)}
    people = get_user_model().objects.in_bulk(mentioned) if mentioned else {}
    named: dict = {
        str(pk): Subject(campaign.name, reverse("reviews:campaign", args=[pk])) for pk, campaign in campaigns.items()
    }
    for event in events:
        campaign = campaigns.get(int(event.object_id)) if event.object_id.isdigit() else None
        if campaign is None:
            continue
        subject = None
        if event.action in DECISIONS:
            subject = _decided(event, campaign, lines)
        elif event.action == ESCALATED_ACTION:
            subject = _escalated(event, campaign, people)
        if subject is not None:
            named[event.seq] = subject
    return named


def _describe_lines(ids, events):
    lines = ReviewItem.objects.filter(pk__in=ids).select_related("holder", "entitlement__account", "campaign")
    return {
        str(item.pk): Subject(
            f"Review line: {_line_words(item)} in {item.campaign.name}",
            reverse("reviews:campaign", args=[item.campaign_id]),
        )
        for item in lines
    }


def register_names() -> None:
    register("reviews.campaign", describe=_describe_campaigns)
    register("reviews.reviewitem", describe=_describe_lines)
