"""Erin, a governance admin, marks a leaver from the portal's menus alone, in headless Chromium: finds
Alice under Governance → People, opens her, reads exactly what will be removed, confirms, and watches the
worker take her access out of (simulated) AWS until every removal is read back, never opening /admin/.
Each page is photographed at 1280 and 390 px wide (`SCREENS_DIR=docs/screens` refreshes the docs).
"""

import boto3
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access import services
from access.models import Grant
from accounts.tokens import issue_token
from catalog.models import Entitlement
from iam.apply import sync
from iam.aws import gateway
from tests.browser import signing_in
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.test_governance_console import UNLABELLED, photograph

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def alice_holds(cast, sandbox, aws):
    """Alice holds Developers and Read-only in AWS, is waiting for Deployers, and has an API token."""
    readonly = Entitlement.objects.create(account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low")
    deployers = Entitlement.objects.create(account=sandbox.account, aws_name="Deployers", name="Deployers")
    for entitlement in (readonly, deployers):
        entitlement.owners.set([cast.carol])
        gateway.ensure_group(aws, entitlement.aws_name)
    for entitlement in (sandbox.developers, readonly):
        grant = Grant.objects.create(
            user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN, granted_at=timezone.now()
        )
        sync.sync_grant(grant.pk)  # applied and read back before the journey starts
    services.submit_request(requester=cast.alice, entitlement=deployers, justification=GOOD_REASON)
    issue_token(person=cast.alice, name="build laptop", second_factor=False)
    assert set(Grant.objects.filter(user=cast.alice).values_list("sync_state", flat=True)) == {"applied"}


def groups_of(moto_server, user_name: str) -> list[str]:
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    return sorted(group["GroupName"] for group in iam.list_groups_for_user(UserName=user_name)["Groups"])


@pytest.mark.django_db(transaction=True)
def test_a_governance_admin_marks_a_leaver_and_watches_the_removal_read_back_from_aws(
    browser, live_server, cast, alice_holds, moto_server, celery_worker
):
    assert groups_of(moto_server, "alice") == ["Developers", "ReadOnly"]
    erin = signing_in.sign_in(browser, live_server, cast.erin.email, height=900)
    visited = []
    erin.on("request", lambda request: visited.append(request.url))

    menu = erin.get_by_role("navigation", name="Main")
    menu.get_by_role("button", name="Governance").click()
    menu.get_by_role("link", name="People").click()
    expect(erin.get_by_role("heading", name="People", exact=True)).to_be_visible()
    assert erin.evaluate(UNLABELLED) == []
    photograph(erin, "people")

    erin.get_by_label("Name or email").fill("alice")
    erin.get_by_role("button", name="Search").click()
    row = erin.get_by_test_id("person-alice@example.com")
    expect(row.get_by_test_id("active-grants")).to_have_text("2")
    expect(erin.get_by_test_id("count")).to_contain_text("1 person")
    assert_accessible(erin, "people found by a search")
    row.get_by_role("link", name="Alice Engineer").click()

    expect(erin.get_by_role("heading", name="Alice Engineer")).to_be_visible()
    expect(erin.get_by_test_id("held-Developers")).to_contain_text("Active")
    expect(erin.get_by_test_id("held-ReadOnly")).to_contain_text("Active")
    expect(erin.get_by_role("heading", name="Open requests")).to_be_visible()
    photograph(erin, "person")
    erin.get_by_role("link", name="Mark as leaver").click()

    expect(erin.get_by_role("heading", name="Mark Alice Engineer as a leaver")).to_be_visible()
    expect(erin.get_by_text("This cannot be undone.")).to_be_visible()
    expect(erin.get_by_test_id("will-remove-grants")).to_contain_text("Access in AWS: 2 grants")
    expect(erin.get_by_test_id("will-remove-Developers")).to_contain_text("Sandbox")
    expect(erin.get_by_test_id("will-remove-ReadOnly")).to_be_visible()
    expect(erin.get_by_test_id("will-cancel-requests")).to_contain_text("Deployers")
    expect(erin.get_by_test_id("will-delete-tokens")).to_contain_text("build laptop")
    assert erin.evaluate(UNLABELLED) == []
    photograph(erin, "leaver-confirm")

    # Sent without the box ticked: refused, and nothing changed.
    erin.get_by_role("button", name="Mark as leaver and remove all access").click()
    expect(erin.locator(".invalid-feedback")).to_contain_text("Tick the box to confirm")
    assert_accessible_at_both_widths(erin, "a leaver refused without the box ticked")
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver

    erin.get_by_label("I understand that this removes all of their access and cannot be undone.").check()
    erin.get_by_role("button", name="Mark as leaver and remove all access").click()
    expect(erin.get_by_role("alert").first).to_contain_text("Alice Engineer is a leaver")
    expect(erin.get_by_test_id("person-state")).to_have_text("Leaver")
    assert_accessible(erin, "a leaver's removal under way")

    # The page polls while the worker removes each group and reads it back.
    summary = erin.get_by_test_id("removal-summary")
    expect(summary).to_contain_text("All removed and verified: 2 of 2", timeout=60_000)
    expect(erin.get_by_test_id("removal-Developers")).to_contain_text("Removed and verified")
    expect(erin.get_by_test_id("removal-ReadOnly")).to_contain_text("Removed and verified")
    photograph(erin, "leaver-progress")

    assert groups_of(moto_server, "alice") == []
    assert set(Grant.objects.filter(user=cast.alice).values_list("sync_state", flat=True)) == {"revoked"}
    assert not [url for url in visited if "/admin/" in url], "never opened the Django admin"
