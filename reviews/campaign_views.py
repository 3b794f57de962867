"""Governance → Access reviews: the list of campaigns, defining a draft, and previewing its launch.

Governance admins define and launch; auditors read the list and the previews (every POST of theirs is
refused). Launch and sign-off stay on the campaign's page (reviews/views.py).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import is_auditor, is_governance_admin, reads_everything
from inputs.refusal_pages import access_or_error_page
from inputs.refusals import Refusal
from reviews import services
from reviews.access_rules import previewable
from reviews.forms import CampaignForm
from reviews.models import Campaign
from reviews.selectors import counted

PAGE_SIZE = 25


def _readers_only(request) -> None:
    if not reads_everything(request.user):
        raise PermissionDenied


def _admins_only(request) -> None:
    if not is_governance_admin(request.user):
        raise PermissionDenied


@require_GET
def campaigns(request):
    """Every campaign, newest first, with its state, progress and due date: two queries a page."""
    _readers_only(request)
    rows = (
        Campaign.objects.select_related("owner")
        .annotate(total=counted("total"), decided=counted("decided"))
        .order_by("-created_at", "-pk")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/campaigns.html",
        {"page": page, "can_define": is_governance_admin(request.user)},
    )


def _values(form: CampaignForm) -> dict:
    return dict(form.cleaned_data)


@require_http_methods(["GET", "POST"])
def campaign_new(request):
    _admins_only(request)
    form = CampaignForm(request.POST or None, initial={"reviewer_type": "manager", "undecided": "keep"})
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.save_draft(actor=request.user, values=_values(form))
        except Refusal as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return render(request, "reviews/campaign_form.html", {"form": form}, status=exc.status)
        messages.success(request, f"{campaign.name} is saved as a draft. Preview it, then launch it.")
        return redirect("reviews:campaign_preview", campaign_id=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "reviews/campaign_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def campaign_edit(request, campaign_id):
    _admins_only(request)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if campaign.state != Campaign.State.DRAFT:
        messages.info(request, "A launched campaign's scope is fixed: it says what was reviewed.")
        return redirect("reviews:campaign", campaign_id=campaign.pk)
    form = CampaignForm(request.POST or None, initial=CampaignForm.initial_of(campaign))
    context = {"form": form, "campaign": campaign}
    if request.method == "POST" and form.is_valid():
        try:
            services.save_draft(actor=request.user, values=_values(form), campaign_id=campaign.pk)
        except Refusal as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return render(request, "reviews/campaign_form.html", context, status=exc.status)
        messages.success(request, f"{campaign.name} is saved.")
        return redirect("reviews:campaign_preview", campaign_id=campaign.pk)
    return render(request, "reviews/campaign_form.html", context, status=400 if request.method == "POST" else 200)


@require_GET
def campaign_preview(request, campaign_id):
    """What the launch would snapshot now; htmx asks for the figures alone."""
    _readers_only(request)
    campaigns = Campaign.objects.select_related("owner", "fallback_reviewer")
    campaign = access_or_error_page(previewable, request.user, campaign_id, campaigns)
    if campaign.state != Campaign.State.DRAFT:
        return redirect("reviews:campaign", campaign_id=campaign.pk)
    context = {
        "campaign": campaign,
        "preview": services.preview(campaign),
        "refusal": services.launch_refusal(campaign),
        "changes": is_governance_admin(request.user) and not is_auditor(request.user),
    }
    template = "reviews/_preview.html" if request.headers.get("HX-Request") else "reviews/campaign_preview.html"
    return render(request, template, context)
