from django.contrib import admin
from django.db import transaction
from django.forms.models import model_to_dict

from audit.models import AuditEvent
from audit.services import record


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that only services write (the audit trail, requests, grants, notifications):
    the admin shows them and never adds, edits or deletes one."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
        action = f"{obj._meta.app_label}.{obj._meta.model_name}_{'changed' if change else 'created'}"
        record(actor=request.user, action=action, obj=obj, before=request._audit_before, after=_state(obj))

    def delete_model(self, request, obj):
        with transaction.atomic():
            record(
                actor=request.user,
                action=f"{obj._meta.app_label}.{obj._meta.model_name}_deleted",
                obj=obj,
                before=_state(obj),
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_id", "action"]
