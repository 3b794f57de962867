"""Reviewers work a two-stage campaign from the keyboard in headless Chromium.

Bob (Alice's manager) keeps one line with `a` and revokes the other with `r`, a reason and Enter; the
kept line goes on to Carol, who owns the entitlement and confirms it from the keyboard as well.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access.models import Grant
from reviews import services
from reviews.models import Campaign, ReviewItem
from tests.browser import signing_in
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.test_request_journey import RESULTS


def sign_in(browser, live_server, person):
    return signing_in.sign_in(browser, live_server, person.email, height=900)


@pytest.fixture
def campaign(cast, sandbox):
    """Alice holds Developers and Read-only, both owned by Carol; the campaign has a second stage."""
    readonly = sandbox.developers.__class__.objects.create(
        account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low"
    )
    readonly.owners.set([cast.carol])
    for entitlement in (sandbox.developers, readonly):
        Grant.objects.create(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN)
    draft = Campaign.objects.create(
        name="Q1 review",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        second_stage=True,
        due_at=timezone.now() + timedelta(days=14),
    )
    return services.launch(campaign_id=draft.pk, actor=cast.erin)


@pytest.mark.django_db(transaction=True)
def test_reviewers_keep_revoke_and_confirm_with_the_keyboard(browser, live_server, cast, campaign):
    bob = sign_in(browser, live_server, cast.bob)
    bob.get_by_role("link", name="Reviews").click()
    bob.get_by_role("link", name="Q1 review").click()
    expect(bob.get_by_test_id("progress").first).to_have_text("0 of 2 decided")
    developers = bob.get_by_test_id("item-alice@example.com-Developers")
    readonly = bob.get_by_test_id("item-alice@example.com-ReadOnly")
    expect(developers.get_by_test_id("stage")).to_contain_text("Stage 1 of 2")
    expect(developers.get_by_role("button", name=re.compile("^Keep"))).to_have_attribute("aria-keyshortcuts", "a")

    bob.wait_for_load_state()
    bob.keyboard.press("?")
    keys = bob.get_by_role("region", name="Keyboard shortcuts")
    expect(keys).to_be_visible()
    expect(keys).to_contain_text("Keep the line")
    expect(bob.get_by_role("button", name="Keyboard shortcuts")).to_have_attribute("aria-expanded", "true")
    assert_accessible_at_both_widths(bob, "the queue with its keyboard shortcuts shown")
    RESULTS.mkdir(parents=True, exist_ok=True)
    bob.screenshot(path=str(RESULTS / "review-keyboard-help.png"), full_page=True)
    bob.keyboard.press("Escape")
    expect(keys).to_be_hidden()

    bob.keyboard.press("j")
    expect(developers).to_have_attribute("aria-current", "true")
    expect(developers).to_be_focused()
    assert_accessible(bob, "the queue with a line chosen from the keyboard")
    bob.keyboard.press("a")
    expect(bob.get_by_role("alert")).to_contain_text(
        "Kept 1 items. 1 went on to the entitlement's owner for the second stage."
    )
    expect(bob.get_by_test_id("progress").first).to_have_text("1 of 2 decided")
    expect(readonly).to_have_attribute("aria-current", "true")  # the next line takes the kept one's place

    bob.keyboard.press("r")
    reason = readonly.get_by_label(re.compile("Reason to revoke"))
    expect(reason).to_be_focused()
    assert_accessible(bob, "the queue asking for a reason to revoke")
    bob.keyboard.type("Alice moved to the data team")
    bob.keyboard.press("Enter")
    expect(bob.get_by_role("alert")).to_contain_text("Revoked 1 items.")
    expect(bob.get_by_test_id("progress").first).to_have_text("2 of 2 decided")

    bob.get_by_label("Show").select_option("1")
    bob.get_by_role("button", name="Filter").click()
    expect(bob).to_have_url(re.compile(r"all=1"))
    bob.wait_for_load_state()  # the page's keys listen once its scripts have run
    bob.keyboard.press("j")
    bob.keyboard.press("x")
    expect(bob.get_by_test_id("item-alice@example.com-ReadOnly").get_by_role("checkbox")).to_be_checked()
    assert_accessible_at_both_widths(bob, "every line of the queue, one selected")

    carol = sign_in(browser, live_server, cast.carol)
    carol.goto(f"/reviews/{campaign.pk}/")
    line = carol.get_by_test_id("item-alice@example.com-Developers")
    expect(line.get_by_test_id("stage")).to_contain_text("Stage 2 of 2: owner")
    expect(line.get_by_test_id("stage")).to_contain_text("Kept by Bob Manager")
    assert_accessible_at_both_widths(carol, "the owner's queue at the second stage")
    carol.screenshot(path=str(RESULTS / "review-second-stage.png"), full_page=True)
    carol.keyboard.press("j")
    expect(line).to_have_attribute("aria-current", "true")
    carol.keyboard.press("a")
    expect(carol.get_by_role("alert")).to_contain_text("Kept 1 items.")

    developers_line = ReviewItem.objects.get(campaign=campaign, entitlement__aws_name="Developers")
    assert (developers_line.stage, developers_line.decision, developers_line.decided_by) == (2, "keep", cast.carol)
    assert (developers_line.first_decision, developers_line.first_decided_by) == ("keep", cast.bob)
    readonly_line = ReviewItem.objects.get(campaign=campaign, entitlement__aws_name="ReadOnly")
    assert (readonly_line.stage, readonly_line.decision, readonly_line.comment) == (
        1,
        "revoke",
        "Alice moved to the data team",
    )
