"""An approver without a second factor signs in, is made to set one up, and a high-risk approval asks again.

Headless Chromium against the live server: Bob (Alice's manager) has no authenticator app yet. After his
password he lands on the two-factor page, scans (here: reads) the secret, enters the app's code, and
reaches the portal. Approving Alice's request for Production admins (high risk) then asks for a fresh
code before it counts; approving once more after entering it goes through.
"""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from access import services
from access.models import ApprovalAssignment
from catalog.models import Entitlement
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.test_request_journey import RESULTS
from tests.conftest import PASSWORD, wait_for_a_fresh_period

REASON = "Rotating the production database credentials"


def app_code(secret: str) -> str:
    """What an authenticator app holding `secret` shows now."""
    wait_for_a_fresh_period()
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def high_risk_request(cast, sandbox):
    production = Entitlement.objects.create(
        account=sandbox.account, aws_name="ProdAdmins", name="Production admins", risk=Entitlement.Risk.HIGH
    )
    production.owners.set([cast.carol])
    return services.submit_request(requester=cast.alice, entitlement=production, justification=REASON)


@pytest.mark.django_db(transaction=True)
def test_approver_enrols_an_authenticator_app_and_a_high_risk_approval_asks_for_a_fresh_code(
    browser, live_server, cast, high_risk_request
):
    Authenticator.objects.filter(user=cast.bob).delete()  # Bob has never set up a second factor
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    bob = context.new_page()

    bob.goto("/")
    assert_accessible_at_both_widths(bob, "the sign-in page")
    bob.get_by_label("Email").fill("bob@example.com")
    bob.get_by_label("Password").fill(PASSWORD)
    bob.get_by_role("button", name="Sign in").click()

    # Sent to set up a second factor before anything else.
    expect(bob).to_have_url(re.compile(r"/accounts/2fa/$"))
    expect(bob.get_by_test_id("mfa-required")).to_contain_text("signing in needs a second factor")
    assert_accessible_at_both_widths(bob, "the second factor asked for")
    bob.get_by_role("link", name="Approvals").click()
    expect(bob).to_have_url(re.compile(r"/accounts/2fa/$"))

    bob.get_by_role("link", name="Set up an authenticator app").click()
    expect(bob.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert_accessible(bob, "the password asked again")
    bob.get_by_label("Password").fill(PASSWORD)
    bob.get_by_role("button", name="Confirm").click()

    expect(bob.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(bob.get_by_alt_text("QR code to scan with your authenticator app")).to_be_visible()
    assert_accessible_at_both_widths(bob, "setting up an authenticator app")
    RESULTS.mkdir(parents=True, exist_ok=True)
    bob.screenshot(path=str(RESULTS / "mfa-setup.png"), full_page=True)
    secret = bob.get_by_label("Secret").input_value()
    bob.get_by_label("Code from the app").fill(app_code(secret))
    bob.get_by_role("button", name="Activate").click()
    expect(bob.get_by_role("heading", name="Recovery codes")).to_be_visible()
    assert_accessible_at_both_widths(bob, "the recovery codes")
    bob.get_by_role("link", name="Continue to the portal").click()
    expect(bob.get_by_test_id("signed-in-as")).to_have_text("Bob Manager")

    # A high-risk approval needs a code from the last minutes; setting up the app was not one.
    bob.get_by_role("link", name=re.compile("Approvals")).click()
    row = bob.locator("tr", has_text="Production admins")
    expect(row).to_contain_text("Approving asks for a code from your authenticator app")
    assert_accessible(bob, "the inbox with a high-risk request")
    row.get_by_label(re.compile("Comment on request")).fill("Checked with the DBA")
    row.get_by_role("button", name="Approve").click()  # inline (htmx): the page moves to the code, decision kept
    expect(bob).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/\?next=%2Fapprovals%2F\d+%2Fapprove%2F$"))
    expect(bob.get_by_role("alert")).to_contain_text("Approving a high-risk request needs a second factor")
    assert_accessible_at_both_widths(bob, "the step-up code asked for")
    assert ApprovalAssignment.objects.get(approval__request=high_risk_request, approval__step=1).decision == "pending"
    bob.screenshot(path=str(RESULTS / "step-up.png"), full_page=True)

    bob.get_by_label("Authenticator code").fill(app_code(secret))
    bob.get_by_role("button", name="Confirm").click()
    # The code accepted, the approval Bob clicked is carried out, with his comment, without a second click.
    expect(bob).to_have_url(re.compile(r"/approvals/$"))
    expect(bob.get_by_role("alert").last).to_contain_text("You approved Production admins for Alice Engineer.")
    expect(bob.locator("tr", has_text="Production admins")).to_have_count(0)
    assert_accessible(bob, "the inbox after the stepped-up approval")

    vote = ApprovalAssignment.objects.get(approval__request=high_risk_request, approval__step=1)
    assert (vote.decision, vote.decided_by, vote.comment) == ("approved", cast.bob, "Checked with the DBA")
    assert Authenticator.objects.filter(user=cast.bob, type=Authenticator.Type.TOTP).exists()
    context.close()
