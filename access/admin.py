from django.contrib import admin

from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from audit.admin import ReadOnlyAdmin


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    fields = ["step", "label", "required", "state", "activated_at", "decided_at", "escalations"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "beneficiary", "entitlement", "state", "created_at"]
    list_filter = ["state"]
    search_fields = ["beneficiary__email", "entitlement__name"]
    list_select_related = ["beneficiary", "entitlement__account"]
    inlines = [ApprovalInline]


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["user", "entitlement", "desired", "sync_state", "sync_attempts", "verified_at", "last_error"]
    list_filter = ["sync_state", "desired", "source"]
    search_fields = ["user__email", "entitlement__name"]
    list_select_related = ["user", "entitlement__account"]


@admin.register(ApprovalAssignment)
class ApprovalAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["approval", "approver", "reason", "decision", "decided_by", "decided_at", "automatic"]
    list_filter = ["decision", "automatic"]
    list_select_related = ["approval", "approver", "decided_by"]
