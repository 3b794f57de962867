"""My access: what I hold, its sync state and end date; extend or give it back."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import selectors, services
from access.forms import ExtensionForm
from access.models import Grant
from access.views.common import page_of, show_refusal, submitted_message
from inputs.refusal_pages import refusals_as_page
from inputs.refusals import Refusal


@require_GET
def my_access(request):
    context = {
        "grants": page_of(request, selectors.access_of(request.user)),
        "syncing": selectors.has_pending_sync(request.user),
    }
    template = "access/_access_table.html" if request.headers.get("HX-Request") else "access/my_access.html"
    return render(request, template, context)


@require_POST
@refusals_as_page
def give_back(request, grant_id):
    grant = services.give_back(grant_id=grant_id, actor=request.user)
    messages.success(request, f"{grant.entitlement.name} is being removed from your AWS access.")
    return redirect("access:my_access")


@require_http_methods(["GET", "POST"])
def extend(request, grant_id):
    grant = get_object_or_404(
        Grant.objects.select_related("entitlement__account"),
        pk=grant_id,
        user=request.user,
        desired=Grant.Desired.PRESENT,
    )
    form = ExtensionForm(request.POST or None, entitlement=grant.entitlement)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                created = services.request_extension(
                    requester=request.user,
                    grant_id=grant.pk,
                    **form.durations(),
                    justification=form.cleaned_data["justification"],
                )
            except Refusal as exc:
                status = show_refusal(form, exc)
            else:
                messages.success(request, submitted_message([created], extension=True))
                return redirect("access:my_requests")
    return render(request, "access/extend.html", {"grant": grant, "form": form}, status=status)
