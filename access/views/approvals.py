"""The approval inbox: decide one request inline (htmx) or several at once.

Approving a high-risk request or granting a separation-of-duties exception needs a second factor
from the last minutes (accounts.step_up_proof); without one the person is asked for a code first.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from access import selectors, services
from access.forms import DecisionForm
from access.models import Approval, ApprovalAssignment, GrantActivity
from access.step_up_policy import step_up_needed
from access.views.common import page_of, path_for_each
from accounts import step_up_proof
from inputs.refusals import InvalidInput, Refusal
from inputs.rules import ids_of

# Reasons every approver of a stage shares, which the inbox does not repeat: it names the others (an
# escalation's, a separation-of-duties exception's).
ROUTINE_REASONS = ("Owner of", "Manager of")


@dataclass
class PendingStage:
    """A stage of a request waiting for a decision, as a row of the inbox shows it."""

    step: int
    label: str
    required: int
    sod_rule_id: int | None
    # Reasons of its undecided votes beyond the routine ones (an escalation's, an exception's).
    unusual_reasons: list[str] = field(default_factory=list)


@dataclass
class InboxRow:
    """A request as a row of the inbox shows it (written by access.templatetags.inbox)."""

    request: Any  # selectors.inbox_requests' row
    # People by the name they are shown by (User.__str__: the full name, else the email).
    beneficiary: str
    manager: str | None
    requester: str
    holdings: list
    activity_so_far: GrantActivity | None
    approve_path: str
    deny_path: str
    stage_count: int = 0
    pending_stages: list[PendingStage] = field(default_factory=list)
    # A stage deciding a separation-of-duties exception asks for its mitigating control and end date.
    exception_stages: list[PendingStage] = field(default_factory=list)


def _read_stages(row: InboxRow, stage_rows) -> None:
    """What a row shows of the request's stages, from `selectors.stages_of`'s rows (one a vote)."""
    pending: dict[int, PendingStage] = {}
    for stage_row in stage_rows:
        if stage_row.state != Approval.State.PENDING:
            continue
        stage = pending.get(stage_row.pk)
        if stage is None:
            stage = pending[stage_row.pk] = PendingStage(
                stage_row.step, stage_row.label, stage_row.required, stage_row.sod_rule_id
            )
        reason = stage_row.assignments__reason
        if (
            stage_row.assignments__decision == ApprovalAssignment.Decision.PENDING
            and reason
            and not any(routine in reason for routine in ROUTINE_REASONS)
        ):
            stage.unusual_reasons.append(reason)
    row.stage_count = len({stage_row.pk for stage_row in stage_rows})
    row.pending_stages = list(pending.values())
    row.exception_stages = [stage for stage in row.pending_stages if stage.sod_rule_id]


def _inbox(request, status=200):
    # The page is cut from the list of ids (no count query), then only its requests are read.
    page = page_of(request, selectors.awaiting_decision_by(request.user))
    access_requests = selectors.inbox_requests(page.object_list)
    stages = selectors.stages_of(page.object_list)
    # An extension is decided knowing what was done with the access so far (CloudTrail).
    activities = selectors.extension_activities(access_requests)
    holdings = selectors.holdings_of(access_request.beneficiary_id for access_request in access_requests)
    approve_path, deny_path = path_for_each("access:approve"), path_for_each("access:deny")
    page.object_list = []
    for access_request in access_requests:
        row = InboxRow(
            request=access_request,
            beneficiary=access_request.beneficiary__full_name or access_request.beneficiary__email,
            manager=access_request.beneficiary__manager__full_name or access_request.beneficiary__manager__email,
            requester=access_request.requester__full_name or access_request.requester__email,
            holdings=holdings.get(access_request.beneficiary_id, []),
            activity_so_far=activities.get(access_request.pk),
            approve_path=approve_path(access_request.pk),
            deny_path=deny_path(access_request.pk),
        )
        _read_stages(row, stages.get(access_request.pk, []))
        page.object_list.append(row)
    context = {
        "page": page,
        "step_up_minutes": step_up_proof.window_minutes(),
        # After-the-fact reviews of break glass, soonest due first: few, and each due within a day.
        "reviews": list(selectors.break_glass_reviews_for(request.user)[:100]),
    }
    return render(request, "access/inbox.html", context, status=status)


@require_GET
def inbox(request):
    return _inbox(request)


@require_POST
def decide(request, request_id, decision):
    form = DecisionForm(request.POST)
    htmx = bool(request.headers.get("HX-Request"))
    if decision == "approve" and (doing := step_up_needed(request, [request_id])):
        return step_up_proof.ask_in_page(request, doing, back_to=reverse("access:inbox"))
    try:
        if not form.is_valid():
            raise InvalidInput(" ".join(str(error) for errors in form.errors.values() for error in errors))
        comment = form.cleaned_data["comment"]
        if decision == "approve":
            access_request = services.approve(
                request_id=request_id,
                actor=request.user,
                comment=comment,
                exception=form.exception_terms(),
                recent_mfa=step_up_proof.has_fresh_second_factor(request),
            )
        else:
            access_request = services.deny(
                request_id=request_id,
                actor=request.user,
                comment=comment,
                recent_mfa=step_up_proof.has_fresh_second_factor(request),
            )
    except Refusal as exc:
        if htmx:
            return render(
                request,
                "access/_decision_result.html",
                {"request_id": request_id, "ok": False, "message": exc.message},
                status=exc.status,
            )
        messages.error(request, exc.message)
        return _inbox(request, status=exc.status)
    verb = "approved" if decision == "approve" else "denied"
    message = f"You {verb} {access_request.entitlement.name} for {access_request.beneficiary}."
    if access_request.state == access_request.State.PENDING:
        message += " It now goes to the next approval stage."
    if htmx:
        return render(
            request, "access/_decision_result.html", {"request_id": request_id, "ok": True, "message": message}
        )
    messages.success(request, message)
    return redirect("access:inbox")


@require_POST
def bulk_decide(request):
    decision = request.POST.get("decision")
    ids = ids_of(request.POST.getlist("request_ids"))
    if decision not in ("approve", "deny") or not ids:
        messages.error(request, "Select at least one request, then approve or deny.")
        return _inbox(request, status=400)
    if decision == "approve" and (doing := step_up_needed(request, ids)):
        return step_up_proof.ask_in_page(request, doing, back_to=reverse("access:inbox"))
    outcomes = services.decide_many(
        request_ids=ids,
        actor=request.user,
        approve_them=decision == "approve",
        comment=request.POST.get("comment", "")[:2000],
        recent_mfa=step_up_proof.has_fresh_second_factor(request),
    )
    done = [outcome.message for outcome in outcomes if outcome.ok]
    refused = [outcome.message for outcome in outcomes if not outcome.ok]
    if done:
        verb = "Approved" if decision == "approve" else "Denied"
        messages.success(request, f"{verb} {len(done)}: {'; '.join(done)}.")
    for message in dict.fromkeys(refused):
        messages.error(request, message)
    return redirect("access:inbox")
