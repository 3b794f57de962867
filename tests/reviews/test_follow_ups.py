"""Following up a campaign: the governance admin sees on the campaign page who was reminded and who was
escalated, to whom and when; each escalation is in the audit trail once, named in words.

Bob reviews Alice's access (he is her manager) and reports to Dave; Dave is the fallback reviewer of
Carol's (she has no manager), and has no manager himself, so his lines escalate to Erin, the campaign's
owner. Frank is an auditor.
"""

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from audit.models import AuditEvent
from reviews import selectors, services
from reviews.models import Campaign, ReviewItem
from reviews.reminders import ESCALATED_ACTION, ESCALATOR, escalate_reviewers, remind_reviewers


def holds(person, entitlement):
    return Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)


@pytest.fixture
def campaign(cast, sandbox) -> Campaign:
    cast.bob.manager = cast.dave
    cast.bob.save()
    holds(cast.alice, sandbox.developers)
    holds(cast.carol, sandbox.developers)
    draft = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(hours=12)
    )
    return services.launch(campaign_id=draft.pk, actor=cast.erin)


def page_for(person, campaign) -> str:
    client = Client()
    client.force_login(person)
    response = client.get(reverse("reviews:campaign", args=[campaign.pk]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def row_of(page: str, person) -> str:
    """The follow-up table's row for `person`, as text."""
    start = page.index(f'data-testid="follow-up-{person.email}"')
    return page[start : page.index("</li>", start)]


def escalations() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ESCALATED_ACTION).order_by("seq"))


def test_the_page_shows_who_was_reminded_and_who_was_escalated_to_whom(cast, campaign):
    now = timezone.now()
    remind_reviewers(now)
    escalate_reviewers(now)

    page = page_for(cast.erin, campaign)

    assert "Reminders and escalations" in page
    bob = row_of(page, cast.bob)
    assert "1 of 1 undecided" in bob
    assert f"reminded {timezone.localtime(now):%-d %b %Y %H:%M}" in bob
    assert f"escalated to Dave Othermanager {timezone.localtime(now):%-d %b %Y %H:%M}" in bob
    dave = row_of(page, cast.dave)
    assert "escalated to Erin Admin " in dave, "no manager: the campaign owner was told"


def test_before_any_follow_up_the_page_says_so(cast, campaign):
    daves = list(ReviewItem.objects.filter(reviewer=cast.dave).values_list("pk", flat=True))
    services.decide(campaign_id=campaign.pk, item_ids=daves, actor=cast.dave, decision="keep")

    page = page_for(cast.erin, campaign)

    assert "not reminded" in row_of(page, cast.bob) and "not escalated" in row_of(page, cast.bob)
    assert "All 1 decided" in row_of(page, cast.dave)
    assert page.index("follow-up-bob@example.com") < page.index("follow-up-dave@example.com"), "laggards first"


def test_each_escalation_is_audited_once_a_day_with_whom_and_how_many(cast, campaign):
    now = timezone.now()

    escalate_reviewers(now)
    escalate_reviewers(now + timedelta(hours=23))

    bob, dave = sorted(escalations(), key=lambda event: event.after["reviewer"] != cast.bob.pk)
    assert (bob.object_type, bob.object_id) == ("reviews.campaign", str(campaign.pk))
    assert (bob.actor, bob.actor_label) == (None, ESCALATOR)
    assert bob.after == {
        "reviewer": cast.bob.pk,
        "undecided": 1,
        "total": 1,
        "told": [cast.dave.pk],
        "told_as": "their manager",
        "reviewer_told": True,
        "at": now.isoformat(),
    }
    assert (dave.after["told"], dave.after["told_as"]) == ([cast.erin.pk], "the campaign's owner")

    escalate_reviewers(now + timedelta(days=1, minutes=1))
    assert len(escalations()) == 4, "the next day, once more each"


def test_the_latest_escalation_is_shown(cast, campaign):
    now = timezone.now()
    escalate_reviewers(now)
    cast.bob.manager = None  # Bob's manager leaves the chain: the next day the owner hears instead
    cast.bob.save()

    escalate_reviewers(now + timedelta(days=1, minutes=1))

    [follow_up] = [row for row in selectors.follow_ups(campaign) if row.reviewer == cast.bob]
    assert [str(person) for person in follow_up.escalated_to] == ["Erin Admin"]
    assert follow_up.escalated_at == now + timedelta(days=1, minutes=1), "the run's time, as its notifications"


