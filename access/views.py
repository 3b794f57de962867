"""Pages for requesting and approving access. Thin: they call services and selectors."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import selectors, services
from access.errors import AccessError
from access.forms import DecisionForm, RequestForm
from catalog.models import Entitlement
from catalog.selectors import requestable_entitlements

PAGE_SIZE = 25


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
def catalog(request):
    search = request.GET.get("q", "").strip()
    entitlements = selectors.annotate_held_and_pending(requestable_entitlements(search), request.user)
    return render(request, "access/catalog.html", {"page": _page(request, entitlements), "q": search})


@require_http_methods(["GET", "POST"])
def request_new(request, entitlement_id):
    entitlement = get_object_or_404(
        Entitlement.objects.select_related("account").prefetch_related("owners"), pk=entitlement_id
    )
    form = RequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.submit_request(
                    requester=request.user, entitlement=entitlement, justification=form.cleaned_data["justification"]
                )
            except AccessError as exc:
                form.add_error(exc.field, exc.message)
                status = exc.status
            else:
                messages.success(request, f"Your request for {entitlement.name} was sent for approval.")
                return redirect("access:my_requests")
        else:
            status = 400
    return render(request, "access/request_new.html", {"entitlement": entitlement, "form": form}, status=status)


@require_GET
def my_requests(request):
    return render(request, "access/my_requests.html", {"page": _page(request, selectors.requests_of(request.user))})


@require_GET
def my_access(request):
    context = {
        "grants": _page(request, selectors.access_of(request.user)),
        "syncing": selectors.has_pending_sync(request.user),
    }
    template = "access/_access_table.html" if request.headers.get("HX-Request") else "access/my_access.html"
    return render(request, template, context)


@require_GET
def inbox(request):
    steps = selectors.pending_steps_for_approver(request.user)
    return render(request, "access/inbox.html", {"page": _page(request, steps), "form": DecisionForm()})


@require_POST
def decide(request, request_id, decision):
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    service = services.approve if decision == "approve" else services.deny
    try:
        access_request = service(request_id=request_id, actor=request.user, comment=comment)
    except AccessError as exc:
        messages.error(request, exc.message)
        steps = selectors.pending_steps_for_approver(request.user)
        context = {"page": _page(request, steps), "form": DecisionForm()}
        return render(request, "access/inbox.html", context, status=exc.status)
    verb = "approved" if decision == "approve" else "denied"
    messages.success(request, f"You {verb} {access_request.entitlement.name} for {access_request.beneficiary}.")
    return redirect("access:inbox")
