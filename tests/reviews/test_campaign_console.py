"""Governance → Access reviews: campaigns defined, previewed and launched from the portal, never the admin."""

import socket
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.models import UnmanagedAccess
from inputs.refusals import StaleState
from notifications.models import Notification
from reviews import services, tasks
from reviews.models import Campaign
from tests.conftest import tasks_queued

DUE = (timezone.now() + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def form(**changes) -> dict:
    values = {
        "name": "Q1 2027 review",
        "due_at": DUE,
        "reviewer_type": "manager",
        "undecided": "keep",
        "remind_days_before": "3",
        "escalate_days_before": "1",
        "repeat_months": "0",
        "review_days": "14",
    }
    return values | changes


@pytest.fixture
def holdings(cast, sandbox):
    """Alice (manager Bob) and Carol (no manager) hold Developers; Erin holds Break-glass; an unknown AWS
    user holds Developers outside the ledger."""
    for person, entitlement in [
        (cast.alice, sandbox.developers),
        (cast.carol, sandbox.developers),
        (cast.erin, sandbox.breakglass),
    ]:
        Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)
    UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind=Entitlement.Kind.IAM_GROUP,
        aws_name="Developers",
        entitlement=sandbox.developers,
        aws_principal="contractor-x",
        first_seen=timezone.now(),
        last_seen=timezone.now(),
    )


def test_a_governance_admin_defines_a_quarterly_two_stage_campaign_with_pickers(cast, sandbox):
    response = as_person(cast.erin).post(
        reverse("reviews:campaign_new"),
        form(
            accounts=[sandbox.account.pk],
            entitlements=[sandbox.developers.pk],
            kinds=["iam_group"],
            risks=["low", "high"],
            departments=["Engineering"],
            second_stage="on",
            fallback_reviewer=cast.dave.pk,
            undecided="revoke",
            repeat_months="3",
        ),
    )

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("reviews:campaign_preview", args=[campaign.pk])
    assert (campaign.owner, campaign.state, campaign.second_stage, campaign.fallback_reviewer) == (
        cast.erin,
        "draft",
        True,
        cast.dave,
    )
    assert (campaign.kinds, campaign.risks, campaign.departments) == (["iam_group"], ["low", "high"], ["Engineering"])
    assert list(campaign.accounts.all()) == [sandbox.account]
    assert list(campaign.entitlements.all()) == [sandbox.developers]
    assert campaign.repeat_months == 3 and campaign.next_run_at > timezone.now() + timedelta(days=80)
    event = AuditEvent.objects.get(action="campaign.created")
    assert event.after["fallback_reviewer"] == cast.dave.pk and event.after["entitlements"] == [sandbox.developers.pk]


def test_the_form_labels_every_field(cast, sandbox):
    page = as_person(cast.erin).get(reverse("reviews:campaign_new")).content.decode()

    for label in ["Name", "Due date", "Entitlements", "First reviewer", "Fallback reviewer", "Repeat"]:
        assert f">{label}</" in page
    for legend in ["Accounts", "Kinds of access", "Risk levels", "Holders&#x27; departments"]:
        assert f'<legend class="form-label fs-6">{legend}</legend>' in page
    assert f'<label class="form-check-label" for="id_accounts_0">{sandbox.account}</label>' in page


def test_a_second_stage_after_owner_reviewers_is_refused_and_nothing_is_saved(cast):
    response = as_person(cast.erin).post(
        reverse("reviews:campaign_new"), form(reviewer_type="owner", second_stage="on")
    )

    assert response.status_code == 400
    assert "The second stage is the owner&#x27;s" in response.content.decode()
    assert not Campaign.objects.exists()


def test_auditors_read_the_list_but_define_nothing(cast):
    Campaign.objects.create(name="Q4 review", owner=cast.erin, due_at=timezone.now() + timedelta(days=14))
    frank = as_person(cast.frank)

    listing = frank.get(reverse("reviews:campaigns"))
    refused = frank.post(reverse("reviews:campaign_new"), form())

    assert listing.status_code == 200 and "Q4 review" in listing.content.decode()
    assert "New campaign" not in listing.content.decode()
    assert refused.status_code == 403 and Campaign.objects.count() == 1


