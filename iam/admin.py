"""Reconcile runs and the drift register in the Django admin: read only; adopting goes through iam.drift."""

from django.contrib import admin, messages

from access.errors import AccessError
from audit.admin import ReadOnlyAdmin
from iam import drift
from iam.models import ReconcileRun, UnmanagedAccess


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
