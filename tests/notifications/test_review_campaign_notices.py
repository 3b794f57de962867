"""Reviews tell people what they need: reviewers when a campaign starts, holders when it removes their
access, the owner when it is ready to sign off; and the Reviews menu counts what waits."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from notifications.models import Notification
from reviews import notices, services, tasks
from reviews.models import Campaign, ReviewItem


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def launched(cast, sandbox):
    """Alice holds Developers and Break-glass (Bob reviews both); Carol holds Developers (Dave, the fallback)."""
    for person, entitlement in [
        (cast.alice, sandbox.developers),
        (cast.alice, sandbox.breakglass),
        (cast.carol, sandbox.developers),
    ]:
        Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)
    draft = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=draft.pk, actor=cast.erin)


def notices_of(kind):
    return {(n.recipient.email, n.title) for n in Notification.objects.filter(kind=kind).select_related("recipient")}


def test_each_reviewer_is_told_once_when_a_campaign_starts_with_their_count(cast, launched):
    notices.campaign_started(launched.pk)
    notices.campaign_started(launched.pk)  # a retried task tells nobody twice

    assert notices_of(Notification.Kind.REVIEW_STARTED) == {
        ("bob@example.com", "Access review started: 2 lines for you in 'Q4 review'"),
        ("dave@example.com", "Access review started: 1 line for you in 'Q4 review'"),
    }
    link = Notification.objects.filter(kind=Notification.Kind.REVIEW_STARTED).values_list("link", flat=True)
    assert set(link) == {reverse("reviews:queue", args=[launched.pk])}


def test_a_holder_is_told_when_the_review_removes_their_access(cast, launched):
    bob = as_person(cast.bob)
    ids = list(launched.items.filter(holder=cast.alice).values_list("pk", flat=True))
    bob.post(
        reverse("reviews:decide", args=[launched.pk]),
        {"items": ids, "action": "revoke", "comment": "Moved to the data team"},
    )
    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    assert tasks.tell_revoked_holders(launched.pk) == 1
    assert tasks.tell_revoked_holders(launched.pk) == 0

    told = Notification.objects.get(kind=Notification.Kind.REVIEW_REVOKED)
    assert told.recipient == cast.alice and told.link == reverse("access:my_access")
    assert "Break-glass admins, Developers" in told.body and "request it again" in told.body


def test_the_owner_is_told_once_when_the_last_line_is_decided(cast, launched):
    bob, dave = as_person(cast.bob), as_person(cast.dave)
    bobs = list(launched.items.filter(reviewer=cast.bob).values_list("pk", flat=True))
    daves = list(launched.items.filter(reviewer=cast.dave).values_list("pk", flat=True))

    bob.post(reverse("reviews:decide", args=[launched.pk]), {"items": bobs, "action": "keep"})
    assert not Notification.objects.filter(kind=Notification.Kind.CAMPAIGN_READY).exists()
    dave.post(reverse("reviews:decide", args=[launched.pk]), {"items": daves, "action": "keep"})
    dave.post(reverse("reviews:decide", args=[launched.pk]), {"items": daves, "action": "keep"})

    assert notices_of(Notification.Kind.CAMPAIGN_READY) == {("erin@example.com", "Ready to sign off: 'Q4 review'")}


def test_the_reviews_menu_counts_the_lines_waiting_for_me(cast, launched):
    page = as_person(cast.bob).get(reverse("home"))
    assert page.context["nav_reviews_waiting"] == 2
    assert '<span class="badge text-bg-danger" aria-label="2 waiting">2</span>' in page.content.decode()
    bobs = list(launched.items.filter(reviewer=cast.bob).values_list("pk", flat=True))
    services.decide(campaign_id=launched.pk, item_ids=bobs, actor=cast.bob, decision="keep")
    assert as_person(cast.bob).get(reverse("home")).context["nav_reviews_waiting"] == 0


def test_the_reviews_badge_costs_the_same_queries_for_2_and_34_lines(cast, sandbox, django_user_model, launched):
    def queries() -> int:
        client = as_person(cast.bob)
        client.get(reverse("home"))
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("home"))
        return len(captured)

    few = queries()
    reports = [
        django_user_model.objects.create_user(email=f"r{n}@example.com", full_name=f"R {n}", manager=cast.bob)
        for n in range(30)
    ]
    for person in reports:
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    draft = Campaign.objects.create(
        name="Big", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    services.launch(campaign_id=draft.pk, actor=cast.erin)

    assert (
        as_person(cast.bob).get(reverse("home")).context["nav_reviews_waiting"] == 34
    )  # Alice's two lines in each campaign, and 30 reports
    assert queries() == few


def test_a_leaver_whose_access_was_revoked_is_not_told(cast, launched):
    ReviewItem.objects.filter(holder=cast.carol).update(decision="revoke", comment="Left", decided_by=cast.dave)
    cast.carol.is_active = False
    cast.carol.save()
    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    assert notices.access_revoked(launched.pk) == []
