"""Review pages: my reviews, a campaign's queue with bulk decisions, and the owner's campaign page."""

from celery import current_app
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from access.errors import AccessError, StaleState
from catalog.models import AwsAccount, Risk
from reviews import selectors, services
from reviews.evidence import rows as evidence_rows
from reviews.models import Campaign, ReviewItem

PAGE_SIZE = 50


def _filters(params) -> dict:
    """The queue's filters from the query string (or, for "all that match", the form that repeats them)."""
    return {
        "only_undecided": params.get("all") != "1",
        "recommendation": params.get("recommendation", ""),
        "risk": params.get("risk", ""),
        "account": params.get("account", ""),
        "person": params.get("person", "").strip(),
        "group_by": "entitlement" if params.get("group_by") == "entitlement" else "person",
    }


def _reviewing(request, campaign_id) -> Campaign:
    """A campaign with items for this reviewer; anyone else gets a 404."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if not campaign.items.filter(reviewer=request.user).exists():
        raise Http404
    return campaign


def _refused(request, exc):
    messages.error(request, exc.message)
    return render(request, "errors/action_refused.html", {"message": exc.message}, status=exc.status)


@require_GET
def my_reviews(request):
    context = {
        "campaigns": selectors.campaigns_of_reviewer(request.user),
        "running": selectors.campaigns_run_by(request.user),
    }
    return render(request, "reviews/my_reviews.html", context)


@require_GET
def review_queue(request, campaign_id):
    campaign = _reviewing(request, campaign_id)
    filters = _filters(request.GET)
    items = selectors.queue(campaign, request.user, **filters)
    query = request.GET.copy()
    query.pop("page", None)
    mine = campaign.items.filter(reviewer=request.user)
    context = {
        "campaign": campaign,
        "filters": filters,
        "page": Paginator(items, PAGE_SIZE).get_page(request.GET.get("page")),
        "matching": items.count(),
        "query": query.urlencode(),
        "risks": Risk.choices,
        "accounts": AwsAccount.objects.order_by("name"),
        "total": mine.count(),
        "decided": mine.exclude(decision=ReviewItem.Decision.UNDECIDED).count(),
        "recommended": items.exclude(recommendation=ReviewItem.Decision.UNDECIDED).count(),
    }
    return render(request, "reviews/queue.html", context)


def _selected_ids(request, campaign) -> list[int]:
    """The ticked items, or every item matching the page's filters when "all that match" was chosen."""
    if request.POST.get("all_matching") == "1":
        matching = selectors.queue(campaign, request.user, **_filters(request.POST))
        return list(matching.values_list("pk", flat=True))
    return [int(pk) for pk in request.POST.getlist("items") if pk.isdigit()]


@require_POST
def decide(request, campaign_id):
    campaign = _reviewing(request, campaign_id)
    ids = _selected_ids(request, campaign)
    action = request.POST.get("action")
    try:
        if action == "accept":
            count = services.accept_recommendations(campaign_id=campaign.pk, item_ids=ids, actor=request.user)
            messages.success(request, f"Accepted the recommendation on {count} items.")
        else:
            count = services.decide(
                campaign_id=campaign.pk,
                item_ids=ids,
                actor=request.user,
                decision=action or "",
                comment=request.POST.get("comment", ""),
            )
            messages.success(request, f"{'Kept' if action == 'keep' else 'Revoked'} {count} items.")
    except AccessError as exc:
        return _refused(request, exc)
    return redirect(f"{reverse('reviews:queue', args=[campaign.pk])}?{request.POST.get('query', '')}")


@require_POST
def reassign(request, item_id):
    item = get_object_or_404(ReviewItem, pk=item_id)
    to = get_user_model().objects.filter(email__iexact=request.POST.get("to", "").strip(), is_active=True).first()
    if to is None:
        messages.error(request, "Nobody active in the portal has that email address.")
        return redirect("reviews:queue", campaign_id=item.campaign_id)
    try:
        services.reassign(item_id=item.pk, actor=request.user, to=to, reason=request.POST.get("reason", ""))
    except AccessError as exc:
        return _refused(request, exc)
    messages.success(request, f"Reassigned to {to}.")
    return redirect("reviews:queue", campaign_id=item.campaign_id)


def _owned(request, campaign_id) -> Campaign:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if request.user.pk != campaign.owner_id and not request.user.is_governance_admin:
        raise PermissionDenied
    return campaign


@require_GET
def campaign_detail(request, campaign_id):
    campaign = _owned(request, campaign_id)
    revoked = campaign.items.filter(decision=ReviewItem.Decision.REVOKE).select_related(
        "holder", "entitlement", "grant"
    )
    context = {
        "campaign": campaign,
        "reviewers": selectors.progress_by_reviewer(campaign),
        "per_day": selectors.decisions_per_day(campaign),
        "revoked": Paginator(revoked.order_by("pk"), PAGE_SIZE).get_page(request.GET.get("page")),
    }
    return render(request, "reviews/campaign.html", context)


@require_POST
def launch(request, campaign_id):
    campaign = _owned(request, campaign_id)
    if campaign.state != Campaign.State.DRAFT:
        return _refused(request, StaleState(f"This campaign is already {campaign.get_state_display().lower()}."))
    # The snapshot follows a fresh reconcile of the accounts in scope, so it runs in a worker.
    current_app.send_task("reviews.launch_fresh", args=[campaign.pk, request.user.pk])
    messages.success(
        request, f"{campaign.name} is launching: the accounts in scope are read from AWS first. Refresh in a moment."
    )
    return redirect("reviews:campaign", campaign_id=campaign.pk)


@require_POST
def sign_off(request, campaign_id):
    campaign = _owned(request, campaign_id)
    try:
        services.sign_off(campaign_id=campaign.pk, actor=request.user)
    except AccessError as exc:
        return _refused(request, exc)
    messages.success(request, f"{campaign.name} is signed off; revoked access is being removed from AWS.")
    return redirect("reviews:campaign", campaign_id=campaign.pk)


@require_GET
def evidence(request, campaign_id):
    campaign = _owned(request, campaign_id)
    response = StreamingHttpResponse(evidence_rows(campaign), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="review-{campaign.pk}-evidence.csv"'
    return response
