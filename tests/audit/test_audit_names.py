"""The audit log names what each event is about in words, links to its page, and filters by person
and entitlement with searchable pickers; the hashed rows stay as they were written.

Alice asks for Developers (Sandbox account 123456789012), Bob approves; Frank the auditor reads.
"""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant
from audit.chain import hash_of
from audit.models import AuditEvent
from audit.services import record
from reviews import services as review_services
from reviews.models import Campaign, ReviewItem
from tests.audit.test_audit_pages import csv_rows
from tests.reviews.test_campaigns import holds

DEVELOPERS = "Developers (IAM group, 123456789012)"


@pytest.fixture
def approved(cast, sandbox):
    """Alice's request for Developers, approved by Bob: request, vote, grant events."""
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification="Deploying the Q4 release"
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return AccessRequest.objects.get(pk=access_request.pk)


def subjects_on(response) -> dict[str, str]:
    return {event.action: event.subject.text for event in response.context["page"]}


def test_events_name_the_person_entitlement_and_request_in_words(client_for, cast, sandbox, approved):
    response = client_for(cast.frank).get(reverse("audit:events"))

    named = subjects_on(response)
    assert named["request.submitted"] == f"Request #{approved.pk}: Alice Engineer — {DEVELOPERS}"
    assert named["grant.desired_present"] == f"Alice Engineer — {DEVELOPERS}"
    body = response.content.decode()
    assert f"Alice Engineer — {DEVELOPERS}" in body
    assert f"access.grant:{Grant.objects.get(user=cast.alice).pk}" in body  # the raw reference stays beside it


def test_an_entitlement_event_links_to_its_catalog_page(client_for, cast, sandbox):
    with transaction.atomic():
        record(actor=cast.erin, action="catalog.entitlement_changed", obj=sandbox.developers, after={"risk": "high"})
    event = AuditEvent.objects.get(action="catalog.entitlement_changed")

    page = client_for(cast.frank).get(reverse("audit:event", args=[event.pk]))

    assert page.context["event"].subject.text == DEVELOPERS
    assert page.context["event"].subject.url == reverse("access:entitlement", args=[sandbox.developers.pk])
    assert f'href="{reverse("access:entitlement", args=[sandbox.developers.pk])}"' in page.content.decode()


def test_an_object_that_is_gone_or_unknown_keeps_its_raw_reference(client_for, cast, sandbox):
    from audit.services import ObjectRef

    with transaction.atomic():
        record(actor=None, action="auth.failed", obj=ObjectRef("auth.email", "nobody@example.com"))
        record(actor=None, action="grant.test", obj=ObjectRef("access.grant", "999999"))

    named = subjects_on(client_for(cast.frank).get(reverse("audit:events")))

    assert named == {"auth.failed": "auth.email:nobody@example.com", "grant.test": "access.grant:999999"}


@pytest.fixture
def review(cast, sandbox):
    holds(cast.alice, sandbox.developers)
    campaign = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return review_services.launch(campaign_id=campaign.pk, actor=cast.erin)


def test_a_review_decision_names_the_line_it_decided(client_for, cast, review):
    line = ReviewItem.objects.get(campaign=review, holder=cast.alice)

    review_services.decide(campaign_id=review.pk, item_ids=[line.pk], actor=cast.bob, decision="keep")

    event = AuditEvent.objects.get(action="review.keep")
    assert event.after["lines"] == [{"item": line.pk, "holder": cast.alice.pk, "entitlement": line.entitlement_id}]
    named = client_for(cast.frank).get(reverse("audit:event", args=[event.pk])).context["event"].subject
    assert named.text == f"Review line: Alice Engineer — {DEVELOPERS} in Q4 review"
    assert named.url == reverse("reviews:campaign", args=[review.pk])


def test_an_old_review_decision_without_lines_is_named_from_its_item_ids(client_for, cast, review):
    line = ReviewItem.objects.get(campaign=review, holder=cast.alice)
    with transaction.atomic():  # as decisions were recorded before they carried their lines
        record(actor=cast.bob, action="review.revoke", obj=review, after={"items": [line.pk], "comment": "left"})
        record(actor=cast.bob, action="review.keep", obj=review, after={"items": 250, "comment": ""})

    named = subjects_on(client_for(cast.frank).get(reverse("audit:events") + "?action=review."))

    assert named["review.revoke"] == f"Review line: Alice Engineer — {DEVELOPERS} in Q4 review"
    assert named["review.keep"] == "250 review lines in Q4 review"


def test_naming_changes_nothing_that_is_hashed(client_for, cast, approved):
    client_for(cast.frank).get(reverse("audit:events"))

    assert all(hash_of(event) == event.hash for event in AuditEvent.objects.all())


