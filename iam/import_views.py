"""Governance → Entitlements → Import from AWS: one button per account, and a page following an import.

Governance admins start imports; auditors read the page and the runs; everyone else gets 403. Starting
one is POST only; the progress page polls itself (htmx) until the run has finished.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import is_auditor, is_governance_admin
from catalog.models import AwsAccount
from iam.catalog_import import import_runs
from iam.models import ImportRun
from iam.views import _admin_only, _readers_only
from inputs.refusal_pages import refusals_as_page

PAGE_SIZE = 50


@require_GET
def import_page(request):
    """Each account with its latest import: two queries a page (accounts, then their latest runs)."""
    _readers_only(request)
    latest = ImportRun.objects.filter(account=OuterRef("pk")).order_by("-requested_at")
    accounts = AwsAccount.objects.annotate(last_import_id=Subquery(latest.values("pk")[:1])).order_by("name")
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    runs = ImportRun.objects.in_bulk([account.last_import_id for account in page if account.last_import_id])
    context = {
        "page": page,
        "rows": [(account, runs.get(account.last_import_id)) for account in page],
        "changes": is_governance_admin(request.user) and not is_auditor(request.user),
    }
    return render(request, "iam/imports.html", context)


@require_POST
@refusals_as_page
def start_import(request, account_id):
    _admin_only(request)
    account = get_object_or_404(AwsAccount, pk=account_id)
    run, started = import_runs.request_import(account_id=account.pk, actor=request.user)
    if run.status == ImportRun.Status.FAILED:
        messages.error(request, run.error)
    elif not started:
        messages.info(request, f"An import of {account.name} was already under way: here is its progress.")
    return redirect("iam:import_run", run_id=run.pk)


@require_GET
def import_run(request, run_id):
    """An import's progress; htmx asks for the fragment alone every second while it runs."""
    _readers_only(request)
    run = get_object_or_404(ImportRun.objects.select_related("account", "requested_by"), pk=run_id)
    if request.headers.get("HX-Request"):
        return render(request, "iam/_import_progress.html", {"run": run})
    return render(request, "iam/import_run.html", {"run": run})
