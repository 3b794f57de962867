"""Governance → Entitlements: every entitlement with its terms and holders, and one entitlement's terms
edited with the stages its requests would go through.

Governance admins change; auditors read the same pages without the controls (their POST is 403);
everyone else gets 403 for the whole section.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import selectors
from access.entitlement_form import BreakGlassEligibilityForm, EntitlementTermsForm
from access.routing import outline_stages
from access.services.break_glass import set_eligibility
from access.services.entitlements import change_entitlement
from access.views.common import page_of, show_refusal
from accounts.roles import is_auditor, is_governance_admin, reads_everything
from catalog.filters import ConsoleEntitlementFilter
from catalog.models import Entitlement
from catalog.selectors import console_entitlements, owner_names
from inputs.refusals import Refusal
from sod.selectors import permissions_of


def _readers_only(request) -> None:
    if not reads_everything(request.user):
        raise PermissionDenied


def _changes(request) -> bool:
    return is_governance_admin(request.user) and not is_auditor(request.user)


@require_GET
def entitlements(request):
    """The list, filtered and paginated; the page's holder counts and unreadable policies in its query, its
    owners' names in one more."""
    _readers_only(request)
    filters = ConsoleEntitlementFilter(request.GET, queryset=console_entitlements())
    page = page_of(request, selectors.with_holders(filters.qs))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "rows": page.object_list,
        "owners": owner_names(entitlement.pk for entitlement in page),
        "query": query.urlencode(),
        "changes": _changes(request),
    }
    template = "access/_entitlement_rows.html" if request.headers.get("HX-Request") else "access/entitlements.html"
    return render(request, template, context)


def _entitlement(entitlement_id) -> Entitlement:
    return get_object_or_404(
        Entitlement.objects.select_related("account", "approval_policy__fallback_approver").prefetch_related("owners"),
        pk=entitlement_id,
    )


@require_http_methods(["GET", "POST"])
def entitlement_edit(request, entitlement_id):
    _readers_only(request)
    changes = _changes(request)
    if request.method == "POST" and not changes:
        raise PermissionDenied
    entitlement = _entitlement(entitlement_id)
    form = EntitlementTermsForm(request.POST or None, initial=EntitlementTermsForm.initial_of(entitlement))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                change_entitlement(entitlement_id=entitlement.pk, actor=request.user, terms=form.terms())
            except Refusal as exc:
                status = show_refusal(form, exc)
            else:
                messages.success(request, f"{entitlement.name} is saved.")
                return redirect("access:entitlement_edit", entitlement_id=entitlement.pk)
        entitlement = _entitlement(entitlement_id)  # as saved: the refused change is not shown as if it were
    return _edit_page(request, entitlement, form, _glass_form(entitlement), status)


def _glass_form(entitlement: Entitlement, data=None) -> BreakGlassEligibilityForm:
    people, departments = selectors.break_glass_eligibility_of(entitlement)
    initial = {"people": [person.pk for person in people], "departments": departments}
    return BreakGlassEligibilityForm(data, initial=initial, chosen_departments=departments)


def _edit_page(request, entitlement, form, glass_form, status=200):
    changes = _changes(request)
    if not changes:
        for field in [*form.fields.values(), *glass_form.fields.values()]:
            field.disabled = True
    context = {
        "entitlement": entitlement,
        "form": form,
        "glass_form": glass_form,
        "outline": _outline(entitlement, form),
        "changes": changes,
        "permissions": permissions_of(entitlement.pk),
    }
    return render(request, "access/entitlement_edit.html", context, status=status)


@require_POST
def break_glass_eligibility(request, entitlement_id):
    """Who may break glass for the entitlement, set by governance admins below its terms."""
    _readers_only(request)
    if not _changes(request):
        raise PermissionDenied
    entitlement = _entitlement(entitlement_id)
    glass_form = _glass_form(entitlement, request.POST)
    if glass_form.is_valid():
        try:
            set_eligibility(
                entitlement_id=entitlement.pk,
                actor=request.user,
                person_ids=[person.pk for person in glass_form.cleaned_data["people"]],
                departments=glass_form.cleaned_data["departments"],
            )
        except Refusal as exc:
            show_refusal(glass_form, exc)
        else:
            messages.success(request, f"Who may break glass for {entitlement.name} is saved.")
            return redirect("access:entitlement_edit", entitlement_id=entitlement.pk)
    form = EntitlementTermsForm(initial=EntitlementTermsForm.initial_of(entitlement))
    return _edit_page(request, entitlement, form, glass_form, status=400)


@require_GET
def entitlement_stages(request, entitlement_id):
    """The stages for the terms on the form as it stands (htmx, when the policy, risk or owners change)."""
    _readers_only(request)
    entitlement = _entitlement(entitlement_id)
    form = EntitlementTermsForm(request.GET, initial=EntitlementTermsForm.initial_of(entitlement))
    return render(request, "access/_entitlement_stages.html", {"outline": _outline(entitlement, form)})


def _outline(entitlement: Entitlement, form: EntitlementTermsForm):
    """The stages for the form's valid choices over the saved terms, on an unsaved copy."""
    owners = list(entitlement.owners.all())
    if form.is_bound:
        form.is_valid()
        chosen = form.cleaned_data
        entitlement = Entitlement(
            pk=entitlement.pk,
            name=entitlement.name,
            account=entitlement.account,
            risk=chosen.get("risk") or entitlement.risk,
            approval_policy=chosen.get("approval_policy", entitlement.approval_policy),
        )
        owners = list(chosen.get("owners", owners))
    return outline_stages(entitlement, owners)