def test_the_person_filter_finds_events_by_and_about_them(client_for, cast, sandbox, approved):
    client = client_for(cast.frank)

    about_alice = client.get(reverse("audit:events"), {"person": "ALICE@example.com"})
    by_bob = client.get(reverse("audit:events"), {"person": "bob@example.com"})

    assert {event.action for event in about_alice.context["page"]} >= {
        "request.submitted",
        "approval.approved",
        "request.approved",
        "grant.desired_present",
    }
    assert {event.actor for event in by_bob.context["page"]} == {cast.bob}


def test_an_unknown_person_lists_nothing_and_says_so(client_for, cast, approved):
    response = client_for(cast.frank).get(reverse("audit:events"), {"person": "mallory@example.com"})

    assert list(response.context["page"]) == []
    assert "Nobody in the portal has that email address" in response.content.decode()


def test_the_entitlement_filter_takes_the_picked_value(client_for, cast, sandbox, approved):
    with transaction.atomic():
        record(actor=cast.erin, action="catalog.entitlement_changed", obj=sandbox.breakglass, after={"risk": "high"})
    client = client_for(cast.frank)

    response = client.get(reverse("audit:events"), {"entitlement": f"#{sandbox.developers.pk} {DEVELOPERS}"})

    actions = {event.action for event in response.context["page"]}
    assert "grant.desired_present" in actions and "request.submitted" in actions
    assert "catalog.entitlement_changed" not in actions  # that one was Break-glass admins
    typed = client.get(reverse("audit:events"), {"entitlement": "developers"})
    assert [event.seq for event in typed.context["page"]] == [event.seq for event in response.context["page"]]


def test_pickers_offer_matching_people_and_entitlements_to_readers_only(client_for, cast, sandbox):
    client = client_for(cast.frank)

    people = client.get(reverse("audit:pick_people"), {"person": "ali"}).content.decode()
    entitlements = client.get(reverse("audit:pick_entitlements"), {"entitlement": "devel"}).content.decode()

    assert '<option value="alice@example.com">Alice Engineer (alice@example.com)</option>' in people
    assert "bob@example.com" not in people
    assert f'<option value="#{sandbox.developers.pk} {DEVELOPERS}">{DEVELOPERS}</option>' in entitlements
    assert client.get(reverse("audit:pick_people"), {"person": ""}).content.strip() == b""
    assert client_for(cast.alice).get(reverse("audit:pick_people"), {"person": "bob"}).status_code == 403


def test_the_export_names_each_object(client_for, cast, approved):
    rows = csv_rows(client_for(cast.frank).get(reverse("audit:export"), {"action": "grant."}))

    assert [row["object_name"] for row in rows] == [f"Alice Engineer — {DEVELOPERS}"]
    assert list(rows[0])[-2:] == ["hash", "object_name"]


def _more_of_everything(cast, sandbox, review, rounds: int) -> None:
    line = ReviewItem.objects.get(campaign=review, holder=cast.alice)
    grant = Grant.objects.get(user=cast.alice, entitlement=sandbox.developers)
    with transaction.atomic():
        for _ in range(rounds):
            record(actor=cast.erin, action="test.named", obj=grant)
            record(actor=cast.erin, action="test.named", obj=sandbox.developers)
            record(actor=cast.erin, action="test.named", obj=cast.alice)
            record(actor=cast.erin, action="test.named", obj=review, after={"items": [line.pk]})
            record(actor=cast.erin, action="test.named", obj=line)


@pytest.mark.parametrize("page", ["list", "person", "export"])
def test_naming_costs_the_same_queries_for_5_and_500_events(client_for, cast, sandbox, review, page):
    client = client_for(cast.frank)
    url = {
        "list": reverse("audit:events") + "?action=test.",
        "person": reverse("audit:events") + "?action=test.&person=erin@example.com",
        "export": reverse("audit:export") + "?action=test.",
    }[page]

    def visit():
        response = client.get(url)
        if page == "export":
            b"".join(response.streaming_content)
        return response

    _more_of_everything(cast, sandbox, review, 1)
    visit()
    with CaptureQueriesContext(connection) as few:
        visit()
    _more_of_everything(cast, sandbox, review, 100)
    with CaptureQueriesContext(connection) as many:
        assert visit().status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize(
    "value", ["#99999999999999999999999", "' OR 1=1 --", "%", "#-1", "x" * 5000, "<script>alert(1)</script>"]
)
def test_hostile_filter_values_list_nothing_and_never_fail(client_for, cast, approved, value):
    client = client_for(cast.frank)

    for name in ("person", "entitlement"):
        response = client.get(reverse("audit:events"), {name: value})
        assert response.status_code == 200 and list(response.context["page"]) == []
        assert "<script>alert(1)</script>" not in response.content.decode()
    for picker in ("audit:pick_people", "audit:pick_entitlements"):
        assert client.get(reverse(picker), {"q": value}).status_code == 200
