"""Two people click through the first path in headless Chromium: request, approve, active in AWS."""

import re
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.signing_in import sign_in

RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


@pytest.mark.django_db(transaction=True)
def test_employee_requests_manager_approves_and_access_goes_live(
    browser, live_server, cast, sandbox, aws, moto_server, celery_worker
):
    alice = sign_in(browser, live_server, "alice@example.com")
    alice.get_by_role("link", name="Request access").click()
    assert_accessible_at_both_widths(alice, "the catalog")
    alice.get_by_test_id("entitlement-Developers").get_by_role("link", name="Request").click()
    alice.get_by_role("button", name="Send request").click()
    expect(alice.locator(".invalid-feedback")).to_contain_text("Explain why you need this access.")
    assert_accessible_at_both_widths(alice, "the request form, refused without a reason")
    alice.get_by_label("Why do you need this access?").fill("Deploying the billing service for the Q4 release")
    alice.get_by_role("button", name="Send request").click()
    expect(alice.get_by_role("alert")).to_contain_text("Your request for Developers was sent for approval.")
    assert_accessible(alice, "the request sent")

    bob = sign_in(browser, live_server, "bob@example.com")
    bob.get_by_role("link", name=re.compile("Approvals")).click()
    row = bob.locator("tr", has_text="Alice Engineer")
    expect(row).to_contain_text("Deploying the billing service")
    assert_accessible_at_both_widths(bob, "the approvals inbox")
    row.get_by_label(re.compile("Comment on request")).fill("Fine for the release")
    row.get_by_role("button", name="Approve").click()
    expect(row).to_contain_text("You approved Developers for Alice Engineer.")  # answered inline by htmx
    assert_accessible_at_both_widths(bob, "the inbox after an inline approval")

    alice.get_by_role("link", name="My access").click()
    state = alice.get_by_test_id("grant-Developers").get_by_test_id("sync-state")
    expect(state).to_have_text("Active", timeout=30_000)  # htmx polls until the worker has read it back
    assert_accessible_at_both_widths(alice, "my access, read back")
    RESULTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(RESULTS / "my-access.png"), full_page=True)

    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    assert [group["GroupName"] for group in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["Developers"]
