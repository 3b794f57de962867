"""Escalation before a campaign's due date: who is told about a reviewer's undecided lines, and how often.

Bob reviews Alice's access (he is her manager); Dave is the fallback reviewer; Erin owns the campaigns.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from notifications import services as notifications
from notifications.models import Notification
from reviews import services
from reviews.models import Campaign, ReviewItem
from reviews.reminders import escalate_reviewers, remind_reviewers

ESCALATION, ESCALATED = Notification.Kind.REVIEW_ESCALATION, Notification.Kind.REVIEW_ESCALATED


def holds(person, entitlement):
    return Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://access.example.com"


@pytest.fixture
def launch(cast, sandbox):
    def make(due_in=timedelta(hours=12), name="Q4 review", **fields) -> Campaign:
        values = {"name": name, "owner": cast.erin, "fallback_reviewer": cast.dave, "due_at": timezone.now() + due_in}
        campaign = Campaign.objects.create(**(values | fields))
        return services.launch(campaign_id=campaign.pk, actor=cast.erin)

    return make


@pytest.fixture
def bob_reports_to_dave(cast):
    cast.bob.manager = cast.dave
    cast.bob.save()


def told(person, kind) -> list[Notification]:
    return list(Notification.objects.filter(recipient=person, kind=kind).order_by("created_at", "pk"))


def test_the_reviewers_manager_is_told_and_the_reviewer_hears_who(cast, sandbox, launch, bob_reports_to_dave):
    holds(cast.alice, sandbox.developers)
    campaign = launch()

    assert escalate_reviewers() == 2

    [escalation] = told(cast.dave, ESCALATION)
    assert escalation.title == "Escalation: Bob Manager has 1 line undecided in 'Q4 review'"
    assert "- Bob Manager (bob@example.com): 1 of 1 undecided; you are told as their manager" in escalation.body
    assert (escalation.about_campaign, escalation.link) == (campaign.pk, reverse("notifications:list"))
    [notice] = told(cast.bob, ESCALATED)
    assert "1 of your 1 lines still wait for your decision, so your manager Dave Othermanager was told" in notice.body
    assert notice.link == reverse("reviews:queue", args=[campaign.pk])
    assert not told(cast.erin, ESCALATION), "the owner is not bothered while the manager can act"


def test_a_reviewer_without_a_manager_escalates_to_the_campaign_owner(cast, sandbox, launch):
    """Carol has no manager, so Dave (the fallback) reviews her access; Dave has no manager either."""
    holds(cast.carol, sandbox.developers)
    campaign = launch()

    escalate_reviewers()

    [escalation] = told(cast.erin, ESCALATION)
    assert "Dave Othermanager (dave@example.com): 1 of 1 undecided; you are told as the campaign's owner" in (
        escalation.body
    )
    assert escalation.link == reverse("reviews:campaign", args=[campaign.pk])
    assert "so the campaign owner Erin Admin was told" in told(cast.dave, ESCALATED)[0].body


def test_a_manager_holding_one_of_the_undecided_lines_is_passed_over_for_the_owner(cast, sandbox, launch):
    """Alice is the named reviewer of her own manager's access: Bob is not asked to chase it."""
    holds(cast.bob, sandbox.developers)
    draft = Campaign.objects.create(
        name="Named",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        reviewer_type=Campaign.ReviewerType.NAMED,
        due_at=timezone.now() + timedelta(hours=6),
    )
    draft.named_reviewers.set([cast.alice])
    services.launch(campaign_id=draft.pk, actor=cast.erin)

    escalate_reviewers()

    assert not told(cast.bob, ESCALATION)
    assert "Alice Engineer (alice@example.com): 1 of 1 undecided" in told(cast.erin, ESCALATION)[0].body


def test_an_owner_holding_one_of_the_undecided_lines_is_passed_over_for_the_other_admins(
    cast, sandbox, launch, django_user_model
):
    """Dave reviews Erin's own access as the fallback; Erin owns the campaign, so Grace (an admin) hears."""
    grace = django_user_model.objects.create_user(
        email="grace@example.com", full_name="Grace Admin", is_staff=True, is_superuser=True
    )
    holds(cast.erin, sandbox.breakglass)
    launch()

    escalate_reviewers()

    assert not told(cast.erin, ESCALATION)
    assert "you are told as a governance admin" in told(grace, ESCALATION)[0].body
    assert "so the governance admins were told" in told(cast.dave, ESCALATED)[0].body


def test_one_notice_for_a_manager_of_several_lagging_reviewers(cast, sandbox, launch, django_user_model):
    """Dave manages Bob and Gina, each reviewing one report's access."""
    cast.bob.manager = cast.dave
    cast.bob.save()
    gina = django_user_model.objects.create_user(email="gina@example.com", full_name="Gina Lead", manager=cast.dave)
    henry = django_user_model.objects.create_user(email="henry@example.com", full_name="Henry Hire", manager=gina)
    holds(cast.alice, sandbox.developers)
    holds(henry, sandbox.developers)
    launch()

    escalate_reviewers()

    [escalation] = told(cast.dave, ESCALATION)
    assert escalation.title == "Escalation: 2 reviewers have 2 lines undecided in 'Q4 review'"
    assert "Bob Manager (bob@example.com): 1 of 1" in escalation.body
    assert "Gina Lead (gina@example.com): 1 of 1" in escalation.body


