"""Review pages: my reviews, a campaign's queue with bulk decisions, and the owner's campaign page.

Governance admins and auditors read every campaign: its page, every line of its queue (without
decision controls) and its evidence. An auditor's POST is refused (403) whatever else they are.
Who may see, read, decide in or change a campaign is `reviews.access_rules`, shared with the API.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import step_up_proof
from accounts.roles import is_auditor, reads_everything
from audit.pagination import COUNT_CAP, CappedPaginator
from catalog.models import AwsAccount, Risk
from inputs.refusal_pages import access_or_error_page, refusals_as_page
from inputs.refusals import Refusal
from inputs.rules import ids_of
from reviews import access_rules, notices, selectors, services
from reviews.models import REVOKED_OR_REMEDIATED, Campaign, ReviewItem

# 25 lines a page, as every other list of the portal: a line with its evidence and three forms is the
# costliest row the portal draws (at 50 the page took 30x a bare view to render, issue 21), and a reviewer
# with thousands of lines decides them by the filters and "all that match", not by paging.
PAGE_SIZE = 25


def _filters(params) -> dict:
    """The queue's filters from the query string (or, for "all that match", the form that repeats them)."""
    return {
        "only_undecided": params.get("all") != "1",
        "recommendation": params.get("recommendation", ""),
        "risk": params.get("risk", ""),
        "account": params.get("account", ""),
        "person": params.get("person", "").strip(),
        "group_by": "entitlement" if params.get("group_by") == "entitlement" else "person",
        "stage": params.get("stage", "") if params.get("stage") in ("1", "2") else "",
    }


def _narrowed(filters: dict) -> bool:
    """Whether the queue's filters pick some lines out (undecided-only and grouping pick none)."""
    return any(filters[name] for name in ("recommendation", "risk", "account", "person", "stage"))


def _writes(view):
    """POST only, and never by an auditor (403): auditors read everything and change nothing."""

    @require_POST
    @wraps(view)
    def guarded(request, *args, **kwargs):
        access_or_error_page(access_rules.refuse_auditors, request.user)
        return view(request, *args, **kwargs)

    return guarded


@require_GET
def my_reviews(request):
    context = {
        "campaigns": selectors.campaigns_of_reviewer(request.user),
        "running": selectors.campaigns_run_by(request.user),
        "reads_everything": reads_everything(request.user),
    }
    return render(request, "reviews/my_reviews.html", context)


@require_GET
def review_queue(request, campaign_id):
    campaign, deciding = access_or_error_page(access_rules.queue_of, request.user, campaign_id)
    filters = _filters(request.GET)
    items = selectors.queue(campaign, request.user if deciding else None, **filters)
    query = request.GET.copy()
    query.pop("page", None)
    if deciding:
        progress = selectors.reviewer_progress(campaign, request.user)
        total, decided = progress["total"] + progress["handed_on"], progress["decided"] + progress["handed_on"]
    else:
        progress = selectors.progress(campaign)
        total, decided = progress["total"], progress["decided"]
    paginator: Paginator[ReviewItem] = CappedPaginator(items, PAGE_SIZE)
    if not _narrowed(filters):
        # The reviewer's lines (or the whole campaign's) from the progress counters, not a COUNT of
        # thousands (100,000) of lines; a narrowed list is counted up to the cap.
        mine = (progress["total"], progress["decided"]) if deciding else (total, decided)
        paginator = Paginator(items, PAGE_SIZE)
        paginator.count = mine[0] - (mine[1] if filters["only_undecided"] else 0)
    context = {
        "campaign": campaign,
        "deciding": deciding,
        "filters": filters,
        "page": paginator.get_page(request.GET.get("page")),
        "matching": paginator.count,
        "query": query.urlencode(),
        "risks": Risk.choices,
        "accounts": AwsAccount.objects.order_by("name"),
        "progress": progress,
        "total": total,
        "decided": decided,
        # Counted up to the cap, as a narrowed list is: "All" over a fallback reviewer's 50,000 lines counted
        # every one of them on each view (20 ms at ten times a company's size).
        "recommended": (
            items.exclude(recommendation=ReviewItem.Decision.UNDECIDED).order_by().values("pk")[: COUNT_CAP + 1].count()
            if deciding
            else 0
        ),
        "count_cap": COUNT_CAP,
    }
    return render(request, "reviews/queue.html", context)


def _selected_ids(request, campaign) -> list[int]:
    """The ticked items, or every item matching the page's filters when "all that match" was chosen."""
    if request.POST.get("all_matching") == "1":
        matching = selectors.queue(campaign, request.user, **_filters(request.POST))
        return list(matching.values_list("pk", flat=True))
    return ids_of(request.POST.getlist("items"))


