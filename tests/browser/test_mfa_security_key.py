"""A security key instead of an app: enrolled, used to sign in, and used for a step-up, in headless Chromium.

Chromium's virtual authenticator (DevTools WebAuthn domain) plays the key, so allauth's real WebAuthn
ceremony runs in the page (its scripts are static files, allowed by the CSP) and is verified by the
server. Dave (who manages Frank) has no second factor yet; Frank asks for Production admins.
"""

import re

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from access import services
from access.models import ApprovalAssignment
from catalog.models import Entitlement
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.conftest import PASSWORD

REASON = "Month-end close needs the production ledger"


@pytest.fixture
def franks_request(cast, sandbox):
    production = Entitlement.objects.create(
        account=sandbox.account, aws_name="ProdAdmins", name="Production admins", risk=Entitlement.Risk.HIGH
    )
    production.owners.set([cast.carol])
    return services.submit_request(requester=cast.frank, entitlement=production, justification=REASON)


def with_security_key(browser, live_server):
    """A browser whose user has a security key plugged in (a virtual one: touched automatically)."""
    assert live_server.url.startswith("http://localhost:"), "WebAuthn runs on https or on http://localhost only"
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return page


def password_step(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.django_db(transaction=True)
def test_a_security_key_is_enrolled_signs_in_and_steps_up(browser, live_server, cast, franks_request):
    Authenticator.objects.filter(user=cast.dave).delete()
    dave = with_security_key(browser, live_server)

    password_step(dave, "dave@example.com")
    expect(dave.get_by_test_id("mfa-required")).to_be_visible()
    assert_accessible(dave, "the second factor asked for")
    dave.get_by_role("link", name="Add a security key").click()
    dave.get_by_label("Password").fill(PASSWORD)
    dave.get_by_role("button", name="Confirm").click()
    expect(dave.get_by_label("Name")).to_be_visible()
    assert_accessible_at_both_widths(dave, "adding a security key")
    dave.get_by_label("Name").fill("Desk key")
    dave.get_by_role("button", name="Add").click()
    expect(dave.get_by_role("heading", name="Recovery codes")).to_be_visible()
    assert Authenticator.objects.get(user=cast.dave, type=Authenticator.Type.WEBAUTHN).wrap().name == "Desk key"

    dave.get_by_role("link", name="Continue to the portal").click()

    # Adding the key was not a sign-in with it: approving a high-risk request asks for the key now.
    dave.goto("/approvals/")
    row = dave.locator("tr", has_text="Production admins")
    row.get_by_role("button", name="Approve").click()
    expect(dave).to_have_url(
        re.compile(r"/accounts/2fa/webauthn/reauthenticate/\?next=%2Fapprovals%2F\d+%2Fapprove%2F$")
    )
    expect(dave.get_by_role("link", name="Use your password")).to_have_count(0)
    assert_accessible_at_both_widths(dave, "the security key asked for a step-up")
    dave.get_by_role("button", name="Use a security key").click()
    # The key passed, the approval Dave clicked is made: he does not click it again.
    expect(dave).to_have_url(re.compile(r"/approvals/$"))
    expect(dave.get_by_role("alert").last).to_contain_text("You approved Production admins for Frank Finance.")
    vote = ApprovalAssignment.objects.get(approval__request=franks_request, approval__step=1)
    assert (vote.decision, vote.decided_by) == ("approved", cast.dave)

    # Next time, the key is the second step of signing in.
    dave.get_by_role("button", name="Sign out").click()
    password_step(dave, "dave@example.com")
    expect(dave.get_by_role("heading", name="Second step: your second factor")).to_be_visible()
    assert_accessible_at_both_widths(dave, "the second step of signing in")
    dave.get_by_role("button", name="Use a security key").click()
    expect(dave.get_by_test_id("signed-in-as")).to_have_text("Dave Othermanager")
    dave.goto("/accounts/2fa/")
    assert_accessible_at_both_widths(dave, "two-factor authentication with a security key")
    dave.get_by_role("link", name="Manage keys").click()
    assert_accessible_at_both_widths(dave, "the security keys list")