def test_nobody_escalated_nothing_audited(cast, campaign):
    ReviewItem.objects.filter(campaign=campaign).update(decision=ReviewItem.Decision.KEEP)

    assert escalate_reviewers() == 0
    assert escalations() == []


def test_the_audit_log_names_the_escalation_in_words(cast, campaign):
    escalate_reviewers()
    client = Client()
    client.force_login(cast.erin)

    page = html.unescape(client.get(reverse("audit:events"), {"action": ESCALATED_ACTION}).content.decode())

    bob = "Reviewer Bob Manager escalated in Q4 review: 1 of 1 line undecided; told Dave Othermanager (their manager)"
    assert bob in page
    assert "Reviewer Dave Othermanager escalated in Q4 review" in page
    assert "told Erin Admin (the campaign's owner)" in page


def followed_up(cast, sandbox) -> Campaign:
    draft = Campaign.objects.create(
        name="Q1 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(hours=6)
    )
    launched = services.launch(campaign_id=draft.pk, actor=cast.erin)
    remind_reviewers()
    escalate_reviewers()
    return launched


@pytest.mark.parametrize("more", [False, True], ids=["one reviewer", "seven reviewers"])
def test_follow_ups_cost_four_queries_whatever_the_number_of_reviewers_escalated(
    cast, sandbox, django_user_model, django_assert_num_queries, more
):
    holds(cast.alice, sandbox.developers)
    if more:
        for n in range(6):
            lead = django_user_model.objects.create_user(
                email=f"lead{n}@example.com", full_name=f"Lead {n}", manager=cast.dave
            )
            report = django_user_model.objects.create_user(email=f"report{n}@example.com", manager=lead)
            holds(report, sandbox.developers)
    launched = followed_up(cast, sandbox)

    with django_assert_num_queries(4):
        rows = selectors.follow_ups(launched)

    assert len(rows) == (7 if more else 1)
    assert all(row.reminded_at and row.escalated_at and row.escalated_to for row in rows)


def test_reviewers_shown_are_named_from_their_counters_without_a_query_of_people(
    cast, campaign, django_assert_num_queries
):
    """Before anyone is reminded or escalated, the follow-ups are the reviewers ranked (with their names), their
    reminders and their escalations: no query of the people shown, whose names come with their rows."""
    with django_assert_num_queries(3):
        rows = selectors.follow_ups(campaign)

    assert [(str(row.reviewer), row.reviewer.email, row.undecided) for row in rows] == [
        ("Bob Manager", "bob@example.com", 1),
        ("Dave Othermanager", "dave@example.com", 1),
    ]
    assert [row.reviewer for row in rows] == [cast.bob, cast.dave]


def test_an_auditor_reads_the_follow_ups_and_changes_nothing(cast, campaign):
    escalate_reviewers()

    page = page_for(cast.frank, campaign)

    section = page[page.index('data-testid="follow-up"') : page.index("</section>")]
    assert "escalated to Dave Othermanager" in section
    assert "<form" not in section and "<button" not in section
    assert "Sign off" not in page


def test_a_reviewer_does_not_see_the_campaign_page(cast, campaign):
    client = Client()
    client.force_login(cast.bob)

    assert client.get(reverse("reviews:campaign", args=[campaign.pk])).status_code == 403


def test_a_reviewer_reminded_and_escalated_whose_lines_all_moved_on_is_still_listed_last(cast, campaign):
    now = timezone.now()
    remind_reviewers(now)
    escalate_reviewers(now)
    [bobs] = ReviewItem.objects.filter(campaign=campaign, reviewer=cast.bob)
    services.reassign(item_id=bobs.pk, actor=cast.erin, to=cast.dave, reason="Dave knows the team")

    shown, reviewers = selectors.follow_ups_shown(campaign, 1)
    everyone = selectors.follow_ups(campaign)

    assert ([str(row.reviewer) for row in shown], reviewers) == ([str(cast.dave)], 2)
    assert [(row.reviewer, row.undecided, row.total) for row in everyone] == [(cast.dave, 2, 2), (cast.bob, 0, 0)]
    assert everyone[1].reminded_at is not None and everyone[1].escalated_to == (cast.dave,)
