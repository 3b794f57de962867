"""A sign-in lasts at most PORTAL_SESSION_MAX_SECONDS, however active the session stays.

Django's session age slides with every request, so a session kept busy (a dashboard left polling)
would never end. The time of sign-in is kept in the session; past the limit the person is signed out
and the usual deny-by-default sends them to sign in again (with their second factor).
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SIGNED_IN_AT = "portal_signed_in_at"


@receiver(user_logged_in, dispatch_uid="portal-session-signed-in-at")
def _remember_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            signed_in_at = request.session.setdefault(SIGNED_IN_AT, time.time())
            if time.time() - signed_in_at > settings.SESSION_MAX_SECONDS:
                logout(request)
                messages.info(request, "Your sign-in has lasted as long as it may: please sign in again.")
        return self.get_response(request)
