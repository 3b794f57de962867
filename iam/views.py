"""Operations: per AWS account, how the last reconciles went, drift to adopt, failed grants to retry."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from access import services as access_services
from access.models import ApprovalAssignment, Grant, GrantActivity
from accounts import roles
from audit.models import AuditEvent
from catalog.models import AwsAccount
from iam import tasks
from iam.models import ReconcileRun, UnmanagedAccess
from iam.reconcile import drift_actions
from inputs.refusal_pages import refusals_as_page
from outbox.services import enqueue

RECENT_RUNS = 20


def _readers_only(request) -> None:
    """Governance admins and auditors see operations; everyone else gets 403."""
    if not roles.reads_everything(request.user):
        raise PermissionDenied


def _admin_only(request) -> None:
    """Reconciling, adopting and retrying are governance admins' alone (auditors only read): 403."""
    if not roles.is_governance_admin(request.user):
        raise PermissionDenied


@require_GET
def operations(request):
    _readers_only(request)
    latest = ReconcileRun.objects.filter(account=OuterRef("pk")).order_by("-started_at")
    # Counted for each account of the page from its open drift alone (the partial index
    # `unmanaged_open_by_account`), never by joining every account to all of its drift and grouping
    # them all before the page is cut: that grew with the drift ever recorded.
    open_drift = (
        UnmanagedAccess.objects.filter(account=OuterRef("pk"), state=UnmanagedAccess.State.OPEN)
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    accounts = AwsAccount.objects.annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        open_drift=Coalesce(Subquery(open_drift, output_field=IntegerField()), Value(0)),
    ).order_by("name")
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    runs = ReconcileRun.objects.in_bulk([account.last_run_id for account in page if account.last_run_id])
    # Counted from the failed grants alone (the partial index `grant_sync_failed`), never by joining every
    # account to all of its grants: the rare state is where the read starts.
    failed = dict(
        Grant.objects.filter(sync_state=Grant.SyncState.FAILED, entitlement__account__in=[a.pk for a in page])
        .order_by()
        .values_list("entitlement__account")
        .annotate(n=Count("pk"))
    )
    for account in page:
        # Shown by the template beside the account; not a field of the model.
        account.failed_grants = failed.get(account.pk, 0)  # type: ignore[attr-defined]
    rows = [(account, runs.get(account.last_run_id)) for account in page]
    return render(request, "iam/operations.html", {"page": page, "rows": rows})


@require_GET
def account_detail(request, account_id):
    _readers_only(request)
    account = get_object_or_404(AwsAccount, pk=account_id)
    drift_rows = (
        UnmanagedAccess.objects.filter(account=account, state=UnmanagedAccess.State.OPEN)
        .select_related("person", "entitlement")
        .order_by("-last_seen")
    )
    failed = (
        Grant.objects.filter(entitlement__account=account, sync_state=Grant.SyncState.FAILED)
        .select_related("user", "entitlement")
        .order_by("user__full_name")
    )
    runs = list(ReconcileRun.objects.filter(account=account).order_by("-started_at")[:RECENT_RUNS])
    context = {
        "account": account,
        "runs": runs,
        "chart": [
            {"at": run.started_at.isoformat(), "drift": run.drift_found, "changes": run.changes_made}
            for run in reversed(runs)
            if run.finished_at
        ],
        "drift": Paginator(drift_rows, 50).get_page(request.GET.get("drift_page")),
        "failed": Paginator(failed, 50).get_page(request.GET.get("failed_page")),
    }
    return render(request, "iam/account.html", context)


@require_POST
def reconcile_now(request, account_id):
    _admin_only(request)
    account = get_object_or_404(AwsAccount, pk=account_id)
    enqueue("iam.reconcile_account", account.pk)
    messages.success(request, f"A full reconcile of {account.name} is queued; refresh in a moment for its figures.")
    return redirect("iam:account", account_id=account.pk)


def _do(request, account_id, action, done: str):
    action()
    messages.success(request, done)
    return redirect("iam:account", account_id=account_id)


@require_POST
@refusals_as_page
def adopt(request, unmanaged_id):
    _admin_only(request)
    row = get_object_or_404(UnmanagedAccess.objects.select_related("account"), pk=unmanaged_id)
    return _do(
        request,
        row.account_id,
        lambda: drift_actions.adopt(row.pk, request.user),
        f"{row.aws_principal}'s {row.aws_name} is now in the ledger (imported), so reviews cover it.",
    )


@require_POST
@refusals_as_page
def retry(request, grant_id):
    _admin_only(request)
    grant = get_object_or_404(Grant.objects.select_related("entitlement"), pk=grant_id)
    return _do(
        request,
        grant.entitlement.account_id,
        lambda: access_services.retry_grant(grant_id=grant.pk, actor=request.user),
        f"{grant.entitlement.name} for {grant.user} is queued again.",
    )


def may_read_activity(user, grant: Grant) -> bool:
    """Governance admins, and whoever approved the request behind the grant, may ask for its activity."""
    if roles.is_governance_admin(user):
        return True
    return (
        grant.request_id is not None
        and ApprovalAssignment.objects.filter(approval__request_id=grant.request_id, decided_by=user).exists()
    )


@require_POST
def read_activity(request, grant_id):
    """Queue a fresh read of what was done with the grant, from its account's CloudTrail files."""
    grant = get_object_or_404(Grant.objects.select_related("user", "entitlement__account"), pk=grant_id)
    if not may_read_activity(request.user, grant):
        raise PermissionDenied
    enqueue(tasks.summarise_grant_activity.name, grant.pk)
    if grant.entitlement.account.cloudtrail_bucket:
        messages.success(request, f"Reading {grant.user}'s activity with {grant.entitlement.name} from CloudTrail.")
    else:
        messages.warning(request, "CloudTrail is not configured for this account.")
    if roles.reads_everything(request.user):
        return redirect("iam:grant_history", grant_id=grant.pk)
    return redirect("access:inbox")


@require_GET
def grant_history(request, grant_id):
    _readers_only(request)
    grant = get_object_or_404(Grant.objects.select_related("user", "entitlement__account"), pk=grant_id)
    activity = GrantActivity.objects.filter(grant=grant).first()
    events = (
        AuditEvent.objects.filter(object_type="access.grant", object_id=str(grant.pk))
        .select_related("actor")
        .order_by("seq")
    )
    return render(
        request,
        "iam/grant_history.html",
        {
            "grant": grant,
            "events": Paginator(events, 100).get_page(request.GET.get("page")),
            "activity": activity,
            "may_read_activity": may_read_activity(request.user, grant),
        },
    )