@_writes
@refusals_as_page
def decide(request, campaign_id):
    campaign = access_or_error_page(access_rules.reviewing, request.user, campaign_id)
    ids = _selected_ids(request, campaign)
    action = request.POST.get("action")
    if action == "accept":
        count = services.accept_recommendations(campaign_id=campaign.pk, item_ids=ids, actor=request.user)
        note = _handed_on(request, campaign, ids)
        messages.success(request, f"Accepted the recommendation on {count} items.{note}")
    else:
        count = services.decide(
            campaign_id=campaign.pk,
            item_ids=ids,
            actor=request.user,
            decision=action or "",
            comment=request.POST.get("comment", ""),
        )
        messages.success(
            request,
            f"{'Kept' if action == 'keep' else 'Revoked'} {count} items.{_handed_on(request, campaign, ids)}",
        )
    notices.tell_owner_if_ready(campaign.pk)
    return redirect(f"{reverse('reviews:queue', args=[campaign.pk])}?{request.POST.get('query', '')}")


@_writes
@refusals_as_page
def reassign(request, item_id):
    item = get_object_or_404(ReviewItem, pk=item_id)
    to = get_user_model().objects.filter(email__iexact=request.POST.get("to", "").strip(), is_active=True).first()
    services.reassign(item_id=item.pk, actor=request.user, to=to, reason=request.POST.get("reason", ""))
    messages.success(request, f"Reassigned to {to}.")
    return redirect("reviews:queue", campaign_id=item.campaign_id)


def _handed_on(request, campaign: Campaign, ids: list[int]) -> str:
    """Says how many of the lines just kept went on to the second stage (they leave this queue)."""
    if not campaign.second_stage:
        return ""
    moved = (
        campaign.items.filter(pk__in=ids, stage=ReviewItem.Stage.OWNER, first_decided_by=request.user)
        .exclude(reviewer=request.user)
        .count()
    )
    return f" {moved} went on to the entitlement's owner for the second stage." if moved else ""


@require_GET
def campaign_detail(request, campaign_id):
    return _campaign_page(request, access_or_error_page(access_rules.readable, request.user, campaign_id))


def _campaign_page(request, campaign: Campaign, status: int = 200):
    remediation = (
        campaign.items.filter(REVOKED_OR_REMEDIATED)
        .select_related("holder", "entitlement", "grant", "unmanaged")
        .order_by("pk")
    )
    context = {
        "campaign": campaign,
        "changes": not is_auditor(request.user)
        and (request.user.pk == campaign.owner_id or request.user.is_governance_admin),
        "reads_everything": reads_everything(request.user),
        "progress": selectors.progress(campaign),
        **_shown("reviewers", *selectors.progress_by_reviewer_shown(campaign, REVIEWERS_SHOWN)),
        "per_day": selectors.decisions_per_day(campaign),
        **(
            _shown("follow_ups", *selectors.follow_ups_shown(campaign, REVIEWERS_SHOWN))
            if campaign.snapshot_at
            else _shown("follow_ups", [], 0)
        ),
        # Shown once the campaign is closed; counted up to the cap (a third of 100,000 lines may be revoked).
        "revoked": CappedPaginator(remediation, PAGE_SIZE).get_page(request.GET.get("page"))
        if campaign.state == Campaign.State.CLOSED
        else None,
        "evidence_packs": selectors.recent_evidence_packs(campaign),
        "evidence_inline_max": settings.EVIDENCE_INLINE_MAX_LINES,
    }
    response = render(request, "reviews/campaign.html", context, status=status)
    if request.headers.get("HX-Request") and campaign.state != Campaign.State.DRAFT:
        response["HX-Refresh"] = "true"  # the launch finished while the page polled: show the whole campaign
    return response


# Reviewers listed on the campaign page, per list; a campaign at a company's size has 1,000 of them,
# and rendering every one (twice) was what still grew with the campaign once its counts were counters.
REVIEWERS_SHOWN = 100


def _shown(name: str, rows: list, total: int) -> dict:
    """The first REVIEWERS_SHOWN rows (read as the first so many, in the database) as `name`, and how many
    more there are of `total` as `name`_more."""
    return {name: rows, f"{name}_more": max(0, total - len(rows))}


@_writes
def launch(request, campaign_id):
    campaign = access_or_error_page(access_rules.owned, request.user, campaign_id)
    try:
        # Refused here, with the reason, when it could not succeed; else the worker reconciles the
        # accounts in scope and takes the snapshot, and this page follows it.
        services.request_launch(campaign_id=campaign.pk, actor=request.user)
    except Refusal as exc:
        messages.error(request, exc.message)
        return _campaign_page(request, campaign, status=exc.status)
    messages.success(request, f"{campaign.name} is launching: the accounts in scope are read from AWS first.")
    return redirect("reviews:campaign", campaign_id=campaign.pk)


@_writes
@refusals_as_page
def sign_off(request, campaign_id):
    campaign = access_or_error_page(access_rules.owned, request.user, campaign_id)
    if not step_up_proof.has_fresh_second_factor(request):
        back = reverse("reviews:campaign", args=[campaign.pk])
        return step_up_proof.ask_in_page(request, "Signing off a review campaign", back_to=back)
    services.sign_off(campaign_id=campaign.pk, actor=request.user)
    messages.success(request, f"{campaign.name} is signed off; revoked access is being removed from AWS.")
    return redirect("reviews:campaign", campaign_id=campaign.pk)
