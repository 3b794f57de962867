"""Erin, a governance admin, runs a quarterly access review from the portal's menus alone, in headless
Chromium: define it with a second stage, preview it, launch it, follow it (a lagging reviewer reminded and
escalated), sign it off and download the evidence, never opening /admin/. Each page is also photographed at
1280 and 390 px wide (into test-results/screenshots, or the folder SCREENS_DIR names: `SCREENS_DIR=docs/screens`
refreshes the docs).
"""

import csv
import io
import os
import re
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access.models import Grant
from catalog.models import Entitlement
from iam.apply import sync
from iam.aws import gateway
from notifications.models import Notification
from reviews import services
from reviews.models import Campaign
from reviews.reminders import escalate_reviewers, remind_reviewers
from tests.browser import signing_in
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.test_request_journey import RESULTS

SCREENS = Path(os.environ.get("SCREENS_DIR", RESULTS))
# Every form control a person fills has a label (its own, or a fieldset's legend for a group); none unnamed.
UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.name)"""


def photograph(page, name: str) -> None:
    """The page as it is, at desktop and phone widths; and every page photographed meets WCAG 2.2 AA at both."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert_accessible_at_both_widths(page, name)


def open_access_reviews(page) -> None:
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("button", name="Governance").click()
    menu.get_by_role("link", name="Access reviews").click()
    expect(page.get_by_role("heading", name="Access reviews")).to_be_visible()


@pytest.fixture
def holdings(cast, sandbox, aws):
    """Alice holds Developers and Read-only in AWS, both owned by Carol; Bob is her manager."""
    readonly = Entitlement.objects.create(account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low")
    readonly.owners.set([cast.carol])
    gateway.ensure_group(aws, "ReadOnly")
    for entitlement in (sandbox.developers, readonly):
        grant = Grant.objects.create(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN)
        sync.sync_grant(grant.pk)
    return readonly


@pytest.mark.django_db(transaction=True)
def test_a_governance_admin_runs_a_quarterly_two_stage_review_from_the_menus(
    browser, live_server, cast, holdings, celery_worker
):
    erin = signing_in.sign_in(browser, live_server, cast.erin.email, height=900)
    visited = []
    erin.on("request", lambda request: visited.append(request.url))

    open_access_reviews(erin)
    assert_accessible_at_both_widths(erin, "no campaigns yet")
    erin.get_by_role("link", name="New campaign").click()
    expect(erin.get_by_role("heading", name="New access review campaign")).to_be_visible()
    assert erin.evaluate(UNLABELLED) == []
    erin.get_by_label("Name", exact=True).fill("Q1 2027 access review")
    erin.get_by_label("Due date", exact=True).fill(
        (timezone.localtime() + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
    )
    erin.get_by_label("Sandbox (123456789012)").check()
    erin.get_by_label("The holder's manager").check()
    erin.get_by_label(re.compile("^Second stage")).check()
    erin.get_by_label("Fallback reviewer", exact=True).select_option(label="Dave Othermanager (dave@example.com)")
    erin.get_by_label("Revoke the access").check()
    erin.get_by_label("Repeat", exact=True).select_option(label="Every quarter")
    photograph(erin, "review-campaign-form")
    erin.get_by_role("button", name="Save draft and preview").click()

    expect(erin.get_by_role("alert").first).to_contain_text("is saved as a draft")
    expect(erin.get_by_test_id("preview-count")).to_have_text("2")
    expect(erin.get_by_test_id("load-bob@example.com")).to_contain_text("2")
    expect(erin.get_by_test_id("load-carol@example.com")).to_contain_text("2")
    expect(erin.get_by_test_id("preview-fallback")).to_have_text("0")
    previewed_hash = erin.get_by_test_id("preview-hash").inner_text()
    photograph(erin, "review-campaign-preview")
    erin.get_by_role("button", name="Launch").click()

    # The page follows the worker's launch by itself, then shows the running campaign.
    expect(erin.get_by_test_id("campaign-progress")).to_contain_text("0 of 2 lines decided", timeout=60_000)
    campaign = Campaign.objects.get(name="Q1 2027 access review")
    assert (campaign.state, campaign.population_hash, campaign.repeat_months) == ("active", previewed_hash, 3)
    assert Notification.objects.filter(kind="review_started", recipient=cast.bob).count() == 1

    # Half a day before the due date beat reminds Bob, who has decided nothing, and escalates him: he has
    # no manager, so Erin, the campaign's owner, is told. Her campaign page shows both.
    near_the_due_date = campaign.due_at - timedelta(hours=12)
    remind_reviewers(now=near_the_due_date)
    escalate_reviewers(now=near_the_due_date)
    erin.reload()
    bob_followed_up = erin.get_by_test_id("follow-up-bob@example.com")
    expect(bob_followed_up.get_by_test_id("undecided")).to_have_text("2 of 2 undecided")
    expect(bob_followed_up.get_by_test_id("reminded")).to_contain_text("reminded ")
    expect(bob_followed_up.get_by_test_id("escalated")).to_contain_text("escalated to Erin Admin")
    photograph(erin, "review-campaign-escalated")

    # Bob keeps both lines (they go on to Carol, the owner); Carol keeps Developers and revokes Read-only.
    lines = list(campaign.items.values_list("pk", flat=True))
    services.decide(campaign_id=campaign.pk, item_ids=lines, actor=cast.bob, decision="keep", comment="")
    readonly_line = campaign.items.get(entitlement=holdings).pk
    developers_line = campaign.items.exclude(pk=readonly_line).get().pk
    services.decide(campaign_id=campaign.pk, item_ids=[developers_line], actor=cast.carol, decision="keep", comment="")
    services.decide(
        campaign_id=campaign.pk, item_ids=[readonly_line], actor=cast.carol, decision="revoke", comment="Unused"
    )

    open_access_reviews(erin)
    row = erin.get_by_test_id("campaign-Q1 2027 access review")
    expect(row).to_contain_text("2 of 2 decided")
    expect(row).to_contain_text("Repeats every 3 months")
    photograph(erin, "review-campaigns")
    row.get_by_role("link", name="Q1 2027 access review").click()
    expect(erin.get_by_test_id("campaign-progress")).to_contain_text("2 of 2 lines decided")
    photograph(erin, "review-campaign-active")
    erin.get_by_role("button", name="Sign off").click()
    expect(erin.get_by_role("alert").first).to_contain_text("is signed off")
    assert_accessible(erin, "a signed-off campaign")

    with erin.expect_download() as csv_download:
        erin.get_by_role("link", name="Evidence pack (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8"))))
    assert any("Unused" in row for row in rows)
    assert not any("Unable to parse" in cell for row in rows for cell in row)
    with erin.expect_download() as pdf_download:
        erin.get_by_role("link", name="Evidence pack (PDF)").click()
    assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF")
    assert pdf_download.value.suggested_filename == f"review-{campaign.pk}-evidence.pdf"
    # A pack built by the worker: its page's progress bar updates by itself until the download is offered.
    erin.get_by_role("button", name="Build the PDF pack").click()
    with erin.expect_download(timeout=120_000) as built_download:
        erin.get_by_test_id("evidence-pack-download").click(timeout=120_000)
    assert Path(built_download.value.path()).read_bytes().startswith(b"%PDF")
    assert not [url for url in visited if "/admin/" in url], "never opened the Django admin"


