"""Access reviews through the API: the reviewer's campaigns and items, decisions with the pages' rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import Grant
from api.serializers.reviews import ReviewItemSerializer
from iam.models import UnmanagedAccess
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


def test_someone_without_lines_decides_nothing(api_for, cast, campaign):
    ids = list(ReviewItem.objects.values_list("pk", flat=True))
    api = api_for(cast.dave)

    decided = api.post(
        f"/api/reviews/campaigns/{campaign.pk}/decide/", {"item_ids": ids, "decision": "keep"}, format="json"
    )
    accepted = api.post(
        f"/api/reviews/campaigns/{campaign.pk}/accept_recommendations/", {"item_ids": ids}, format="json"
    )

    assert (decided.status_code, accepted.status_code) == (404, 404)
    assert set(ReviewItem.objects.values_list("decision", flat=True)) == {"undecided"}


@pytest.fixture
def two_stage(cast, sandbox):
    """Alice (manager Bob) holds Developers (owner Carol); Mallory, no portal person, holds it outside the ledger."""
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    now = timezone.now()
    UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind="iam_group",
        aws_principal="mallory",
        aws_name="Developers",
        entitlement=sandbox.developers,
        first_seen=now,
        last_seen=now,
    )
    draft = Campaign.objects.create(
        name="Q1",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        second_stage=True,
        due_at=timezone.now() + timedelta(days=14),
    )
    return services.launch(campaign_id=draft.pk, actor=cast.erin)


def test_a_campaign_reads_with_its_stages_scope_and_progress(api_for, cast, two_stage):
    alice = ReviewItem.objects.get(holder=cast.alice)
    services.decide(campaign_id=two_stage.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep", comment="fine")

    bob = api_for(cast.bob).get(f"/api/reviews/campaigns/{two_stage.pk}/").json()
    frank = api_for(cast.frank).get(f"/api/reviews/campaigns/{two_stage.pk}/").json()

    assert (bob["second_stage"], bob["reviewer_type"], bob["mine"], bob["mine_decided"]) == (True, "manager", 1, 1)
    assert bob["progress"] == {
        "total": 2,
        "decided": 0,
        "waiting_first": 1,
        "waiting_second": 1,
        "handed_on": 1,
        "unmanaged": 1,
    }
    assert (frank["population_count"], frank["owner"], frank["mine"]) == (2, "erin@example.com", 0)
    assert api_for(cast.alice).get(f"/api/reviews/campaigns/{two_stage.pk}/").status_code == 404


def test_the_owner_sees_the_first_decision_on_a_second_stage_line(api_for, cast, two_stage):
    alice = ReviewItem.objects.get(holder=cast.alice)
    services.decide(campaign_id=two_stage.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep", comment="fine")

    items = api_for(cast.carol).get(f"/api/reviews/campaigns/{two_stage.pk}/items/").json()["results"]

    by_holder = {item["holder"] or item["aws_principal"]: item for item in items}
    line = by_holder["alice@example.com"]
    assert (line["stage"], line["first_decision"], line["first_comment"], line["first_decided_by"]) == (
        2,
        "keep",
        "fine",
        "bob@example.com",
    )
    assert (by_holder["mallory"]["holder"], by_holder["mallory"]["origin"]) == (None, "unmanaged")


def test_a_line_reads_as_drf_would_write_its_fields(cast, two_stage):
    """The lines' serializer writes its fields directly (a page of 50 is the API's costliest list); what it
    writes is what DRF's generic path writes for the same fields, line by line: two stages, a kept line
    with its first decision and dates, a revoked one, unmanaged access of no portal person."""
    alice = ReviewItem.objects.get(holder=cast.alice)
    services.decide(campaign_id=two_stage.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep", comment="fine")
    mallory = ReviewItem.objects.get(aws_principal="mallory")
    services.decide(
        campaign_id=two_stage.pk, item_ids=[mallory.pk], actor=mallory.reviewer, decision="revoke", comment="who?"
    )
    lines = ReviewItem.objects.filter(campaign=two_stage).select_related("entitlement__account", "reviewer")
    serializer = ReviewItemSerializer()

    written = [serializer.to_representation(line) for line in lines]

    assert len(written) == 2
    assert written == [serializer.generic_representation(line) for line in lines]
    assert {line["decision"] for line in written} == {"undecided", "revoke"}


def test_auditors_read_every_line_and_post_nothing(api_for, cast, two_stage):
    api = api_for(cast.frank)
    ids = list(ReviewItem.objects.values_list("pk", flat=True))

    listed = api.get("/api/reviews/campaigns/").json()["results"]
    items = api.get(f"/api/reviews/campaigns/{two_stage.pk}/items/").json()["results"]
    decided = api.post(
        f"/api/reviews/campaigns/{two_stage.pk}/decide/", {"item_ids": ids, "decision": "keep"}, format="json"
    )
    accepted = api.post(
        f"/api/reviews/campaigns/{two_stage.pk}/accept_recommendations/", {"item_ids": ids}, format="json"
    )

    assert [campaign["name"] for campaign in listed] == ["Q1"]
    assert {(item["holder"], item["reviewer"]) for item in items} == {
        ("alice@example.com", "bob@example.com"),
        (None, "carol@example.com"),
    }
    assert (decided.status_code, accepted.status_code) == (403, 403)
    assert decided.json()["detail"] == "Auditors read review campaigns; they change nothing."
    assert set(ReviewItem.objects.values_list("decision", flat=True)) == {"undecided"}


def test_a_script_previews_and_launches_a_draft_through_the_same_services(api_for, cast, sandbox):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    draft = Campaign.objects.create(name="Q1", owner=cast.erin, due_at=timezone.now() + timedelta(days=14))
    erin = api_for(cast.erin)

    refused_preview = erin.get(f"/api/reviews/campaigns/{draft.pk}/preview/").json()
    refused = erin.post(f"/api/reviews/campaigns/{draft.pk}/launch/")
    Campaign.objects.filter(pk=draft.pk).update(fallback_reviewer=cast.dave)
    preview = erin.get(f"/api/reviews/campaigns/{draft.pk}/preview/").json()
    queued = erin.post(f"/api/reviews/campaigns/{draft.pk}/launch/")

    reason = "Name a fallback reviewer other than the campaign owner"
    assert refused_preview["refusal"].startswith(reason) and refused_preview["count"] == 0
    assert refused.status_code == 400 and refused.json()["detail"].startswith(reason)
    assert (preview["refusal"], preview["count"], preview["to_fallback"]) == ("", 1, 0)
    assert preview["reviewers"] == [{"name": "Bob Manager", "email": "bob@example.com", "first": 1, "second": 0}]
    assert queued.status_code == 202 and queued.json()["state"] == "draft"
    assert Campaign.objects.get(pk=draft.pk).launch_requested_at is not None
    assert api_for(cast.frank).post(f"/api/reviews/campaigns/{draft.pk}/launch/").status_code == 403
    assert api_for(cast.bob).get(f"/api/reviews/campaigns/{draft.pk}/preview/").status_code == 404
