from django.contrib import admin, messages

from audit.admin import AuditedAdmin
from catalog.models import ApprovalPolicy, ApprovalStage, AwsAccount, Entitlement, IamUserName
from inputs.admin import IdsOnlyAdmin
from outbox.services import enqueue

IMPORT_TASK = "iam.import_entitlements"
CONNECT_TASK = "iam.connect_account"
RECONCILE_TASK = "iam.reconcile_account"


@admin.register(AwsAccount)
class AwsAccountAdmin(AuditedAdmin):
    list_display = ["name", "account_id", "sync_mode", "role_arn"]
    search_fields = ["name", "account_id"]
    actions = ["connect", "import_entitlements", "reconcile_now"]

    @admin.action(description="Connect: import entitlements, reconcile, adopt what portal people hold")
    def connect(self, request, queryset):
        for account in queryset:
            enqueue(CONNECT_TASK, account.pk, request.user.pk)
        messages.success(
            request,
            f"Connecting {queryset.count()} account(s) in the background: existing access "
            "becomes imported grants, so the first review covers reality.",
        )

    @admin.action(description="Reconcile now (compare AWS with the ledger)")
    def reconcile_now(self, request, queryset):
        for account in queryset:
            enqueue(RECONCILE_TASK, account.pk)
        messages.success(request, f"Reconciling {queryset.count()} account(s); see Operations for the figures.")

    @admin.action(description="Import groups, policies, roles and permission sets from AWS")
    def import_entitlements(self, request, queryset):
        # The listing calls AWS, so it runs in a worker; `iam` owns it and is named, not imported.
        for account in queryset:
            enqueue(IMPORT_TASK, account.pk, request.user.pk)
        messages.success(
            request,
            f"Importing from {queryset.count()} account(s) in the background. Imported entitlements are not "
            "requestable until you review them; you are their owner until you change it.",
        )


class ApprovalStageInline(IdsOnlyAdmin, admin.TabularInline):
    model = ApprovalStage
    extra = 1
    fields = ["order", "approvers", "mode", "required", "named_approvers"]
    autocomplete_fields = ["named_approvers"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(AuditedAdmin):
    list_display = ["name", "default_for_risk", "auto_approve", "fallback_approver"]
    autocomplete_fields = ["fallback_approver"]
    inlines = [ApprovalStageInline]


@admin.register(Entitlement)
class EntitlementAdmin(AuditedAdmin):
    list_display = [
        "name",
        "account",
        "kind",
        "aws_name",
        "risk",
        "requestable",
        "max_duration_days",
        "approval_policy",
    ]
    list_filter = ["account", "kind", "risk", "requestable"]
    search_fields = ["name", "aws_name", "description"]
    autocomplete_fields = ["owners"]
    list_select_related = ["account", "approval_policy"]


@admin.register(IamUserName)
class IamUserNameAdmin(AuditedAdmin):
    """A person's IAM user name in one account (two people whose emails share the local part). Governance
    admins only: the name decides whose AWS access a user's is."""

    list_display = ["name", "person", "account"]
    list_filter = ["account"]
    search_fields = ["name", "person__email", "person__full_name"]
    autocomplete_fields = ["person"]
    list_select_related = ["person", "account"]

    def has_module_permission(self, request):
        return request.user.is_governance_admin

    def has_view_permission(self, request, obj=None):
        return request.user.is_governance_admin

    def has_add_permission(self, request):
        return request.user.is_governance_admin

    def has_change_permission(self, request, obj=None):
        return request.user.is_governance_admin

    def has_delete_permission(self, request, obj=None):
        return request.user.is_governance_admin
