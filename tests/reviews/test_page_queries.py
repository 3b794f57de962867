"""The review pages run the same queries whatever the number of lines (issue 21, "the portal at a company's size").

Each page is read twice, once for a campaign of 2 lines per manager and once for 20: Bob and Dave manage
the engineers (Dave is also the fallback reviewer), Erin owns the campaigns, Frank audits. A query that
grew with the lines would mean a page that reads every line, or one query per line.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import Grant
from reviews import selectors, services
from reviews.models import Campaign, ReviewItem


@pytest.fixture
def launched(cast, sandbox, django_user_model):
    """A campaign over fresh engineers under Bob and Dave, `per_manager` each; Bob has revoked one line."""
    made = iter(range(100))

    def launch(per_manager: int) -> Campaign:
        number = next(made)
        for manager in (cast.bob, cast.dave):
            for n in range(per_manager):
                person = django_user_model.objects.create_user(
                    email=f"q{number}-{manager.pk}-{n}@example.com",
                    password=None,
                    full_name=f"Engineer {number} {n}",
                    manager=manager,
                    department=f"Q{number}",
                )
                Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
        campaign = Campaign.objects.create(
            name=f"Q{number}",
            owner=cast.erin,
            fallback_reviewer=cast.dave,
            departments=[f"Q{number}"],
            due_at=timezone.now() + timedelta(days=14),
        )
        campaign = services.launch(campaign_id=campaign.pk, actor=cast.erin)
        bobs = list(campaign.items.filter(reviewer=cast.bob).order_by("pk").values_list("pk", flat=True))
        services.decide(campaign_id=campaign.pk, item_ids=bobs[:1], actor=cast.bob, decision="revoke", comment="x")
        return campaign

    return launch


def page_queries(client, path: str) -> int:
    client.get(path)  # the session's own first queries
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def browser(person, client):
    client.force_login(person)
    return client


def api(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


QUEUES = ["", "?all=1", "?recommendation=revoke", "?person=Engineer", "?group_by=entitlement"]


@pytest.mark.parametrize("query", QUEUES)
def test_a_reviewers_queue_runs_the_same_queries_for_2_and_20_lines(cast, launched, client, query):
    few, many = launched(2), launched(20)
    bob = browser(cast.bob, client)

    assert page_queries(bob, reverse("reviews:queue", args=[few.pk]) + query) == page_queries(
        bob, reverse("reviews:queue", args=[many.pk]) + query
    )


@pytest.mark.parametrize("query", QUEUES)
def test_the_read_only_queue_runs_the_same_queries_for_2_and_20_lines(cast, launched, client, query):
    few, many = launched(2), launched(20)
    frank = browser(cast.frank, client)

    assert page_queries(frank, reverse("reviews:queue", args=[few.pk]) + query) == page_queries(
        frank, reverse("reviews:queue", args=[many.pk]) + query
    )


def test_my_reviews_runs_the_same_queries_for_2_and_20_lines(cast, launched, client):
    bob = browser(cast.bob, client)
    launched(2)
    few = page_queries(bob, reverse("reviews:mine"))
    launched(20)

    assert page_queries(bob, reverse("reviews:mine")) == few


@pytest.mark.parametrize("query", ["", "?decision=undecided", "?decision=keep"])
@pytest.mark.parametrize("who", ["bob", "frank", "erin"])
def test_the_api_lines_run_the_same_queries_for_2_and_20_lines(cast, launched, who, query):
    few, many = launched(2), launched(20)
    caller = api(getattr(cast, who))

    assert page_queries(caller, f"/api/reviews/campaigns/{few.pk}/items/{query}") == page_queries(
        caller, f"/api/reviews/campaigns/{many.pk}/items/{query}"
    )


def test_the_campaign_overview_runs_the_same_queries_for_2_and_20_lines(cast, launched, client):
    few, many = launched(2), launched(20)
    erin = browser(cast.erin, client)

    assert page_queries(erin, reverse("reviews:campaign", args=[few.pk])) == page_queries(
        erin, reverse("reviews:campaign", args=[many.pk])
    )


def test_a_reviewers_counts_come_from_the_counters_and_match_the_lines(cast, launched):
    campaign = launched(20)
    bobs = ReviewItem.objects.filter(campaign=campaign, reviewer=cast.bob)

    assert selectors.reviewer_progress(campaign, cast.bob) == {"total": 20, "decided": 1, "handed_on": 0}
    assert selectors.waiting_count(cast.bob) == bobs.filter(decision="undecided").count() == 19
    mine = selectors.campaigns_of_reviewer(cast.bob).get()
    assert (mine.mine, mine.mine_decided) == (20, 1)
