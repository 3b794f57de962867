"""The audit log for auditors and governance admins: filter, read an event, export, verify the chain.

Everyone else gets 403. `audit` is the lowest layer, so the role is asked of the person
(`request.user.reads_everything`, backed by accounts.roles) rather than imported.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit import selectors, subjects
from audit.csv_export import streamed_csv
from audit.filters import AuditEventFilter
from audit.keyset import AFTER, BEFORE, Position, page_of, position_from
from audit.pagination import CappedPaginator
from audit.verification import request_check
from inputs.refusals import InvalidInput

# 25 events a page, as every other list of the portal (issue 21: at 50 the log was the costliest page to
# draw); the whole trail, filtered or not, is one CSV export away.
PAGE_SIZE = 25


def _readers_only(request) -> None:
    if not getattr(request.user, "reads_everything", False):
        raise PermissionDenied


def _query_without_page(request) -> str:
    query = request.GET.copy()
    for name in ("page", BEFORE, AFTER):
        query.pop(name, None)
    return query.urlencode()


@require_GET
def events(request):
    _readers_only(request)
    filters = AuditEventFilter(request.GET, queryset=selectors.listed_events())
    # A filter or a page link that cannot be read lists nothing rather than quietly listing everything:
    # an auditor must never mistake an unfiltered list for a filtered one.
    valid = filters.is_valid()
    link_error = ""
    try:
        position = position_from(request.GET)
    except InvalidInput as refused:
        position, link_error = Position(), refused.message
    rows = filters.qs if valid and not link_error else filters.queryset.none()
    # Pages by position in the chain, every event reachable (audit.keyset); the count stops at a cap
    # (audit.pagination), never the whole trail.
    page = page_of(rows, position, PAGE_SIZE)
    page.object_list = subjects.describe_events(page.object_list)  # one batch per object type on the page
    context = {
        "filters": filters,
        "page": page,
        "count": CappedPaginator(rows, PAGE_SIZE),
        "link_error": link_error,
        "query": _query_without_page(request),
        "checks": selectors.latest_checks(),
    }
    return render(request, "audit/events.html", context, status=200 if valid and not link_error else 400)


@require_GET
def event_detail(request, event_id):
    _readers_only(request)
    event = get_object_or_404(selectors.events(), pk=event_id)
    return render(request, "audit/event_detail.html", {"event": event, **selectors.event_page(event)})


@require_GET
def export(request):
    """The filtered events as CSV, oldest first, streamed: constant memory whatever the number of rows."""
    _readers_only(request)
    filters = AuditEventFilter(request.GET, queryset=selectors.events())
    if not filters.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filters.errors.items())
        return HttpResponse(f"The filters could not be read ({problems}).", status=400, content_type="text/plain")
    return streamed_csv(selectors.EXPORT_HEADER, selectors.export_rows(filters.qs), "audit-events.csv")


@require_POST
def verify(request):
    """Ask a worker to walk the whole chain (what `manage.py verify_audit` does): at a million events
    that takes tens of seconds, so the page follows its progress instead of waiting. Checking changes
    nothing in the trail, so auditors may ask for it as well as governance admins."""
    _readers_only(request)
    with transaction.atomic():
        request_check(actor=request.user)
    messages.info(request, "The chain is being checked: its progress and verdict are shown below.")
    return redirect("audit:events")


@require_GET
def checks(request):
    """The latest checks (a fragment the events page polls while one is running)."""
    _readers_only(request)
    return render(request, "audit/_checks.html", {"checks": selectors.latest_checks()})


@require_GET
def pick(request, kind):
    """Options for a filter's searchable list (a `<datalist>` the page refreshes as the person types)."""
    _readers_only(request)
    found = subjects.picker(kind)
    text = request.GET.get("q", request.GET.get(kind, ""))[:100]  # the input sends its own name
    options = found.options(text) if found is not None else []
    return render(request, "audit/_options.html", {"options": options})
