"""Access reviews through the API: the reviewer's campaigns and items, decisions with the pages' rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import Grant
from reviews import services
from reviews.models import Campaign, ReviewItem


@pytest.fixture
def campaign(cast, sandbox):
    for person in (cast.alice, cast.carol):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    cast.carol.manager = cast.bob
    cast.carol.employment_status = cast.carol.EmploymentStatus.LEAVER
    cast.carol.save()
    draft = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=draft.pk, actor=cast.erin)


def test_reviewer_lists_campaigns_and_items(api_for, cast, campaign):
    campaigns = api_for(cast.bob).get("/api/reviews/campaigns/").json()["results"]
    items = api_for(cast.bob).get(f"/api/reviews/campaigns/{campaign.pk}/items/").json()["results"]

    assert [(c["name"], c["mine"], c["mine_decided"]) for c in campaigns] == [("Q4", 2, 0)]
    assert {item["holder"]: item["recommendation"] for item in items} == {
        "alice@example.com": "undecided",
        "carol@example.com": "revoke",
    }
    assert api_for(cast.dave).get(f"/api/reviews/campaigns/{campaign.pk}/items/").status_code == 404


def test_decisions_follow_the_same_rules_as_the_pages(api_for, cast, campaign):
    ids = list(ReviewItem.objects.values_list("pk", flat=True))
    api = api_for(cast.bob)

    missing = api.post(
        f"/api/reviews/campaigns/{campaign.pk}/decide/", {"item_ids": ids, "decision": "revoke"}, format="json"
    )
    accepted = api.post(
        f"/api/reviews/campaigns/{campaign.pk}/accept_recommendations/", {"item_ids": ids}, format="json"
    )
    kept = api.post(
        f"/api/reviews/campaigns/{campaign.pk}/decide/",
        {"item_ids": [ReviewItem.objects.get(holder=cast.alice).pk], "decision": "keep"},
        format="json",
    )

    assert (missing.status_code, missing.json()["field"]) == (400, "comment")
    assert accepted.json() == {"decided": 1} and kept.json() == {"decided": 1}
    assert dict(ReviewItem.objects.values_list("holder__email", "decision")) == {
        "alice@example.com": "keep",
        "carol@example.com": "revoke",
    }
    services.sign_off(campaign_id=campaign.pk, actor=cast.erin)
    late = api.post(
        f"/api/reviews/campaigns/{campaign.pk}/decide/", {"item_ids": ids, "decision": "keep"}, format="json"
    )
    assert late.status_code == 409