def test_a_launched_campaign_cannot_be_edited(cast, holdings):
    campaign = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    services.launch(campaign_id=campaign.pk, actor=cast.erin)

    response = as_person(cast.erin).post(reverse("reviews:campaign_edit", args=[campaign.pk]), form(name="Renamed"))

    assert response.status_code == 302 and Campaign.objects.get(pk=campaign.pk).name == "Q4"
    with pytest.raises(StaleState):
        services.save_draft(actor=cast.erin, values={"name": "Renamed"}, campaign_id=campaign.pk)


def test_the_campaign_list_runs_the_same_queries_for_3_and_30_campaigns(cast, holdings):
    def queries() -> int:
        client = as_person(cast.erin)
        client.get(reverse("reviews:campaigns"))  # the session's own first queries
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("reviews:campaigns")).status_code == 200
        return len(captured)

    def campaigns(count):
        for number in range(count):
            campaign = Campaign.objects.create(
                name=f"Q{number}", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(1)
            )
            if number % 2:
                services.launch(campaign_id=campaign.pk, actor=cast.erin)

    campaigns(3)
    few = queries()
    campaigns(27)
    assert queries() == few


def test_the_preview_gives_the_launchs_own_count_hash_and_reviewers(cast, sandbox, holdings):
    campaign = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, second_stage=True, due_at=timezone.now() + timedelta(1)
    )

    page = as_person(cast.erin).get(reverse("reviews:campaign_preview", args=[campaign.pk]))
    preview = page.context["preview"]
    assert not campaign.items.exists(), "the preview leaves nothing behind"
    launched = services.launch(campaign_id=campaign.pk, actor=cast.erin)

    assert (preview.count, preview.unmanaged, preview.sha256) == (4, 1, launched.population_hash)
    # Carol and Erin have no manager: the fallback (Dave) reviews them. Carol owns Developers, so she
    # reviews the unmanaged line of nobody, and confirms Alice's line in the second stage.
    assert preview.to_fallback == 2
    loads = {load.email: (load.first, load.second) for load in preview.reviewers}
    assert loads == {"bob@example.com": (1, 0), "dave@example.com": (2, 0), "carol@example.com": (1, 1)}
    assert 'data-testid="preview-hash">' + launched.population_hash in page.content.decode()


def test_a_campaign_that_cannot_launch_is_refused_with_the_reason_on_the_page(cast, holdings):
    # The demo's default: no fallback reviewer, and the owner (Erin) has no manager to review her own access.
    campaign = Campaign.objects.create(name="Q4", owner=cast.erin, due_at=timezone.now() + timedelta(days=14))
    erin = as_person(cast.erin)

    with tasks_queued() as queued:
        preview = erin.get(reverse("reviews:campaign_preview", args=[campaign.pk])).content.decode()
        response = erin.post(reverse("reviews:launch", args=[campaign.pk]))

    reason = "Name a fallback reviewer other than the campaign owner, or give the owner a manager"
    assert reason in preview and 'type="submit" disabled' in preview
    assert response.status_code == 400 and reason in response.content.decode()
    campaign.refresh_from_db()
    assert (campaign.state, campaign.launch_requested_at, queued) == ("draft", None, [])


def test_a_launch_failing_in_the_worker_shows_its_reason_tells_the_owner_and_is_audited(cast, aws, holdings):
    campaign = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    services.request_launch(campaign_id=campaign.pk, actor=cast.erin)
    # Before the worker takes it, a break-glass edit in the admin makes the owner the fallback again.
    Campaign.objects.filter(pk=campaign.pk).update(fallback_reviewer=None)

    assert tasks.launch_fresh(campaign.pk, cast.erin.pk) == 0

    campaign.refresh_from_db()
    assert campaign.state == "draft" and campaign.launch_error.startswith("Name a fallback reviewer")
    page = as_person(cast.erin).get(reverse("reviews:campaign", args=[campaign.pk])).content.decode()
    assert "The launch failed:" in page and "Name a fallback reviewer" in page
    told = Notification.objects.get(kind=Notification.Kind.CAMPAIGN_LAUNCH_FAILED)
    assert told.recipient == cast.erin and "Name a fallback reviewer" in told.body
    assert AuditEvent.objects.get(action="campaign.launch_failed").after["reason"] == campaign.launch_error


