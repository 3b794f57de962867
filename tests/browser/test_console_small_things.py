"""In the browser: the Approvals badge follows an inline decision, and an auditor reads the audit log
in words and filters it by person and entitlement with the pickers (photographed at 1280 and 390 px)."""

import re

import pytest
from django.db import transaction
from playwright.sync_api import expect

from access import services
from audit.services import record
from catalog.models import Entitlement
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.signing_in import sign_in
from tests.browser.test_governance_console import photograph

REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def two_requests(cast, sandbox):
    read_only = Entitlement.objects.create(account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low")
    return [
        services.submit_request(requester=cast.alice, entitlement=entitlement, justification=REASON)
        for entitlement in (sandbox.developers, read_only)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_approvals_badge_counts_down_after_an_inline_decision(browser, live_server, cast, two_requests):
    developers, read_only = two_requests
    bob = sign_in(browser, live_server, "bob@example.com")
    menu = bob.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name=re.compile("Approvals")).click()
    # Inline decisions are htmx's: a click before its script has run posts the whole page instead (a busy
    # machine). Each row is found by its request, since Alice's holdings on the other row name Developers
    # once it is approved.
    bob.wait_for_load_state("load")
    badge = menu.locator("#nav-approvals-badge")
    expect(badge).to_have_text("2")

    bob.get_by_test_id(f"request-{developers.pk}").get_by_role("button", name="Approve").click()

    expect(bob.get_by_test_id(f"request-{developers.pk}")).to_contain_text("You approved Developers")
    expect(badge).to_have_text("1")
    assert_accessible(bob, "the inbox and its badge after an inline approval")
    bob.get_by_test_id(f"request-{read_only.pk}").get_by_role("button", name="Approve").click()
    expect(badge).to_have_text("")


@pytest.mark.django_db(transaction=True)
def test_an_employee_sees_no_approvals_or_reviews_menu(browser, live_server, cast, sandbox):
    alice = sign_in(browser, live_server, "alice@example.com")
    menu = alice.get_by_role("navigation", name="Main")

    expect(menu.get_by_role("link", name="My access")).to_be_visible()
    expect(menu.get_by_role("link", name=re.compile("Approvals"))).to_have_count(0)
    expect(menu.get_by_role("link", name=re.compile("Reviews"))).to_have_count(0)
    assert_accessible_at_both_widths(alice, "an employee's home page")

    # Typed by hand, the governance pages are refused, and a page that does not exist is not found: in words.
    alice.goto("/people/")
    expect(alice.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert_accessible_at_both_widths(alice, "the 403 page")
    alice.goto("/catalog/999999/")
    expect(alice.get_by_role("heading", name="Not found")).to_be_visible()
    assert_accessible_at_both_widths(alice, "the 404 page")


@pytest.mark.django_db(transaction=True)
def test_an_auditor_reads_the_log_in_words_and_filters_it_by_person_and_entitlement(
    browser, live_server, cast, sandbox, two_requests
):
    services.approve(request_id=two_requests[0].pk, actor=cast.bob)
    with transaction.atomic():
        record(actor=cast.erin, action="catalog.entitlement_changed", obj=sandbox.breakglass, after={"risk": "high"})
    frank = sign_in(browser, live_server, "frank@example.com")
    menu = frank.get_by_role("navigation", name="Main")
    menu.get_by_role("button", name="Governance").click()
    menu.get_by_role("link", name="Audit log").click()
    expect(frank.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(frank.locator("main")).to_contain_text("Alice Engineer — Developers (IAM group, 123456789012)")

    person = frank.get_by_label("Person")
    person.press_sequentially("alic")
    expect(frank.locator("#person-options option")).to_have_count(1)  # the picker offers Alice
    person.fill("alice@example.com")
    frank.get_by_role("button", name="Filter").click()

    expect(frank.get_by_test_id("count")).to_contain_text("events")
    expect(frank.locator("main")).not_to_contain_text("Break-glass admins")
    expect(frank.locator("main table")).to_contain_text("Request #")
    photograph(frank, "audit-log")

    frank.get_by_role("link", name="Clear").click()
    entitlement = frank.get_by_label("Entitlement")
    entitlement.press_sequentially("break")
    option = frank.locator("#entitlement-options option")
    expect(option).to_have_count(1)
    entitlement.fill(option.get_attribute("value"))
    frank.get_by_role("button", name="Filter").click()
    expect(frank.get_by_test_id("count")).to_have_text("1 event, newest first.")
    link = frank.get_by_role("link", name="Break-glass admins (IAM group, 123456789012)")
    expect(link).to_be_visible()
    frank.locator("main tbody tr").first.locator("td").first.get_by_role("link").click()  # the event itself
    expect(frank.get_by_test_id("changes")).to_contain_text("risk")
    assert_accessible_at_both_widths(frank, "an audit event in words")


@pytest.mark.django_db(transaction=True)
def test_an_auditor_walks_back_through_the_log_and_returns(browser, live_server, cast, sandbox):
    with transaction.atomic():
        for number in range(60):
            record(actor=cast.erin, action="test.listed", obj=sandbox.account, after={"n": number})
    frank = sign_in(browser, live_server, "frank@example.com")
    frank.goto("/audit/?action=test.")
    pages = frank.get_by_role("navigation", name="Pages of events")
    expect(frank.locator("main tbody tr")).to_have_count(25)
    expect(pages.get_by_role("link", name="Newer")).to_have_count(0)
    first_number = frank.locator("main tbody tr").first.locator("td").first
    newest = first_number.inner_text()

    pages.get_by_role("link", name="Older").click()
    pages.get_by_role("link", name="Older").click()

    expect(frank.locator("main tbody tr")).to_have_count(10)  # the oldest ten of the sixty
    expect(pages.get_by_role("link", name="Older")).to_have_count(0)
    expect(frank).to_have_url(re.compile(r"action=test\."))  # the filter goes with the links
    assert_accessible_at_both_widths(frank, "the oldest page of the audit log")
    pages.get_by_role("link", name="Newest").click()
    expect(first_number).to_have_text(newest)
