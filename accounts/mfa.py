"""A second factor for everyone who decides on access: approvers, reviewers, owners, managers and admins.

Such a person without an authenticator app or a security key is sent to set one up before anything
else; the pages they may still reach are the two-factor pages themselves, reauthentication, sign-out
and the health check. API calls made with their browser session are refused with 403 and a sentence
instead of a redirect a script could not follow; calls made with an API token are checked by the API's
token authentication (api/authentication.py) with the same `meets_mfa_policy`, on every call.

The check reads the database (who decides, who has an authenticator), so its outcome is kept in the
session: computed at sign-in and then again every few minutes. A request in between costs no query.
"""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_removed
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.roles import decides_on_access
from inputs.refusals import error_body

SESSION_KEY = "portal_mfa_policy_met"
# Long enough that page loads cost nothing, short enough that someone who just became an approver
# (their first request to decide arrived) is asked to enrol within minutes.
RECHECK_AFTER_SECONDS = 300
# Recovery codes only back up another authenticator; alone they are not a second factor.
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
# Reachable while enrolment is pending, besides every `mfa_*` page (set-up, recovery codes, keys).
OPEN_DURING_ENROLMENT = {"account_logout", "account_reauthenticate", "healthz"}
ENROL_MESSAGE = (
    "Your role in the portal needs two-factor authentication. Set up an authenticator app or a security key "
    "at /accounts/2fa/ with your browser, then try again."
)


def has_second_factor(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exists()


def meets_mfa_policy(user, *, second_factor_proven: bool = True) -> bool:
    """Whether `user` may use the portal: anyone who decides on access must hold a second factor, and
    must have proven it for the session or API token the call comes with.

    The one rule for both edges: the middleware asks it of browser sessions (allauth's sign-in asks
    everyone who has a second factor for it, so a session has proven it), and the API's token
    authentication asks it on every call with whether the token was issued with one. A token issued
    before its holder became a decider, or whose holder has since removed their authenticator, is refused.
    """
    # The authenticator first: one query settles it for every decider who enrolled.
    if second_factor_proven and has_second_factor(user):
        return True
    return not decides_on_access(user)


def remember_policy_met(session, user) -> None:
    session[SESSION_KEY] = {"user": user.pk, "at": time.time()}


def _remembered(session, user) -> bool:
    met = session.get(SESSION_KEY)
    return (
        isinstance(met, dict) and met.get("user") == user.pk and time.time() - met.get("at", 0) < RECHECK_AFTER_SECONDS
    )


@receiver(user_logged_in, dispatch_uid="accounts.mfa.check_at_sign_in")
def check_at_sign_in(sender, request, user, **kwargs):
    """Settle the policy while signing in, so the first page after it costs no more than any other."""
    if meets_mfa_policy(user):
        remember_policy_met(request.session, user)
    else:
        request.session.pop(SESSION_KEY, None)


@receiver(authenticator_removed, dispatch_uid="accounts.mfa.forget_on_removal")
def forget_on_removal(sender, request, user, authenticator, **kwargs):
    """Removing an authenticator may leave a decider without one: check again on the next request."""
    if request is not None and hasattr(request, "session"):
        request.session.pop(SESSION_KEY, None)


def _open_during_enrolment(resolver_match) -> bool:
    name = resolver_match.url_name or ""
    return name.startswith("mfa_") or name in OPEN_DURING_ENROLMENT


class MfaRequiredMiddleware:
    """Sends deciders without a second factor to set one up; everything else they ask for is refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if request.resolver_match.namespace == "scim":
            return None  # SCIM calls are an identity provider's, by its bearer token; a session plays no part
        if not user.is_authenticated or _remembered(request.session, user):
            return None
        if meets_mfa_policy(user):
            remember_policy_met(request.session, user)
            return None
        if _open_during_enrolment(request.resolver_match):
            # The two-factor pages say why the person was sent there (templates/mfa/index.html).
            request.mfa_enrolment_required = True
            return None
        if request.resolver_match.namespace == "api":
            return JsonResponse(error_body(ENROL_MESSAGE, code="mfa_required"), status=403)
        if request.headers.get("HX-Request"):
            # A redirect would be followed inside the fragment; htmx moves the whole page instead.
            response = HttpResponse(status=403)
            response["HX-Redirect"] = reverse("mfa_index")
            return response
        return redirect("mfa_index")
