"""Signing in for an API token: the sign-in form's own checks, limits and second factor, without a session.

`POST /api/token/` trades an email address, a password and (for anyone with two-factor authentication)
a code for a token. It goes through allauth exactly as the sign-in page does:

- allauth's rate limits on the same cache: `login` per address, and `login_failed` per address and per
  account, so the page and the endpoint share one lockout; the address is the one allauth's adapter
  sees (`get_client_ip`), never a header the client chooses;
- the adapter's `authenticate` (the portal's adapter refuses passwords while they are switched off);
- allauth.mfa's code form for the second factor: an authenticator app's code or a recovery code, each
  try counted on the account's own limit, as on the page's code step.

Every refusal reads the same (wrong password, unknown email, missing or wrong code, a decider without
a second factor, a person whose only factor is a security key), so the answer never tells that a
password was right. Only running into a limit answers otherwise (429), and that happens alike for every
account and address. Security-key holders create tokens in the browser instead (accounts.views).
"""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.core import ratelimit
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_used
from allauth.mfa.utils import is_mfa_enabled
from django.core.exceptions import ValidationError

from accounts.mfa import meets_mfa_policy
from accounts.models import User

REFUSED = (
    "Unable to log in with these details. Send your email address, your password and, if your account has "
    "two-factor authentication, the current code from your authenticator app (or a recovery code) as `code`. "
    "If you sign in with a security key, create a token in the portal under API tokens."
)
TOO_MANY = "Too many sign-in attempts: wait a few minutes, then try again."
# allauth's error code when a limit is reached (adapter.pre_authenticate and the MFA code form).
LIMITED = "too_many_login_attempts"


class SignInRefused(Exception):
    status = 400

    def __init__(self, message: str = REFUSED):
        super().__init__(message)
        self.message = message


class TooManyAttempts(SignInRefused):
    status = 429

    def __init__(self):
        super().__init__(TOO_MANY)


@dataclass(frozen=True)
class SignIn:
    user: User
    second_factor: bool  # whether a code was proven, which the token keeps (accounts.mfa)


def sign_in_for_token(request, *, email: str, password: str, code: str = "") -> SignIn:
    """Who these credentials belong to, and whether a second factor was proven; else SignInRefused."""
    if not ratelimit.consume(request, action="login"):
        raise TooManyAttempts()
    try:
        user = get_account_adapter(request).authenticate(request, email=email, password=password)
    except ValidationError as error:
        # The per-address or per-account limit, or passwords switched off (accounts.adapters).
        raise (TooManyAttempts() if error.code == LIMITED else SignInRefused()) from None
    if user is None:
        raise SignInRefused()
    if not user.is_active:
        # allauth hands back a deactivated person whose password was right (its page says "inactive"):
        # here that reads like any refusal, and costs a try like one.
        _count_failed_second_factor(request, user)
        raise SignInRefused()
    second_factor = _prove_second_factor(request, user, code.strip())
    if not meets_mfa_policy(user, second_factor_proven=second_factor):
        _count_failed_second_factor(request, user)
        raise SignInRefused()
    return SignIn(user=user, second_factor=second_factor)


def _prove_second_factor(request, user, code: str) -> bool:
    """True when the code is right; False when the person has no second factor; else refused.

    Like the sign-in form: whoever has two-factor authentication must pass it, deciders or not.
    """
    if not is_mfa_enabled(user):
        return False
    if not code:
        _count_failed_second_factor(request, user)
        raise SignInRefused()
    # Checks TOTP and recovery codes (a security key cannot be checked here: it fails like a wrong code),
    # counting each try on the account's limit and clearing it on success.
    form = AuthenticateForm(user=user, data={"code": code})
    if not form.is_valid():
        raise TooManyAttempts() if form.has_error("code", LIMITED) else SignInRefused()
    form.authenticator.record_usage()
    authenticator_used.send(
        sender=Authenticator,
        request=request,
        user=user,
        authenticator=form.authenticator,
        reauthenticated=False,
        passwordless=False,
    )
    return True


def _count_failed_second_factor(request, user) -> None:
    """A missing code, or a decider with none to give, counts as a failed try on the same limit as a
    wrong code (allauth's key for the code form), so a right password is never told apart by the limits:
    after the password, every failure costs the same."""
    if not ratelimit.consume(request, action="login_failed", key=f"mfa-auth-user-{user.pk}"):
        raise TooManyAttempts()
