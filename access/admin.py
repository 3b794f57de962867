"""Requests, votes and grants in the Django admin, read-only (services alone change them); the catalog's
entitlements, whose terms change through the same service as Governance → Entitlements."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from access.services.entitlements import Terms, change_entitlement, check_terms
from accounts.roles import is_governance_admin
from audit.admin import AuditedAdmin, ReadOnlyAdmin
from catalog.models import DurationUnit, Entitlement
from inputs.refusals import Refusal


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    readonly_fields = ("step", "label", "required", "state", "activated_at", "decided_at", "escalations")
    fields = readonly_fields

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


class EntitlementAdminForm(forms.ModelForm):
    """Adding an entitlement in the admin meets the terms' checks of the catalog console before it is created."""

    class Meta:
        model = Entitlement
        fields = [
            "account",
            "kind",
            "aws_name",
            "name",
            "description",
            "owners",
            "risk",
            "requestable",
            "max_duration_days",
            "duration_unit",
            "min_duration",
            "max_duration_hours",
            "approval_policy",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Sent without them (an older form, a script): days from 1, as the model's defaults say.
        for name in ("duration_unit", "min_duration"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_duration_unit(self):
        return self.cleaned_data.get("duration_unit") or DurationUnit.DAYS

    def clean_min_duration(self):
        return self.cleaned_data.get("min_duration") or 1

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not self.errors:
            try:
                check_terms(terms_from(self.cleaned_data))
            except Refusal as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned


def terms_from(cleaned: dict) -> Terms:
    policy = cleaned.get("approval_policy")
    return Terms(
        owner_ids=[owner.pk for owner in cleaned.get("owners", [])],
        risk=cleaned.get("risk", ""),
        requestable=bool(cleaned.get("requestable")),
        max_duration_days=cleaned.get("max_duration_days"),
        approval_policy_id=policy.pk if policy else None,
        duration_unit=cleaned.get("duration_unit") or DurationUnit.DAYS,
        min_duration=cleaned.get("min_duration") or 1,
        max_duration_hours=cleaned.get("max_duration_hours"),
    )


@admin.register(Entitlement)
class EntitlementAdmin(AuditedAdmin):
    """Break-glass only: Governance → Entitlements is where terms change. Here an entitlement the import
    cannot find may be added (governance admins; audited `catalog.entitlement_created`), and an existing
    one's terms change only through `access.services.entitlements.change_entitlement`, with its checks and
    its one audit event; a refusal is shown as a message and changes nothing. Other staff may look only.
    What identifies the entitlement in AWS, and its name and description, are read-only once it exists.

    Registered here, not in `catalog`, because the service it calls lives in `access` (a layer above).
    """

    form = EntitlementAdminForm
    list_display = [
        "name",
        "account",
        "kind",
        "aws_name",
        "risk",
        "requestable",
        "max_duration_days",
        "approval_policy",
        "policies_readable",
    ]
    list_filter = ["account", "kind", "risk", "requestable"]
    search_fields = ["name", "aws_name", "description"]
    # By name on `entitlement_by_name`; the model's order (account name, then name) sorts a join of all.
    ordering = ["name", "pk"]
    autocomplete_fields = ["owners"]
    list_select_related = ["account", "approval_policy", "permissions"]

    @admin.display(boolean=True, description="policies readable")
    def policies_readable(self, obj) -> bool | None:
        """False when a policy document behind it could not be read (its console page says which and why)."""
        permissions = getattr(obj, "permissions", None)
        return None if permissions is None else not permissions.unreadable

    def get_readonly_fields(self, request, obj=None):
        return ["account", "kind", "aws_name", "name", "description"] if obj is not None else []

    def has_add_permission(self, request):
        return is_governance_admin(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return is_governance_admin(request.user) and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        try:
            change_entitlement(entitlement_id=obj.pk, actor=request.user, terms=terms_from(form.cleaned_data))
        except Refusal as exc:
            request._entitlement_refusal = exc  # one ModelAdmin serves every request: kept on the request

    def save_related(self, request, form, formsets, change):
        if not change:  # the owners of a new entitlement, then its `created` event (AuditedAdmin)
            super().save_related(request, form, formsets, change)
        # A change's owners were set, and audited, by change_entitlement.

    def log_change(self, request, obj, message):
        if getattr(request, "_entitlement_refusal", None) is None:
            return super().log_change(request, obj, message)
        return None

    def response_change(self, request, obj):
        refusal = getattr(request, "_entitlement_refusal", None)
        if refusal is None:
            return super().response_change(request, obj)
        self.message_user(request, f"Nothing was changed: {refusal.message}", messages.ERROR)
        return HttpResponseRedirect(request.path)
