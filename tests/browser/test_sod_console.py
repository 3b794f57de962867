"""Erin, a governance admin, writes a separation-of-duties rule from the portal's menus alone, in headless
Chromium: pickers for the entitlement sets, the IAM actions checked as she types, a dry run of the rule
before it is saved, then saved and enabled, never opening /admin/. Alice, an employee, then sees the
conflict on the request form before she sends anything. Pages are photographed at 1280 and 390 px
(`SCREENS_DIR=docs/screens` refreshes the docs).
"""

import re

import pytest
from playwright.sync_api import expect

from access.models import Grant
from catalog.models import Entitlement
from sod.models import SodRule
from tests.browser import signing_in
from tests.browser.accessibility import assert_accessible_at_both_widths
from tests.browser.test_governance_console import UNLABELLED, photograph


@pytest.fixture
def payments(cast, sandbox):
    """Bob holds Create payments and Approve payments already; Alice holds Create payments."""
    made = {}
    for aws_name, name in [("PaymentsCreate", "Create payments"), ("PaymentsApprove", "Approve payments")]:
        made[aws_name] = Entitlement.objects.create(account=sandbox.account, aws_name=aws_name, name=name, risk="low")
        made[aws_name].owners.set([cast.carol])
    for person, entitlement in [
        (cast.bob, made["PaymentsCreate"]),
        (cast.bob, made["PaymentsApprove"]),
        (cast.alice, made["PaymentsCreate"]),
    ]:
        Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)
    return made


def open_sod_rules(page) -> None:
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("button", name="Governance").click()
    menu.get_by_role("link", name="SoD rules").click()
    expect(page.get_by_role("heading", name="Separation-of-duties rules")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_a_governance_admin_writes_tries_and_enables_a_rule_and_requesters_see_it(browser, live_server, cast, payments):
    erin = signing_in.sign_in(browser, live_server, cast.erin.email, height=900)
    visited = []
    erin.on("request", lambda request: visited.append(request.url))

    open_sod_rules(erin)
    erin.get_by_role("link", name="New rule").click()
    expect(erin.get_by_role("heading", name="New separation-of-duties rule")).to_be_visible()
    assert erin.evaluate(UNLABELLED) == []
    erin.get_by_label("Name", exact=True).fill("Create and approve payments")
    erin.get_by_label("Description").fill("One person could pay themselves.")

    # The IAM actions box checks what is typed, in words, as it is typed.
    erin.get_by_role("radio", name="IAM actions held together").check()
    actions = erin.get_by_label("IAM actions, one a line")
    actions.fill("iam::\nlambda:CreateFunction")
    expect(erin.get_by_test_id("action-problems")).to_contain_text("“iam::” has more than one colon")
    assert_accessible_at_both_widths(erin, "a rule's IAM actions checked as typed, with a problem")
    actions.fill("iam:PassRole\nlambda:CreateFunction")
    expect(erin.get_by_test_id("action-ok")).to_contain_text("2 actions, all well formed")

    # This rule is about entitlements: the search box narrows each picker.
    erin.get_by_label("Entitlements from both sets").check()
    erin.get_by_label("Search the entitlements of Set A").fill("create")
    expect(erin.get_by_label("Set A", exact=True).locator("option:not([hidden])")).to_have_count(1)
    erin.get_by_label("Set A", exact=True).select_option(label="Create payments (Sandbox, IAM group)")
    erin.get_by_label("Set B", exact=True).select_option(label="Approve payments (Sandbox, IAM group)")
    erin.get_by_label("Block the request").check()
    erin.get_by_label("Rule owner", exact=True).select_option(label="Dave Othermanager (dave@example.com)")
    photograph(erin, "sod-rule-form")

    erin.get_by_role("button", name="Dry run: who would break it?").click()
    expect(erin.get_by_test_id("dry-run-count")).to_contain_text("1 person")
    expect(erin.get_by_test_id("flagged-bob@example.com")).to_contain_text("Approve payments, Create payments")
    assert not SodRule.objects.exists(), "a dry run saves nothing"
    photograph(erin, "sod-rule-dry-run")

    erin.get_by_role("button", name="Save rule").click()
    expect(erin.get_by_role("alert").first).to_contain_text("Create and approve payments is saved (disabled)")
    erin.get_by_role("button", name="Enable").click()
    expect(erin.get_by_role("alert").first).to_contain_text("is enabled")
    expect(erin.get_by_test_id("rule-state")).to_have_text("Enabled")
    assert_accessible_at_both_widths(erin, "an enabled rule")

    open_sod_rules(erin)
    expect(erin.get_by_test_id("rule-Create and approve payments")).to_contain_text("Enabled")
    photograph(erin, "sod-rules")
    assert not [url for url in visited if "/admin/" in url], "never opened the Django admin"
    rule = SodRule.objects.get()
    assert (rule.enabled, rule.enforcement, rule.owner) == (True, "block", cast.dave)

    alice = signing_in.sign_in(browser, live_server, cast.alice.email, height=900)
    alice.get_by_role("link", name="Request access").click()
    alice.get_by_test_id("entitlement-PaymentsApprove").get_by_role("link", name="Request").click()
    notice = alice.get_by_test_id("sod-notice")
    expect(notice).to_contain_text("Approve payments can't be requested while you hold Create payments")
    expect(notice).to_contain_text(re.compile("give back Create payments on My access first"))
    photograph(alice, "request-sod-warning")
