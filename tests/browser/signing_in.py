"""Signing in in a browser the way people do: email and password, then the authenticator app's code.

An authenticator code is accepted once (allauth remembers used codes), so a person who signs in twice
within one 30-second period waits for the next code, as they would with their phone in hand.
"""

import re
import time

from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from tests.conftest import PASSWORD, totp_code

_last_code: dict[int, str] = {}


def fresh_code(person) -> str:
    """A code from the person's app that has not been used yet in this run."""
    code = totp_code(person)
    while code == _last_code.get(person.pk):
        time.sleep(app_settings.TOTP_PERIOD - time.time() % app_settings.TOTP_PERIOD + 0.05)
        code = totp_code(person)
    _last_code[person.pk] = code
    return code


def sign_in(browser, live_server, email: str, *, height: int = 800):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": height})
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    app = Authenticator.objects.filter(user__email=email, type=Authenticator.Type.TOTP).select_related("user").first()
    if app is not None:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.get_by_label("Authenticator code").fill(fresh_code(app.user))
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    return page
