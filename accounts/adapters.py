"""How allauth and Django's sign-in fit the portal: no self sign-up, and local passwords that can be switched off.

People are provisioned (admins, the HR feed, single sign-on in accounts.sso), never self-registered.

With PORTAL_LOCAL_PASSWORDS=false (settings.LOCAL_PASSWORDS) every way to use a password is refused:
allauth's sign-in (which the Django admin uses too), re-authentication, password change, set and reset
say so in words; anything else that checks a password through Django (the API's token endpoint) is
stopped by `LocalPasswordGate`. The break-glass accounts named
in PORTAL_BREAK_GLASS_EMAILS keep password sign-in, so an administrator can still get in while the
identity provider is down; their passwords are set on the server (`manage.py createsuperuser`,
`manage.py changepassword`), never through the pages.
"""

import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.account.forms import ResetPasswordForm
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.auth_events import record_failed_sign_in
from audit.context import client_address

SIGN_IN_SSO_ONLY = "Password sign-in is switched off: sign in with single sign-on."
CHANGES_SSO_ONLY = (
    "Passwords are switched off here: your identity provider signs you in, so there is no portal password "
    "to set, change or reset."
)


def may_sign_in_with_password(email: str | None) -> bool:
    """Passwords are on, or the email is one of the break-glass accounts."""
    return settings.LOCAL_PASSWORDS or (email or "").strip().lower() in settings.BREAK_GLASS_EMAILS


class LocalPasswordGate:
    """First of AUTHENTICATION_BACKENDS: with passwords off, a password check for anyone but a break-glass
    account raises PermissionDenied, which makes Django stop before the backends that would accept it.

    It has no get_user on purpose: it never holds a session, so Django's test client and allauth pick
    the real backends to log people in.
    """

    def authenticate(self, request, **credentials):
        if "password" in credentials:
            email = credentials.get("email") or credentials.get("username")
            if not may_sign_in_with_password(email):
                raise PermissionDenied(SIGN_IN_SSO_ONLY)
        return None

    async def aauthenticate(self, request, **credentials):
        return self.authenticate(request, **credentials)


def _sso_only(user) -> bool:
    """No portal password and no second factor: the identity provider is all that vouches for them."""
    return not user.has_usable_password() and not is_mfa_enabled(user)


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """People are provisioned by administrators, not by self sign-up; passwords obey LOCAL_PASSWORDS."""

    def is_open_for_signup(self, request):
        return False

    def get_client_ip(self, request) -> str:
        """The address rate limits count by: the portal's one rule (PORTAL_TRUSTED_PROXIES), not allauth's own."""
        address = client_address(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address.")
        return address

    def pre_authenticate(self, request, **credentials):
        # The rate limits first: a refused attempt counts, and a flood of them cannot flood the audit trail.
        super().pre_authenticate(request, **credentials)
        if not may_sign_in_with_password(credentials.get("email")):
            record_failed_sign_in(credentials.get("email") or "", stage="password", reason="password_sign_in_off")
            raise ValidationError(SIGN_IN_SSO_ONLY, code="password_sign_in_off")

    def authentication_failed(self, request, **credentials):
        # A failed break-glass attempt reads like every other refusal, so the page never tells which
        # emails are break-glass accounts.
        if not settings.LOCAL_PASSWORDS:
            raise ValidationError(SIGN_IN_SSO_ONLY, code="password_sign_in_off")

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Someone with no password and no second factor yet (signed in by SSO) could re-authenticate only
        by a code mailed to them, a detour before setting up the authenticator the portal demands of them:
        for them, a sign-in within the re-authentication window is the proof instead."""
        user = getattr(self.request, "user", None)
        if app == "allauth.mfa" and user is not None and user.is_authenticated and _sso_only(user):
            records = get_authentication_records(self.request, user)
            return not records or time.time() - records[-1]["at"] >= account_settings.REAUTHENTICATION_TIMEOUT
        return super().is_reauthentication_required(app=app, **kwargs)

    def clean_password(self, password, user=None):
        # Every form that sets a password (change, set, reset from a key) validates it here first.
        if not settings.LOCAL_PASSWORDS:
            raise ValidationError(CHANGES_SSO_ONLY, code="passwords_off")
        return super().clean_password(password, user)


class PasswordResetForm(ResetPasswordForm):
    """allauth's reset request, refused while passwords are off (rather than mailing a useless link)."""

    def clean(self):
        if not settings.LOCAL_PASSWORDS:
            raise ValidationError(CHANGES_SSO_ONLY, code="passwords_off")
        return super().clean()


def sign_in_options(request) -> dict:
    """Template context: whether the sign-in page offers the password form."""
    return {"local_passwords": settings.LOCAL_PASSWORDS}
