"""A refusal on a page: the one answer every action without a form of its own gives when a service refuses.

The message is flashed and shown on the "That was not done" page (`errors/action_refused.html`), with the
status the refusal carries (400, 403, 404, 409); nothing was changed. Pages that re-render themselves with
the refusal instead (a form with the message on its field, an htmx fragment, a list with the message on
top) catch it where they build that page; see docs/architecture.md, "Refusals".
"""

from functools import wraps

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render

from inputs.refusals import Refusal


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
