"""Auditors (Frank) read every campaign, its queue and its evidence, and change nothing; governance admins
(Erin) read every queue too. Bob reviews Alice's Developers; Dave is the fallback reviewer."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from inputs.refusals import NotAllowed
from reviews import services
from reviews.models import Campaign, ReviewItem


@pytest.fixture
def launched(cast, sandbox):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    Grant.objects.create(user=cast.carol, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name="Q4 review",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        second_stage=True,
        due_at=timezone.now() + timedelta(days=14),
    )
    return services.launch(campaign_id=campaign.pk, actor=cast.erin)


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_an_auditor_reads_the_campaign_every_line_and_the_evidence(cast, launched):
    frank = as_person(cast.frank)

    campaign = frank.get(reverse("reviews:campaign", args=[launched.pk]))
    queue = frank.get(reverse("reviews:queue", args=[launched.pk]), {"all": "1"})
    evidence = frank.get(reverse("reviews:evidence", args=[launched.pk]))
    mine = frank.get(reverse("reviews:mine")).content.decode()

    assert campaign.status_code == 200 and "Sign off" not in campaign.content.decode()
    page = queue.content.decode()
    assert queue.status_code == 200 and 'data-testid="read-only"' in page
    assert "Alice Engineer" in page and "Carol Owner" in page and "Bob Manager" in page, "every line, its reviewer"
    assert reverse("reviews:decide", args=[launched.pk]) not in page and "review-queue.js" not in page
    assert evidence.status_code == 200 and len(b"".join(evidence.streaming_content).splitlines()) == 3
    assert "All campaigns" in mine and "Q4 review" in mine


def test_a_governance_admin_who_reviews_nothing_here_reads_the_queue_without_controls(cast, launched):
    page = as_person(cast.erin).get(reverse("reviews:queue", args=[launched.pk])).content.decode()

    assert 'data-testid="read-only"' in page and "Keep selected" not in page


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("reviews:decide", {"action": "keep", "all_matching": "1"}),
        ("reviews:launch", {}),
        ("reviews:sign_off", {}),
    ],
)
def test_every_post_by_an_auditor_is_refused(cast, launched, name, data):
    response = as_person(cast.frank).post(reverse(name, args=[launched.pk]), data)

    assert response.status_code == 403
    assert set(ReviewItem.objects.values_list("decision", flat=True)) == {"undecided"}
    assert Campaign.objects.get(pk=launched.pk).state == "active"


def test_an_auditor_cannot_reassign_a_line(cast, launched):
    item = ReviewItem.objects.get(holder=cast.alice)

    response = as_person(cast.frank).post(
        reverse("reviews:reassign", args=[item.pk]), {"to": "dave@example.com", "reason": "audit"}
    )

    assert response.status_code == 403 and ReviewItem.objects.get(pk=item.pk).reviewer == cast.bob


def test_an_auditor_who_manages_someone_still_decides_nothing(cast, sandbox, launched, django_user_model):
    """Grace reports to Frank: her line goes to the fallback reviewer, as auditors review nothing; and a
    line handed to Frank anyway (before he became an auditor) is still not his to decide."""
    grace = django_user_model.objects.create_user(email="grace@example.com", full_name="Grace", manager=cast.frank)
    Grant.objects.create(user=grace, entitlement=sandbox.breakglass, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name="Finance", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=7)
    )
    campaign = services.launch(campaign_id=campaign.pk, actor=cast.erin)
    item = ReviewItem.objects.get(campaign=campaign, holder=grace)
    assert item.reviewer == cast.dave
    ReviewItem.objects.filter(pk=item.pk).update(reviewer=cast.frank)

    with pytest.raises(NotAllowed, match="Auditors read review campaigns"):
        services.decide(campaign_id=campaign.pk, item_ids=[item.pk], actor=cast.frank, decision="keep")
    with pytest.raises(NotAllowed):
        services.accept_recommendations(campaign_id=campaign.pk, item_ids=[item.pk], actor=cast.frank)
    with pytest.raises(NotAllowed):
        services.reassign(item_id=item.pk, actor=cast.frank, to=cast.dave, reason="conflict")
    page = as_person(cast.frank).get(reverse("reviews:queue", args=[campaign.pk])).content.decode()
    assert 'data-testid="read-only"' in page and "Keep selected" not in page
    assert ReviewItem.objects.get(pk=item.pk).decision == "undecided"


def test_people_outside_the_campaign_still_see_nothing(cast, launched):
    assert as_person(cast.alice).get(reverse("reviews:queue", args=[launched.pk])).status_code == 404
    assert as_person(cast.carol).get(reverse("reviews:campaign", args=[launched.pk])).status_code == 404
    assert as_person(cast.carol).get(reverse("reviews:evidence", args=[launched.pk])).status_code == 404


def test_the_read_only_queue_runs_the_same_queries_for_10_and_1000_lines(cast, sandbox, django_user_model):
    def queue_queries(count):
        people = django_user_model.objects.bulk_create(
            django_user_model(email=f"r{count}-{n}@example.com", full_name=f"R {n}", manager=cast.bob)
            for n in range(count)
        )
        Grant.objects.bulk_create(Grant(user=p, entitlement=sandbox.developers, source="import") for p in people)
        campaign = Campaign.objects.create(
            name=f"C{count}",
            owner=cast.erin,
            fallback_reviewer=cast.dave,
            second_stage=True,
            due_at=timezone.now() + timedelta(days=1),
        )
        services.launch(campaign_id=campaign.pk, actor=cast.erin)
        client = as_person(cast.frank)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("reviews:queue", args=[campaign.pk]), {"all": "1"}).status_code == 200
        return len(queries)

    assert queue_queries(10) == queue_queries(1000)
