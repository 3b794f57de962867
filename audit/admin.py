import json

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from audit import subjects
from audit.models import AuditEvent, ChainCheck
from audit.pagination import ADMIN_PAGE_SIZE, CappedPaginator
from audit.services import record
from inputs.admin import IdsOnlyAdmin


class ListedAdmin(admin.ModelAdmin):
    """What every admin list of the portal shares: a page of 25 rows, never a count of the whole table,
    and its rows (each row's action checkbox too) written directly."""

    show_full_result_count = False  # see ReadOnlyAdmin
    paginator = CappedPaginator
    list_per_page = ADMIN_PAGE_SIZE
    # Rows written with each column worked out once a page (audit.admin_rows), the same HTML as Django's.
    change_list_template = "admin/listed_change_list.html"

    def action_checkbox(self, obj):
        """Django's checkbox, the same HTML (tests/pages/test_admin_lists.py compares them): Django renders
        it through the form widgets' templates, three template renders a row and a third of a list's row
        rendering (the entitlements' list at 1/100: 30 ms of 244 in the profile of a request)."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )

    def action_checkboxes(self):
        """`action_checkbox` for each row of a page (audit.admin_rows), its label translated once a page
        rather than once a row: the same HTML, the person's name escaped into the translated label as
        `format_html` does."""
        label = _("Select this object for an action - {}")

        def checkbox(obj) -> SafeString:
            return mark_safe(  # noqa: S308 - the id and the name escaped, the rest ours and the translation's
                f'<input type="checkbox" name="{ACTION_CHECKBOX_NAME}" value="{escape(obj.pk)}" class="action-select"'
                f' aria-label="{label.format(escape(obj))}">'
            )

        return checkbox


class ReadOnlyAdmin(ListedAdmin):
    """For records that only services write (the audit trail, requests, grants, notifications):
    the admin shows them and never adds, edits or deletes one."""

    # "N results (M total)" would count the whole table on every filtered view (docs/operations.md,
    # "At a company's size"); every list also names what it shows of related rows in
    # `list_select_related`, as Django follows only non-null keys on its own (one query per row).
    show_full_result_count = False
    # Even filtered, the admin counts its list for "N results": at most 10,001 rows are counted (the
    # count reads "10001" when there are more), not the million rows of the trail.
    paginator = CappedPaginator
    list_per_page = ADMIN_PAGE_SIZE

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _state(obj, secret_fields=()) -> dict:
    state = {}
    for key, value in model_to_dict(obj).items():
        if key not in secret_fields:
            state[key] = sorted(item.pk for item in value) if isinstance(value, list) else value
    # Dates and decimals as the JSON column will store them: the event's hash is computed on these
    # values, so they must read back exactly as written for verify_audit to agree.
    return json.loads(json.dumps(state, cls=DjangoJSONEncoder))


class AuditedAdmin(IdsOnlyAdmin, ListedAdmin):
    """Admin edits leave an audit event with the before and after state. Relations and actions take
    ids only: a submitted 20-digit or non-numeric "id" is a form error or a 400, not a 500."""

    # Fields never copied into the trail (a password hash); their own views audit changing them.
    audit_secret_fields: tuple[str, ...] = ()

    def get_changeform_initial_data(self, request):
        """The query string's values, less those for a date and time that are not one: the admin's
        date-time widget cannot show text and would fail (AttributeError) rather than say so."""
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            model_field = next((f for f in self.model._meta.concrete_fields if f.name == name), None)
            if isinstance(model_field, models.DateTimeField) and isinstance(value, str):
                try:
                    initial[name] = forms.DateTimeField().clean(value)
                except forms.ValidationError:
                    del initial[name]
        return initial

    def changeform_view(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().changeform_view(request, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        # Kept on the request: one ModelAdmin instance serves every request.
        request._audit_before = _state(type(obj).objects.get(pk=obj.pk), self.audit_secret_fields) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        action = f"{obj._meta.app_label}.{obj._meta.model_name}_{'changed' if change else 'created'}"
        record(
            actor=request.user,
            action=action,
            obj=obj,
            before=request._audit_before,
            after=_state(obj, self.audit_secret_fields),
        )

    def delete_model(self, request, obj):
        with transaction.atomic():
            record(
                actor=request.user,
                action=f"{obj._meta.app_label}.{obj._meta.model_name}_deleted",
                obj=obj,
                before=_state(obj, self.audit_secret_fields),
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


# The families of actions (the part before the dot), offered as fixed choices: a filter on the field itself
# would run SELECT DISTINCT action over the whole trail on every load of the list.
ACTION_FAMILIES = [
    "accounts",
    "approval",
    "auth",
    "campaign",
    "catalog",
    "drift",
    "grant",
    "mfa",
    "person",
    "posture",
    "request",
    "review",
    "sod",
    "token",
]


class ActionFamilyFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action_family"

    def lookups(self, request, model_admin):
        return [(family, f"{family}.…") for family in ACTION_FAMILIES]

    def queryset(self, request, queryset):
        family = self.value()
        return queryset.filter(action__startswith=f"{family}.") if family in ACTION_FAMILIES else queryset


class ObjectTypeFilter(admin.SimpleListFilter):
    """The object types the trail knows how to name (audit.subjects registrations): no query to list them."""

    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        return [(object_type, object_type) for object_type in subjects.registered_types()]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(object_type=value) if value in subjects.registered_types() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = [ActionFamilyFilter, ObjectTypeFilter]
    search_fields = ["actor_label", "object_id", "action"]


@admin.register(ChainCheck)
class ChainCheckAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "requested_by", "intact", "events_total", "outcome"]
    list_filter = ["intact"]
    list_select_related = ["requested_by"]
