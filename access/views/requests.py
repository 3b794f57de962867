"""My requests, with their timelines, and cancelling one."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from access import selectors, services
from access.timeline import timeline
from access.views.common import page_of
from inputs.refusal_pages import refusals_as_page


@require_GET
def my_requests(request):
    page = page_of(request, selectors.requests_shown_to(request.user))
    events = selectors.timelines_for(page.object_list)
    activities = selectors.activities_for(page.object_list)
    rows = [
        (access_request, timeline(events.get(access_request.pk, []), activities.get(access_request.pk)))
        for access_request in page.object_list
    ]
    return render(request, "access/my_requests.html", {"page": page, "rows": rows})


@require_POST
@refusals_as_page
def cancel(request, request_id):
    access_request = services.cancel_request(request_id=request_id, actor=request.user)
    messages.success(request, f"Your request for {access_request.entitlement.name} was cancelled.")
    return redirect("access:my_requests")
