from celery import current_app
from django.contrib import admin, messages
from django.db import transaction
from django.forms.models import model_to_dict

from audit.services import record
from catalog.models import ApprovalPolicy, ApprovalStage, AwsAccount, Entitlement

IMPORT_TASK = "iam.import_entitlements"


def _state(obj) -> dict:
    state = {}
    for key, value in model_to_dict(obj).items():
        state[key] = sorted(item.pk for item in value) if isinstance(value, list) else value
    return state


class AuditedAdmin(admin.ModelAdmin):
    """Catalog edits in the admin leave an audit event with the before and after state."""

    def changeform_view(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().changeform_view(request, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        # Kept on the request: one ModelAdmin instance serves every request.
        request._audit_before = _state(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        action = f"catalog.{obj._meta.model_name}_{'changed' if change else 'created'}"
        record(actor=request.user, action=action, obj=obj, before=request._audit_before, after=_state(obj))

    def delete_model(self, request, obj):
        with transaction.atomic():
            record(actor=request.user, action=f"catalog.{obj._meta.model_name}_deleted", obj=obj, before=_state(obj))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AwsAccount)
class AwsAccountAdmin(AuditedAdmin):
    list_display = ["name", "account_id", "sync_mode", "role_arn"]
    search_fields = ["name", "account_id"]
    actions = ["import_entitlements"]

    @admin.action(description="Import groups, policies, roles and permission sets from AWS")
    def import_entitlements(self, request, queryset):
        # The listing calls AWS, so it runs in a worker; `iam` owns it and is named, not imported.
        for account in queryset:
            current_app.send_task(IMPORT_TASK, args=[account.pk, request.user.pk])
        messages.success(
            request,
            f"Importing from {queryset.count()} account(s) in the background. Imported entitlements are not "
            "requestable until you review them; you are their owner until you change it.",
        )


class ApprovalStageInline(admin.TabularInline):
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
