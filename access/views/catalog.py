"""Browsing the catalog, requesting one entitlement, and the cart."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import selectors, services
from access.forms import CheckoutForm, RequestForm
from access.routing import plan_approvals
from access.services.sod_checks import findings_before_sending, notices_for, plan_with_sod
from access.views import cart
from access.views.common import page_of, path_for_each, show_refusal, submitted_message
from catalog.filters import EntitlementFilter
from catalog.models import Entitlement
from catalog.selectors import requestable_entitlements
from inputs.refusals import Refusal


def _back(request, default: str):
    target = request.POST.get("next", "")
    # A path on this site only: `redirect` takes anything else for a view name to reverse, and fails on it.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


@require_GET
def catalog(request):
    filters = EntitlementFilter(request.GET, queryset=requestable_entitlements())
    entitlements = selectors.annotate_held_and_pending(filters.qs, request.user)
    query = request.GET.copy()
    query.pop("page", None)
    page = page_of(request, entitlements)
    page.object_list = list(page.object_list)
    detail_path, cart_add_path, request_path = (
        path_for_each(name) for name in ("access:entitlement", "access:cart_add", "access:request_new")
    )
    for entitlement in page.object_list:
        entitlement.detail_path = detail_path(entitlement.pk)
        entitlement.cart_add_path = cart_add_path(entitlement.pk)
        entitlement.request_path = request_path(entitlement.pk)
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "cart_ids": cart.cart_ids(request),
        "here": request.get_full_path(),
        "checkout_path": reverse("access:checkout"),
    }
    if request.headers.get("HX-Request"):
        return render(request, "access/_catalog_results.html", context)
    context["options"] = {name: _options(filters, name) for name in ("account", "kind", "risk")}
    return render(request, "access/catalog.html", context)


def _options(filters, name: str) -> list[tuple[str, str, bool]]:
    """A filter's options as (value, label, chosen), for its select. Read here rather than by the template,
    which compared each option to the chosen value through the form's bound field (50 accounts at a
    company's size), and counted the accounts in a query of its own before reading them."""
    chosen = str(filters.form[name].value())
    return [(str(value), str(label), str(value) == chosen) for value, label in filters.form.fields[name].choices]


@require_GET
def entitlement_detail(request, entitlement_id):
    entitlement = get_object_or_404(
        Entitlement.objects.select_related("account", "approval_policy").prefetch_related("owners"), pk=entitlement_id
    )
    may_see_holders = request.user.is_governance_admin or request.user in entitlement.owners.all()
    context = {
        "entitlement": entitlement,
        "plan": plan_approvals(entitlement, request.user, request.user),
        "holders": page_of(request, selectors.holders_of(entitlement)) if may_see_holders else None,
        "in_cart": entitlement.pk in cart.cart_ids(request),
        # Only the people a governance admin allowed see the action (access.services.break_glass).
        "may_break_glass": selectors.break_glass_grounds(request.user, entitlement.pk) is not None,
    }
    return render(request, "access/entitlement_detail.html", context)


def _beneficiary(form):
    return get_user_model().objects.get(pk=form.cleaned_data["beneficiary"])


@require_http_methods(["GET", "POST"])
def request_new(request, entitlement_id):
    entitlement = get_object_or_404(
        Entitlement.objects.select_related("account").prefetch_related("owners"), pk=entitlement_id
    )
    form = RequestForm(request.POST or None, user=request.user, entitlement=entitlement)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                created = services.submit_request(
                    requester=request.user,
                    beneficiary=_beneficiary(form),
                    entitlement=entitlement,
                    justification=form.cleaned_data["justification"],
                    **form.durations(),
                )
            except Refusal as exc:
                status = show_refusal(form, exc)
            else:
                messages.success(request, submitted_message([created]))
                return redirect("access:my_requests")
    # What separation of duties will say, before sending: the same judgement submission makes.
    findings = findings_before_sending(request.user, [entitlement])
    context = {
        "entitlement": entitlement,
        "form": form,
        "plan": plan_with_sod(entitlement, request.user, request.user, findings[entitlement.pk]),
        "sod_notices": notices_for(findings, [entitlement], request.user)[entitlement.pk],
    }
    return render(request, "access/request_new.html", context, status=status)


@require_POST
def cart_add(request, entitlement_id):
    entitlement = get_object_or_404(Entitlement, pk=entitlement_id, requestable=True)
    if cart.add(request, entitlement.pk):
        messages.success(request, f"{entitlement.name} is in your request. Add more or check out.")
    else:
        messages.info(request, f"{entitlement.name} is already in your request.")
    return _back(request, "access:catalog")


@require_POST
def cart_remove(request, entitlement_id):
    cart.remove(request, entitlement_id)
    messages.info(request, "Removed from your request.")
    return redirect("access:checkout")


@require_http_methods(["GET", "POST"])
def checkout(request):
    entitlements = cart.cart_entitlements(request)
    form = CheckoutForm(request.POST or None, user=request.user, entitlements=entitlements)
    status = 200
    if request.method == "POST":
        status = 400
        if not entitlements:
            messages.error(request, "Your request is empty. Add entitlements from the catalog first.")
        elif form.is_valid():
            items = [form.cart_item(entitlement, services.CartItem) for entitlement in entitlements]
            try:
                created = services.submit_cart(
                    requester=request.user,
                    beneficiary=_beneficiary(form),
                    items=items,
                    justification=form.cleaned_data["justification"],
                )
            except Refusal as exc:
                status = show_refusal(form, exc)
            else:
                cart.clear(request)
                messages.success(request, submitted_message(created))
                return redirect("access:my_requests")
    # The cart's items are judged together, as submission judges them: each against the rest too.
    findings = findings_before_sending(request.user, entitlements) if entitlements else {}
    notices = notices_for(findings, entitlements, request.user) if entitlements else {}
    plans = [
        (
            entitlement,
            form[f"duration_{entitlement.pk}"],
            plan_with_sod(entitlement, request.user, request.user, findings[entitlement.pk]),
        )
        for entitlement in entitlements
    ]
    context = {"form": form, "items": plans, "sod_notices": [n for e in entitlements for n in notices[e.pk]]}
    return render(request, "access/checkout.html", context, status=status)
