"""Break glass: taking an entitlement at once (the people allowed to) and reviewing it afterwards (its
would-be approvers, from the inbox). Who may is set on the entitlement's console page (views/entitlements.py).

Breaking glass needs a second factor from the last minutes (accounts.step_up_proof), asked before the service runs.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from access import selectors
from access.forms import BreakGlassForm, ReviewDecisionForm
from access.services import break_glass as glass
from access.views.common import show_refusal
from accounts import step_up_proof
from catalog.models import Entitlement
from inputs.refusal_pages import refused_page
from inputs.refusals import InvalidInput, Refusal


@require_http_methods(["GET", "POST"])
def break_glass(request, entitlement_id):
    entitlement = get_object_or_404(Entitlement.objects.select_related("account"), pk=entitlement_id)
    if selectors.break_glass_grounds(request.user, entitlement.pk) is None:
        raise PermissionDenied(f"You may not break glass for {entitlement.name}.")
    form = BreakGlassForm(request.POST or None, entitlement=entitlement)
    status = 200
    if request.method == "POST":
        status = 400
        if not step_up_proof.has_fresh_second_factor(request):
            back = reverse("access:break_glass", args=[entitlement.pk])
            return step_up_proof.ask_in_page(request, glass.STEP_UP, back_to=back)
        if form.is_valid():
            try:
                glass.break_glass(
                    requester=request.user,
                    entitlement_id=entitlement.pk,
                    reason=form.cleaned_data["reason"],
                    ticket=form.cleaned_data["ticket"],
                    recent_mfa=True,
                    **form.durations(),
                )
            except Refusal as exc:
                status = show_refusal(form, exc)
            else:
                messages.success(
                    request,
                    f"You broke glass for {entitlement.name}: it is being granted now. Your approvers were told "
                    f"and will review it within {glass.REVIEW_HOURS} hours.",
                )
                return redirect("access:my_requests")
    context = {"entitlement": entitlement, "form": form, "step_up_minutes": step_up_proof.window_minutes()}
    return render(request, "access/break_glass.html", context, status=status)


@require_POST
def review_decide(request, request_id, decision):
    form = ReviewDecisionForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(" ".join(str(error) for errors in form.errors.values() for error in errors))
        access_request = glass.decide_review(
            request_id=request_id,
            actor=request.user,
            confirm=decision == "confirm",
            comment=form.cleaned_data["comment"],
            recent_mfa=step_up_proof.has_fresh_second_factor(request),
        )
    except Refusal as exc:
        if request.headers.get("HX-Request"):
            context = {"request_id": request_id, "ok": False, "message": exc.message}
            return render(request, "access/_decision_result.html", context, status=exc.status)
        return refused_page(request, exc)
    what = f"{access_request.entitlement.name} for {access_request.beneficiary}"
    message = (
        f"You confirmed the break glass of {what}."
        if decision == "confirm"
        else f"You revoked the break glass of {what}: the access is being removed from AWS."
    )
    if request.headers.get("HX-Request"):
        context = {"request_id": request_id, "ok": True, "message": message}
        return render(request, "access/_decision_result.html", context)
    messages.success(request, message)
    return redirect("access:inbox")
