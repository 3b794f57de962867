"""The one module that reaches into django-allauth's internal API (`allauth.*.internal`).

allauth keeps its flows under `internal` packages and may change them in any release; everything else in the
portal uses allauth's public modules. `.importlinter` holds a contract that nothing but this module imports an
`internal` one, so an allauth upgrade has one place to check (tests/accounts/test_step_up.py drives what is here).
"""

from allauth.account.internal.flows.reauthentication import suspend_request
from django.http import HttpRequest, HttpResponseRedirect


def keep_post_and_reauthenticate(request: HttpRequest, reauthentication_url: str) -> HttpResponseRedirect:
    """Keep this request (a POST's form too) in the session and send the person to `reauthentication_url`,
    whose success replays it.

    allauth's public way, raising `ReauthenticationRequired` for its middleware, always sends people to the
    first of the adapter's methods; the step-up picks the one this person can pass (accounts.step_up_proof), and only
    the internal flow takes that URL.
    """
    return suspend_request(request, reauthentication_url)
