"""Browser journeys for the request workflow: a cart of two, mixed decisions, and a two-stage approval."""

import re

import boto3
import pytest
from playwright.sync_api import expect

from catalog.models import Entitlement
from iam.aws import gateway
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.test_request_journey import RESULTS, sign_in


@pytest.fixture
def more_groups(cast, sandbox, aws):
    made = {}
    for aws_name, name, risk in [("ReadOnly", "Read-only", "low"), ("Deployers", "Deployers", "medium")]:
        made[aws_name] = Entitlement.objects.create(account=sandbox.account, aws_name=aws_name, name=name, risk=risk)
        made[aws_name].owners.set([cast.carol])
        gateway.ensure_group(aws, aws_name)
    return made


@pytest.mark.django_db(transaction=True)
def test_cart_of_two_then_manager_approves_one_and_denies_the_other(browser, live_server, cast, sandbox, more_groups):
    alice = sign_in(browser, live_server, "alice@example.com")
    alice.goto("/catalog/")
    for aws_name in ("Developers", "ReadOnly"):
        alice.get_by_test_id(f"entitlement-{aws_name}").get_by_role("button", name="Add to request").click()
        expect(alice.get_by_role("alert").last).to_contain_text("is in your request")
    assert_accessible(alice, "the catalog with two entitlements added to the request")
    alice.get_by_role("link", name=re.compile("Your request")).first.click()
    expect(alice.get_by_test_id("cart-Developers")).to_be_visible()
    expect(alice.get_by_test_id("cart-ReadOnly")).to_be_visible()
    assert_accessible_at_both_widths(alice, "the request of two, before it is sent")
    alice.get_by_label("Why do you need this access?").fill("Onboarding to the payments team this sprint")
    alice.get_by_role("button", name="Send 2 requests").click()
    expect(alice.get_by_role("alert")).to_contain_text("2 requests sent for approval: Developers, Read-only.")
    assert_accessible(alice, "two requests sent")

    bob = sign_in(browser, live_server, "bob@example.com")
    bob.goto("/approvals/")
    developers_row = bob.locator("tr", has_text="Developers")
    readonly_row = bob.locator("tr", has_text="Read-only")
    developers_row.get_by_role("button", name="Approve").click()
    expect(developers_row).to_contain_text("You approved Developers for Alice Engineer.")  # inline, no reload
    readonly_row.get_by_label(re.compile("Comment on request")).fill("Developers is enough for now")
    readonly_row.get_by_role("button", name="Deny").click()
    expect(readonly_row).to_contain_text("You denied Read-only for Alice Engineer.")
    assert_accessible_at_both_widths(bob, "the inbox after an inline approval and an inline denial")

    alice.goto("/requests/")

    def card(name):
        return alice.locator(".card", has=alice.get_by_role("heading", name=re.compile(f"^{name}")))

    expect(card("Read-only")).to_contain_text("Denied by Bob Manager: Developers is enough")
    expect(card("Developers")).to_contain_text("Approved by Bob Manager")
    assert_accessible_at_both_widths(alice, "my requests, one approved and one denied")


@pytest.mark.django_db(transaction=True)
def test_owner_completes_a_two_stage_approval(
    browser, live_server, cast, sandbox, more_groups, moto_server, celery_worker
):
    alice = sign_in(browser, live_server, "alice@example.com")
    alice.goto("/catalog/")
    alice.get_by_test_id("entitlement-Deployers").get_by_role("link", name="Request").click()
    expect(alice.get_by_label("Approval chain")).to_contain_text("Entitlement owner: Carol Owner")
    assert_accessible_at_both_widths(alice, "the request form with a two-stage approval chain")
    alice.get_by_label("Why do you need this access?").fill("Releasing the billing service on Friday")
    alice.get_by_role("button", name="Send request").click()

    bob = sign_in(browser, live_server, "bob@example.com")
    bob.goto("/approvals/")
    bob.locator("tr", has_text="Deployers").get_by_role("button", name="Approve").click()
    expect(bob.locator("tr", has_text="Deployers")).to_contain_text("It now goes to the next approval stage.")
    assert_accessible(bob, "the inbox after a first-stage approval")

    carol = sign_in(browser, live_server, "carol@example.com")
    carol.goto("/approvals/")
    row = carol.locator("tr", has_text="Deployers")
    expect(row).to_contain_text("Stage 2 of 2: entitlement owner")
    assert_accessible_at_both_widths(carol, "the owner's inbox at the second stage")
    row.get_by_role("button", name="Approve").click()
    expect(row).to_contain_text("You approved Deployers for Alice Engineer.")

    alice.goto("/access/")
    expect(alice.get_by_test_id("grant-Deployers").get_by_test_id("sync-state")).to_have_text("Active", timeout=30_000)
    alice.goto("/requests/")
    card = alice.locator(".card", has_text="Deployers")
    expect(card).to_contain_text("Approved by Bob Manager")
    expect(card).to_contain_text("Approved by Carol Owner")
    expect(card).to_contain_text("Active in AWS (read back)")
    assert_accessible_at_both_widths(alice, "a two-stage request's timeline")
    RESULTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(RESULTS / "two-stage-timeline.png"), full_page=True)
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    assert [group["GroupName"] for group in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["Deployers"]
