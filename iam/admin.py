"""AWS accounts, reconcile runs and the drift register in the Django admin. Runs and the register are read
only; adopting goes through iam.drift, and an account's import through iam.imports, as on the portal's pages.

AWS accounts are registered here rather than in `catalog` (where the model lives) because their import
action calls `iam.imports.request_import`, a layer above the catalog.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from access.errors import AccessError, NotAllowed
from audit.admin import AuditedAdmin, ReadOnlyAdmin
from catalog.models import AwsAccount
from iam import drift, imports, tasks
from iam.models import ImportRun, ReconcileRun, UnmanagedAccess
from outbox.services import enqueue


@admin.register(AwsAccount)
class AwsAccountAdmin(AuditedAdmin):
    list_display = ["name", "account_id", "sync_mode", "role_arn"]
    search_fields = ["name", "account_id"]
    actions = ["connect", "import_entitlements", "reconcile_now"]

    @admin.action(description="Connect: import entitlements, reconcile, adopt what portal people hold")
    def connect(self, request, queryset):
        for account in queryset:
            enqueue(tasks.connect_account.name, account.pk, request.user.pk)
        messages.success(
            request,
            f"Connecting {queryset.count()} account(s) in the background: existing access "
            "becomes imported grants, so the first review covers reality.",
        )

    @admin.action(description="Reconcile now (compare AWS with the ledger)")
    def reconcile_now(self, request, queryset):
        for account in queryset:
            enqueue(tasks.reconcile_account.name, account.pk)
        messages.success(request, f"Reconciling {queryset.count()} account(s); see Operations for the figures.")

    @admin.action(description="Import groups, policies, roles and permission sets from AWS")
    def import_entitlements(self, request, queryset):
        """What Governance → Entitlements → Import from AWS does, account by account: one run per account
        (one already under way is followed, not doubled), audited, with its progress page in the portal."""
        for account in queryset.order_by("name"):
            try:
                run, started = imports.request_import(account_id=account.pk, actor=request.user)
            except NotAllowed as exc:
                messages.error(request, exc.message)
                return
            except AccessError as exc:
                messages.error(request, f"{account}: {exc.message}")
                continue
            link = reverse("iam:import_run", args=[run.pk])
            if run.status == ImportRun.Status.FAILED:
                messages.error(request, f"{account}: {run.error}")
            elif not started:
                messages.info(
                    request,
                    format_html('An import of {} was already under way: <a href="{}">follow it</a>.', account, link),
                )
            else:
                messages.success(
                    request,
                    format_html(
                        'Importing from {} in the background: <a href="{}">follow its progress</a>. Imported '
                        "entitlements are not requestable until you review them; you are their owner until you "
                        "change it.",
                        account,
                        link,
                    ),
                )


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "started_at",
        "status",
        "mode",
        "api_calls",
        "principals_seen",
        "drift_found",
        "missing_reapplied",
        "changes_made",
    ]
    list_filter = ["status", "mode", "account"]
    list_select_related = ["account"]


@admin.register(UnmanagedAccess)
class UnmanagedAccessAdmin(ReadOnlyAdmin):
    list_display = ["aws_principal", "kind", "aws_name", "account", "person", "state", "first_seen", "last_seen"]
    list_filter = ["state", "kind", "account"]
    search_fields = ["aws_principal", "aws_name", "person__email"]
    list_select_related = ["account", "person"]
    actions = ["adopt"]

    @admin.action(description="Adopt into the ledger as imported grants")
    def adopt(self, request, queryset):
        for row in queryset:
            try:
                drift.adopt(row.pk, request.user)
            except AccessError as exc:
                messages.warning(request, f"{row}: {exc.message}")
            else:
                messages.success(request, f"{row.aws_principal}'s {row.aws_name} is now a grant from import.")
