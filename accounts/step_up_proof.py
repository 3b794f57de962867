"""Step-up: a few decisions need a second factor proven minutes ago, not only at sign-in.

Approving a high-risk request, granting a separation-of-duties exception and signing off a review
campaign ask for it. The proof is what allauth records in the session whenever someone passes their
second factor: when signing in, or again on its reauthentication page. Pages and the API check it
before they call the service (the services know nothing of sessions); without a fresh proof a page
sends the person to enter a code and then carries on, and the API answers 403 `step_up_required`. Which
approvals need the proof is access/step_up_policy.py; this module reads it, asks for it and refuses without it.
"""

from __future__ import annotations

import time

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException

from accounts.allauth_bridge import keep_post_and_reauthenticate

STEP_UP_CODE = "step_up_required"


def window_minutes() -> int:
    return settings.STEP_UP_SECONDS // 60


def _from_session(request) -> bool:
    """API calls carry a proof only when their session signed them in; a token never does."""
    authenticator = getattr(request, "successful_authenticator", None)
    return authenticator is None or isinstance(authenticator, SessionAuthentication)


def last_second_factor_at(request) -> float | None:
    """When this session last passed a second factor (sign-in or reauthentication), as a timestamp."""
    if not request.user.is_authenticated or not _from_session(request):
        return None
    times = [record["at"] for record in get_authentication_records(request, request.user) if record["method"] == "mfa"]
    return max(times, default=None)


def has_fresh_second_factor(request) -> bool:
    proven_at = last_second_factor_at(request)
    return proven_at is not None and time.time() - proven_at < settings.STEP_UP_SECONDS


def reauthentication_url(user) -> str:
    """The second-factor check this person can pass: their app's code, else their security key.

    Recovery codes are offered on the code page only to those with neither. Someone without any
    second factor is sent to set one up (the deciding pages are out of their reach until then anyway).
    """
    kinds = set(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True))
    if Authenticator.Type.TOTP in kinds:
        return reverse("mfa_reauthenticate")
    if Authenticator.Type.WEBAUTHN in kinds:
        return reverse("mfa_reauthenticate_webauthn")
    if Authenticator.Type.RECOVERY_CODES in kinds:
        return reverse("mfa_reauthenticate")
    return reverse("mfa_index")


def ask_in_page(request, doing: str, *, back_to: str) -> HttpResponse:
    """Send a page's user to prove their second factor, then on to what they were doing.

    A form post, plain or htmx, is kept and replayed by allauth once the code is accepted, so the
    decision the person made (and their comment) is carried out without a second click. An htmx
    post is kept as a plain one: its answer is then a whole page (the view's redirect back, with
    its message), not the fragment the page that asked has left behind. A GET just comes back to
    `back_to` after the check.
    """
    url = reauthentication_url(request.user)
    messages.info(
        request,
        f"{doing} needs a second factor from the last {window_minutes()} minutes: enter a code from your "
        "authenticator app (or use your security key).",
    )
    if request.method == "POST":
        htmx = bool(request.headers.get("HX-Request"))
        if htmx:
            request.META = {name: value for name, value in request.META.items() if not name.startswith("HTTP_HX_")}
        kept = keep_post_and_reauthenticate(request, url)
        if not htmx:
            return kept
        response = HttpResponse(status=status.HTTP_403_FORBIDDEN)
        response["HX-Redirect"] = kept["Location"]
        return response
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=status.HTTP_403_FORBIDDEN)
        response["HX-Redirect"] = f"{url}?{urlencode({'next': back_to})}"
        return response
    return HttpResponseRedirect(f"{url}?{urlencode({'next': back_to})}")


class StepUpRequired(APIException):
    """403 with `code: step_up_required`, and a sentence saying how to get a fresh proof."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = STEP_UP_CODE

    def __init__(self, request, doing: str):
        window = f"a second factor proven in the last {window_minutes()} minutes"
        if _from_session(request):
            how = (
                f"Confirm with your authenticator at {reauthentication_url(request.user)} in this browser session, "
                "then send the request again."
            )
        else:
            how = "An API token cannot carry one: decide this in the portal, which will ask for your code."
        super().__init__({"detail": f"{doing} needs {window}. {how}", "code": STEP_UP_CODE})
