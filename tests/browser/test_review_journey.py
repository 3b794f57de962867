"""A reviewer works through a campaign in headless Chromium; after sign-off the revoked access is gone from AWS."""

import re
from datetime import timedelta

import boto3
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access.models import Grant
from iam.apply import sync
from iam.aws import gateway
from reviews import services
from reviews.models import Campaign
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.test_request_journey import RESULTS
from tests.browser.test_review_keyboard import sign_in


@pytest.fixture
def campaign_with_items(cast, sandbox, aws, moto_server):
    """Alice and Carol (a leaver) hold Developers in AWS; Bob reviews both (he manages them)."""
    cast.carol.manager = cast.bob
    cast.carol.employment_status = cast.carol.EmploymentStatus.LEAVER
    cast.carol.save()
    readonly = sandbox.developers.__class__.objects.create(
        account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low"
    )
    readonly.owners.set([cast.carol])
    gateway.ensure_group(aws, "ReadOnly")
    for person, entitlement in [(cast.alice, sandbox.developers), (cast.alice, readonly), (cast.carol, readonly)]:
        grant = Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)
        sync.sync_grant(grant.pk)
    campaign = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=campaign.pk, actor=cast.erin)


def groups(moto_server, user_name):
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    return {group["GroupName"] for group in iam.list_groups_for_user(UserName=user_name)["Groups"]}


@pytest.mark.django_db(transaction=True)
def test_reviewer_accepts_recommendations_revokes_one_and_sign_off_removes_it(
    browser, live_server, cast, campaign_with_items, moto_server, celery_worker
):
    bob = sign_in(browser, live_server, cast.bob)
    bob.get_by_role("link", name="Reviews").click()
    bob.get_by_role("link", name="Q4 review").click()
    expect(bob.get_by_test_id("progress").first).to_have_text("0 of 3 decided")
    assert_accessible_at_both_widths(bob, "a reviewer's queue")

    bob.get_by_label("Recommendation").select_option("revoke")
    bob.get_by_role("button", name="Filter").click()
    expect(bob.locator("tbody tr")).to_have_count(1)
    bob.get_by_label("All 1 that match").check()
    bob.get_by_role("button", name=re.compile("Accept recommendations")).click()
    expect(bob.get_by_role("alert")).to_contain_text("Accepted the recommendation on 1 items.")
    assert_accessible(bob, "the queue after accepting recommendations")

    bob.get_by_label("Recommendation").select_option("")
    bob.get_by_role("button", name="Filter").click()
    row = bob.get_by_test_id("item-alice@example.com-Developers")
    row.get_by_role("checkbox").check()
    bob.get_by_label("Why revoke (required)").fill("Alice moved to the data team")
    bob.get_by_role("button", name="Revoke selected").click()
    expect(bob.get_by_role("alert")).to_contain_text("Revoked 1 items.")
    assert_accessible_at_both_widths(bob, "the queue after a revocation")

    erin = sign_in(browser, live_server, cast.erin)
    erin.goto(f"/reviews/campaigns/{campaign_with_items.pk}/")
    erin.get_by_role("button", name="Sign off").click()
    expect(erin.get_by_role("alert")).to_contain_text("is signed off")
    for _ in range(60):  # the worker removes the access; the page reads the remediation back
        erin.reload()
        if (
            erin.get_by_test_id("revoked-alice@example.com")
            .get_by_test_id("remediation")
            .inner_text()
            .startswith("Removed")
        ):
            break
        erin.wait_for_timeout(500)
    expect(erin.get_by_test_id("revoked-alice@example.com").get_by_test_id("remediation")).to_have_text(
        "Removed (read back from AWS)"
    )
    assert_accessible_at_both_widths(erin, "a signed-off campaign with its remediation read back")
    RESULTS.mkdir(parents=True, exist_ok=True)
    erin.screenshot(path=str(RESULTS / "review-signed-off.png"), full_page=True)
    assert groups(moto_server, "alice") == {"ReadOnly"}, "kept by Bob's undecided rule: keep"
    assert groups(moto_server, "carol") == set(), "the leaver's access, revoked on the recommendation"
