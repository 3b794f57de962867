"""A refusal on a page: the one answer every action without a form of its own gives when a service refuses.

The message is flashed and shown on the "That was not done" page (`errors/action_refused.html`), with the
status the refusal carries (400, 403, 404, 409); nothing was changed. Pages that re-render themselves with
the refusal instead (a form with the message on its field, an htmx fragment, a list with the message on
top) catch it where they build that page; see docs/architecture.md, "Refusals".

Who may see an object at all is a different answer: `access_or_error_page` turns an access rule's NotFound
and NotAllowed into Django's own 404 and 403 pages, the same as for a link that leads nowhere.
"""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render

from inputs.refusals import NotAllowed, NotFound, Refusal

T = TypeVar("T")


def refused_page(request, refusal: Refusal) -> HttpResponse:
    messages.error(request, refusal.message)
    return render(request, "errors/action_refused.html", {"message": refusal.message}, status=refusal.status)


def refusals_as_page(view):
    """Decorate a page view: whatever a service it calls refuses is answered with `refused_page`."""

    @wraps(view)
    def answered(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Refusal as refusal:
            return refused_page(request, refusal)

    return answered


def access_or_error_page(rule: Callable[..., T], *args, **kwargs) -> T:
    """What an access rule (such as reviews.access_rules) gives the person, or the 404 or 403 error page.

    Not the "That was not done" page: an object the person may not see is answered as one that does not
    exist, with nothing flashed, even inside a view decorated `refusals_as_page`."""
    try:
        return rule(*args, **kwargs)
    except NotFound:
        raise Http404 from None
    except NotAllowed:
        raise PermissionDenied from None