def test_everyone_is_told_once_a_day(cast, sandbox, launch, bob_reports_to_dave):
    holds(cast.alice, sandbox.developers)
    launch(due_in=timedelta(hours=20))
    now = timezone.now()

    assert escalate_reviewers(now) == 2
    assert escalate_reviewers(now + timedelta(hours=23)) == 0, "not twice a day"
    assert escalate_reviewers(now + timedelta(days=1, minutes=1)) == 2, "the next day, again (even when overdue)"
    assert len(told(cast.dave, ESCALATION)) == 2 and len(told(cast.bob, ESCALATED)) == 2


def test_nobody_is_escalated_when_every_line_is_decided(cast, sandbox, launch, bob_reports_to_dave):
    holds(cast.alice, sandbox.developers)
    campaign = launch()
    alice = ReviewItem.objects.get(campaign=campaign)
    services.decide(campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep")

    assert escalate_reviewers() == 0
    assert not Notification.objects.filter(kind__in=[ESCALATION, ESCALATED]).exists()


def test_nobody_is_escalated_after_sign_off_or_before_the_window(cast, sandbox, launch, bob_reports_to_dave):
    holds(cast.alice, sandbox.developers)
    closed = launch()
    services.sign_off(campaign_id=closed.pk, actor=cast.erin)
    later = launch(due_in=timedelta(days=3), name="Q1 review")

    assert escalate_reviewers() == 0, "one is closed, the other due in three days"
    Campaign.objects.filter(pk=later.pk).update(escalate_days_before=4)  # its schedule says four days
    assert escalate_reviewers() == 2
    assert told(cast.dave, ESCALATION)[0].about_campaign == later.pk


def test_a_leavers_undecided_lines_still_reach_their_manager(cast, sandbox, launch, bob_reports_to_dave):
    holds(cast.alice, sandbox.developers)
    launch()
    cast.bob.is_active = False
    cast.bob.save()

    assert escalate_reviewers() == 1
    assert told(cast.dave, ESCALATION) and not told(cast.bob, ESCALATED)


def test_escalation_emails_say_who_how_many_and_where_to_go(cast, sandbox, launch, bob_reports_to_dave):
    holds(cast.alice, sandbox.developers)
    campaign = launch()
    escalate_reviewers()

    notifications.send_pending_emails()

    to_dave = next(message for message in mail.outbox if "dave@example.com" in message.to[0])
    to_bob = next(message for message in mail.outbox if "bob@example.com" in message.to[0])
    assert to_dave.subject == "Escalation: Bob Manager has 1 line undecided in 'Q4 review'"
    assert "Hello Dave," in to_dave.body
    assert "- Bob Manager (bob@example.com): 1 of 1 undecided; you are told as their manager" in to_dave.body
    assert "'Q4 review' is due on " in to_dave.body and "Undecided lines are kept at sign-off." in to_dave.body
    assert "What to do: ask them to decide their lines before the due date." in to_dave.body
    [(html, _)] = to_dave.alternatives
    assert "Bob Manager (bob@example.com): 1 of 1 undecided" in html and "What to do:" in html
    assert 'href="https://access.example.com/notifications/"' in html
    queue = f"https://access.example.com{reverse('reviews:queue', args=[campaign.pk])}"
    assert f"Open your review queue: {queue}" in to_bob.body
    assert "so your manager Dave Othermanager was told" in to_bob.body
    [(html, _)] = to_bob.alternatives
    assert f'href="{queue}"' in html and "Open your review queue" in html


def test_reminders_know_their_campaign_by_id_not_by_a_name_in_the_title(cast, sandbox, launch):
    """Two campaigns whose names contain one another: each reminds Bob once."""
    holds(cast.alice, sandbox.developers)
    first = launch(due_in=timedelta(days=2), name="Q4 review")
    second = launch(due_in=timedelta(days=2), name="Q4 review (finance)")

    assert remind_reviewers() == 2
    assert remind_reviewers() == 0

    reminders = Notification.objects.filter(recipient=cast.bob, kind=Notification.Kind.REVIEW_DUE)
    assert sorted(reminders.values_list("about_campaign", flat=True)) == [first.pk, second.pk]
    assert "1 line of 'Q4 review (finance)' waits for your decision" in reminders.get(about_campaign=second.pk).body


def test_a_campaign_whose_schedule_says_never_escalates_nobody(cast, sandbox, launch, bob_reports_to_dave):
    holds(cast.alice, sandbox.developers)
    campaign = launch()
    Campaign.objects.filter(pk=campaign.pk).update(escalate_days_before=0, remind_days_before=0)

    assert escalate_reviewers() == 0 and remind_reviewers() == 0


def test_each_campaign_reminds_on_its_own_schedule(cast, sandbox, launch):
    holds(cast.alice, sandbox.developers)
    launch(due_in=timedelta(days=5), name="Soon", remind_days_before=3)
    assert remind_reviewers() == 0, "five days out, reminders start three days before"
    launch(due_in=timedelta(days=5), name="Early", remind_days_before=7)

    assert remind_reviewers() == 1
    assert Notification.objects.get(kind=Notification.Kind.REVIEW_DUE).about_campaign is not None
