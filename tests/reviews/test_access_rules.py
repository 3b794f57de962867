"""Who may see, read, decide in and change a campaign (reviews.access_rules): one rule, the same answer on
the pages and through the API.

Two campaigns over Alice's Developers access, both launched by Erin. Carol owns "Managers review" and
reviews nothing in it: Bob, Alice's manager, reviews its line. Erin owns "Owners review", where Carol,
the entitlement's owner, reviews the line. Dave is the fallback reviewer of both and has no line;
Frank is an auditor.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import Grant
from reviews import services
from reviews.models import Campaign, ReviewItem

MISSING_ID = 987654


def launched(cast, sandbox, *, name: str, owner, reviewer_type: str) -> Campaign:
    campaign = Campaign.objects.create(
        name=name,
        owner=owner,
        fallback_reviewer=cast.dave,
        reviewer_type=reviewer_type,
        due_at=timezone.now() + timedelta(days=14),
    )
    campaign.entitlements.set([sandbox.developers])
    return services.launch(campaign_id=campaign.pk, actor=cast.erin)


@pytest.fixture
def campaigns(cast, sandbox):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    by_managers = launched(cast, sandbox, name="Managers review", owner=cast.carol, reviewer_type="manager")
    by_owners = launched(cast, sandbox, name="Owners review", owner=cast.erin, reviewer_type="owner")
    assert ReviewItem.objects.get(campaign=by_managers).reviewer == cast.bob
    assert ReviewItem.objects.get(campaign=by_owners).reviewer == cast.carol
    return by_managers, by_owners


def page_of(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def api_of(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def line_of(campaign: Campaign) -> int:
    return ReviewItem.objects.get(campaign=campaign).pk


def test_a_reviewer_of_one_campaign_reads_and_decides_nothing_in_another(cast, campaigns):
    by_managers, by_owners = campaigns
    page, api = page_of(cast.bob), api_of(cast.bob)
    others = line_of(by_owners)

    answers = {
        "queue page": page.get(reverse("reviews:queue", args=[by_owners.pk])).status_code,
        "lines api": api.get(f"/api/reviews/campaigns/{by_owners.pk}/items/").status_code,
        "decide page": page.post(
            reverse("reviews:decide", args=[by_owners.pk]), {"items": [others], "action": "keep"}
        ).status_code,
        "decide api": api.post(
            f"/api/reviews/campaigns/{by_owners.pk}/decide/", {"item_ids": [others], "decision": "keep"}, format="json"
        ).status_code,
    }

    assert answers == {"queue page": 404, "lines api": 404, "decide page": 404, "decide api": 404}
    assert ReviewItem.objects.get(pk=others).decision == ReviewItem.Decision.UNDECIDED
    assert page.get(reverse("reviews:queue", args=[by_managers.pk])).status_code == 200
    mine = api.get(f"/api/reviews/campaigns/{by_managers.pk}/items/").json()["results"]
    assert [line["id"] for line in mine] == [line_of(by_managers)]


def test_a_campaign_someone_may_not_see_answers_as_one_that_does_not_exist(cast, campaigns):
    """Dave reviews nothing and owns nothing: the API's body for the campaign is the one for a missing id."""
    by_managers, _ = campaigns
    page, api = page_of(cast.dave), api_of(cast.dave)

    hidden = api.get(f"/api/reviews/campaigns/{by_managers.pk}/")
    missing = api.get(f"/api/reviews/campaigns/{MISSING_ID}/")

    assert (hidden.status_code, hidden.json()) == (404, missing.json())
    assert hidden.json() == {"detail": "Not found.", "field": None, "errors": {}}
    assert page.get(reverse("reviews:campaign", args=[by_managers.pk])).status_code == 404
    assert page.get(reverse("reviews:queue", args=[by_managers.pk])).status_code == 404
    assert api.get(f"/api/reviews/campaigns/{by_managers.pk}/items/").status_code == 404


def test_the_owner_who_reviews_nothing_reads_the_campaign_but_not_a_reviewers_queue(cast, campaigns):
    by_managers, _ = campaigns
    page, api = page_of(cast.carol), api_of(cast.carol)

    assert page.get(reverse("reviews:campaign", args=[by_managers.pk])).status_code == 200
    assert api.get(f"/api/reviews/campaigns/{by_managers.pk}/").json()["name"] == "Managers review"
    assert page.get(reverse("reviews:queue", args=[by_managers.pk])).status_code == 404
    assert api.get(f"/api/reviews/campaigns/{by_managers.pk}/items/").status_code == 404


def test_a_reviewer_sees_the_campaign_but_may_not_read_the_whole_of_it_or_change_it(cast, campaigns):
    """Carol reviews in Erin's campaign: the API shows her the campaign and her line; its owner's page,
    its evidence and its sign-off refuse her with 403, not 404 (she knows it exists)."""
    _, by_owners = campaigns
    page, api = page_of(cast.carol), api_of(cast.carol)

    assert api.get(f"/api/reviews/campaigns/{by_owners.pk}/").status_code == 200
    assert len(api.get(f"/api/reviews/campaigns/{by_owners.pk}/items/").json()["results"]) == 1
    assert page.get(reverse("reviews:campaign", args=[by_owners.pk])).status_code == 403
    assert page.get(reverse("reviews:evidence", args=[by_owners.pk])).status_code == 403
    assert page.post(reverse("reviews:sign_off", args=[by_owners.pk])).status_code == 403
    assert Campaign.objects.get(pk=by_owners.pk).state == Campaign.State.ACTIVE


def test_an_auditor_reads_every_line_and_decides_none_on_either_edge(cast, campaigns):
    by_managers, _ = campaigns
    page, api = page_of(cast.frank), api_of(cast.frank)
    line = line_of(by_managers)

    decided_by_page = page.post(reverse("reviews:decide", args=[by_managers.pk]), {"items": [line], "action": "keep"})
    decided_by_api = api.post(
        f"/api/reviews/campaigns/{by_managers.pk}/decide/", {"item_ids": [line], "decision": "keep"}, format="json"
    )

    assert decided_by_page.status_code == 403
    assert decided_by_api.status_code == 403
    assert decided_by_api.json()["detail"] == "Auditors read review campaigns; they change nothing."
    assert ReviewItem.objects.get(pk=line).decision == ReviewItem.Decision.UNDECIDED
    assert page.get(reverse("reviews:queue", args=[by_managers.pk])).status_code == 200
    read = api.get(f"/api/reviews/campaigns/{by_managers.pk}/items/").json()["results"]
    assert [row["id"] for row in read] == [line]


def test_a_launch_preview_is_for_governance_admins_and_auditors(cast, sandbox):
    draft = Campaign.objects.create(
        name="Next quarter", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )

    assert page_of(cast.frank).get(reverse("reviews:campaign_preview", args=[draft.pk])).status_code == 200
    assert api_of(cast.frank).get(f"/api/reviews/campaigns/{draft.pk}/preview/").status_code == 200
    assert api_of(cast.dave).get(f"/api/reviews/campaigns/{draft.pk}/preview/").status_code == 404
    # The page is in the Governance section, closed to Dave as a whole (403) before any campaign is read.
    assert page_of(cast.dave).get(reverse("reviews:campaign_preview", args=[draft.pk])).status_code == 403