@pytest.mark.django_db(transaction=True)
def test_a_launch_from_the_page_runs_in_the_worker_and_tells_each_reviewer_once(
    cast, sandbox, aws, celery_worker, holdings
):
    campaign = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )

    response = as_person(cast.erin).post(reverse("reviews:launch", args=[campaign.pk]))

    assert response.status_code == 302
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not Notification.objects.filter(kind="review_started").exists():
        time.sleep(0.2)
    campaign.refresh_from_db()
    assert campaign.state == "active", campaign.launch_error
    started = Notification.objects.filter(kind=Notification.Kind.REVIEW_STARTED)
    assert {(n.recipient.email, n.about_campaign) for n in started} == {
        ("bob@example.com", campaign.pk),
        ("dave@example.com", campaign.pk),
    }


def test_a_launch_that_cannot_read_aws_says_so_on_the_campaign_page(cast, holdings, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{closed.getsockname()[1]}"
    settings.AWS_MAX_ATTEMPTS = 1
    campaign = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    services.request_launch(campaign_id=campaign.pk, actor=cast.erin)

    tasks.launch_fresh(campaign.pk, cast.erin.pk)

    campaign.refresh_from_db()
    assert campaign.state == "draft" and not campaign.items.exists()
    assert campaign.launch_error.startswith(
        "Reading the account Sandbox (123456789012) from AWS failed: Could not reach"
    )
    page = as_person(cast.erin).get(reverse("reviews:campaign", args=[campaign.pk])).content.decode()
    assert "Reading the account Sandbox" in page


def test_editing_a_draft_changes_its_scope_and_audits_before_and_after(cast, sandbox):
    erin = as_person(cast.erin)
    erin.post(reverse("reviews:campaign_new"), form(fallback_reviewer=cast.dave.pk))
    campaign = Campaign.objects.get()

    page = erin.get(reverse("reviews:campaign_edit", args=[campaign.pk])).content.decode()
    response = erin.post(
        reverse("reviews:campaign_edit", args=[campaign.pk]),
        form(name="Q1 2027 review (Engineering)", departments=["Engineering"], fallback_reviewer=cast.dave.pk),
    )

    assert 'value="Q1 2027 review"' in page, "the form opens with the draft's values"
    campaign.refresh_from_db()
    assert response.status_code == 302
    assert (campaign.name, campaign.departments) == ("Q1 2027 review (Engineering)", ["Engineering"])
    changed = AuditEvent.objects.get(action="campaign.changed")
    assert (changed.before["name"], changed.after["name"]) == ("Q1 2027 review", "Q1 2027 review (Engineering)")
    assert (changed.before["departments"], changed.after["departments"]) == ([], ["Engineering"])


def test_only_governance_admins_edit_a_draft(cast):
    draft = Campaign.objects.create(name="Q4", owner=cast.erin, due_at=timezone.now() + timedelta(days=14))

    for person in (cast.bob, cast.frank):
        response = as_person(person).post(reverse("reviews:campaign_edit", args=[draft.pk]), form(name="Mine"))
        assert response.status_code == 403
    assert Campaign.objects.get(pk=draft.pk).name == "Q4"


def test_a_repeat_that_cannot_launch_stays_a_draft_that_says_why_and_its_owner_is_told(cast, holdings):
    Campaign.objects.create(
        name="Quarterly",
        owner=cast.erin,
        due_at=timezone.now() - timedelta(days=80),
        repeat_months=3,
        next_run_at=timezone.now() - timedelta(minutes=1),
    )

    assert tasks.repeat_templates() == 1

    run = Campaign.objects.get(template__isnull=False)
    assert (run.state, run.launch_requested_at) == ("draft", None)
    assert run.launch_error.startswith("Name a fallback reviewer other than the campaign owner")
    assert Notification.objects.get(kind=Notification.Kind.CAMPAIGN_LAUNCH_FAILED).about_campaign == run.pk


def test_a_repeat_that_can_launch_is_queued_like_a_launch_from_the_page(cast, holdings):
    Campaign.objects.create(
        name="Quarterly",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        due_at=timezone.now() - timedelta(days=80),
        repeat_months=3,
        next_run_at=timezone.now() - timedelta(minutes=1),
    )

    with tasks_queued() as queued:
        tasks.repeat_templates()

    run = Campaign.objects.get(template__isnull=False)
    assert run.launch_requested_at is not None and [name for name, _ in queued] == ["reviews.launch_fresh"]
    assert queued[0][1][0] == run.pk
