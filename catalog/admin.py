"""Approval policies and IAM user names in the Django admin. Entitlements are registered in `access/admin.py`
and AWS accounts in `iam/admin.py`: their admin calls services of those layers (catalog imports neither)."""

from django.contrib import admin

from audit.admin import AuditedAdmin
from catalog.models import ApprovalPolicy, ApprovalStage, IamUserName
from inputs.admin import IdsOnlyAdmin


class ApprovalStageInline(IdsOnlyAdmin, admin.TabularInline):
    model = ApprovalStage
    extra = 1
    fields = ["order", "approvers", "mode", "required", "named_approvers"]
    autocomplete_fields = ["named_approvers"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(AuditedAdmin):
    list_display = ["name", "default_for_risk", "auto_approve", "fallback_approver"]
    list_select_related = ["fallback_approver"]
    autocomplete_fields = ["fallback_approver"]
    inlines = [ApprovalStageInline]


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
