"""The pages no journey walks through meet WCAG 2.2 AA too, at 1280 and 390 px, each with something on it:
Alice's notifications, API tokens and extension form; Erin's IAM posture, operations and SoD reports; and
the menu opened on a phone, with the Governance and account menus unfolded."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access import services
from access.models import Grant
from accounts.tokens import issue_token
from catalog.models import Entitlement
from iam.models import UnmanagedAccess
from notifications.services import notify_request_decided
from posture.models import PostureFinding
from sod.models import SodRule
from sod.tasks import sod_scan
from tests.browser import signing_in
from tests.browser.accessibility import PHONE, assert_accessible, assert_accessible_at_both_widths


@pytest.fixture
def a_lived_in_portal(cast, sandbox):
    """Alice's request approved (notifications), a token, a grant that ends; a separation-of-duties violation;
    a posture finding on Dave; a group member AWS has that the portal does not; a grant AWS refused."""
    request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification="On call for the billing service"
    )
    services.approve(request_id=request.pk, actor=cast.bob)
    notify_request_decided(request.pk)  # what the worker does next
    issue_token(person=cast.alice, name="build laptop", second_factor=False)
    ending = Entitlement.objects.create(account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low")
    expiring = Grant.objects.create(
        user=cast.alice, entitlement=ending, source=Grant.Source.ADMIN, expires_at=timezone.now() + timedelta(days=3)
    )

    rule = SodRule.objects.create(name="Create and approve payments", why="Pay themselves", owner=cast.dave)
    for name, side in [("Create payments", rule.set_a), ("Approve payments", rule.set_b)]:
        payments = Entitlement.objects.create(account=sandbox.account, aws_name=name.replace(" ", ""), name=name)
        side.set([payments])
        Grant.objects.create(user=cast.carol, entitlement=payments, source=Grant.Source.ADMIN)
    sod_scan()

    PostureFinding.objects.create(
        account=sandbox.account,
        control_id="portal.leaver_key",
        principal="dave",
        severity="high",
        evidence={"user": "dave"},
        person=cast.dave,
    )
    now = timezone.now()
    UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind="iam_group",
        aws_principal="mallory",
        aws_name="Admins",
        first_seen=now,
        last_seen=now,
    )
    refused = Grant.objects.create(user=cast.alice, entitlement=sandbox.breakglass, source=Grant.Source.ADMIN)
    services.record_sync_failure(services.claim_grant_for_sync(refused.pk), error="AWS refused (AccessDenied): no")
    return expiring, refused


@pytest.mark.django_db(transaction=True)
def test_pages_off_the_journeys_meet_wcag_22_aa(browser, live_server, cast, sandbox, a_lived_in_portal):
    expiring, refused = a_lived_in_portal
    alice = signing_in.sign_in(browser, live_server, cast.alice.email)
    for path, shows in [
        ("/notifications/", "Developers"),
        ("/accounts/api-tokens/", "build laptop"),
        (f"/access/{expiring.pk}/extend/", "Read-only"),
    ]:
        alice.goto(path)
        expect(alice.locator("main")).to_contain_text(shows)
        assert_accessible_at_both_widths(alice, path)

    erin = signing_in.sign_in(browser, live_server, cast.erin.email)
    account = sandbox.account.pk
    for path, shows in [
        ("/posture/", "Sandbox"),
        (f"/posture/accounts/{account}/", "portal.leaver_key"),
        (f"/posture/accounts/{account}/findings/", "Dave Othermanager"),
        (f"/posture/people/{cast.dave.pk}/", "portal.leaver_key"),
        ("/operations/", "Sandbox"),
        (f"/operations/accounts/{account}/", "mallory"),
        (f"/operations/grants/{refused.pk}/", "AccessDenied"),
        ("/sod/violations/", "Carol Owner"),
        ("/sod/exceptions/", "Separation-of-duties exceptions"),
    ]:
        erin.goto(path)
        expect(erin.locator("main")).to_contain_text(shows)
        assert_accessible_at_both_widths(erin, path)

    # On a phone the menu folds behind a button; opened, with its two drop-downs unfolded in turn.
    erin.set_viewport_size(PHONE)
    menu = erin.get_by_role("navigation", name="Main")
    menu.get_by_role("button", name="Toggle navigation").click()
    menu.get_by_role("button", name="Governance").click()
    expect(menu.get_by_role("link", name="Audit log")).to_be_visible()
    assert_accessible(erin, "the phone menu with Governance open")
    menu.get_by_role("button", name="Your account: Erin Admin").click()
    expect(menu.get_by_role("link", name="API tokens")).to_be_visible()
    assert_accessible(erin, "the phone menu with the account menu open")