@pytest.mark.django_db(transaction=True)
def test_a_campaign_that_cannot_launch_says_why_before_and_after_launch(
    browser, live_server, cast, sandbox, celery_worker, settings
):
    erin = signing_in.sign_in(browser, live_server, cast.erin.email, height=900)
    open_access_reviews(erin)
    erin.get_by_role("link", name="New campaign").click()
    erin.get_by_label("Name", exact=True).fill("Leavers review")
    erin.get_by_label("Due date", exact=True).fill(
        (timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    )
    # Keyboard only from here: tab to the submit button and press Enter.
    for _ in range(120):
        erin.keyboard.press("Tab")
        if erin.evaluate("document.activeElement.textContent.trim()") == "Save draft and preview":
            break
    erin.keyboard.press("Enter")

    refusal = erin.get_by_test_id("preview-refusal")
    expect(refusal).to_contain_text("Name a fallback reviewer other than the campaign owner")
    expect(erin.get_by_role("button", name="Launch")).to_be_disabled()
    photograph(erin, "review-campaign-refused")

    # With a fallback reviewer it may launch; but AWS cannot be reached, and the page says so by itself.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{closed.getsockname()[1]}"
    settings.AWS_MAX_ATTEMPTS = 1
    erin.get_by_role("link", name="Edit").click()
    erin.get_by_label("Fallback reviewer", exact=True).select_option(label="Dave Othermanager (dave@example.com)")
    erin.get_by_role("button", name="Save draft and preview").click()
    erin.get_by_role("button", name="Launch").click()
    failed = erin.get_by_test_id("launch-error")
    expect(failed).to_contain_text("Reading the account Sandbox (123456789012) from AWS failed", timeout=60_000)
    erin.reload()  # the owner was told too: the bell counts it
    expect(erin.get_by_role("link", name="Notifications: 1 unread")).to_be_visible()
    photograph(erin, "review-campaign-launch-failed")
