from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.html import format_html_join

from accounts import roles
from audit.admin import AuditedAdmin, ReadOnlyAdmin
from sod.holdings import current_holdings
from sod.models import EntitlementPermissions, SodException, SodRule, SodViolation
from sod.rules import save_rule, sets_problem
from sod.scan import dry_run
from sod.services import rule_views

DRY_RUN_SHOWN = 50


# What a governance admin edits on a rule, in the order shown.
RULE_FIELDS = [
    "name",
    "why",
    "kind",
    "severity",
    "enforcement",
    "owner",
    "enabled",
    "set_a",
    "set_b",
    "actions",
    "detect_in_activity",
]


class SodRuleAdminForm(forms.ModelForm):
    class Meta:
        model = SodRule
        fields = RULE_FIELDS

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what ModelForm.clean returns, typed as such
        if problem := sets_problem(cleaned.get("kind"), cleaned.get("set_a"), cleaned.get("set_b")):
            self.add_error("set_a", problem)
        return cleaned


@admin.register(SodRule)
class SodRuleAdmin(AuditedAdmin):
    """Break-glass edits (the portal's Governance → SoD rules is the everyday page), saved by the same
    service as that page: governance admins only, validated and audited there."""

    form = SodRuleAdminForm

    list_display = ["name", "kind", "severity", "enforcement", "owner", "enabled"]
    list_select_related = ["owner"]
    list_filter = ["kind", "severity", "enforcement", "enabled"]
    search_fields = ["name", "why"]
    autocomplete_fields = ["owner", "set_a", "set_b"]
    readonly_fields = ["would_flag_today"]
    fields = [*RULE_FIELDS, "would_flag_today"]

    def has_add_permission(self, request):
        return roles.is_governance_admin(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return roles.is_governance_admin(request.user) and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        """Saved with its sets in save_related, by the service."""

    def save_related(self, request, form, formsets, change):
        fields = {name: value for name, value in form.cleaned_data.items() if name not in ("set_a", "set_b")}
        rule = save_rule(
            actor=request.user,
            rule=form.instance if change else None,
            fields=fields,
            set_a=form.cleaned_data.get("set_a"),
            set_b=form.cleaned_data.get("set_b"),
        )
        form.instance.pk = rule.pk

    @admin.display(description="Would flag today (dry run)")
    def would_flag_today(self, rule):
        if rule.pk is None:
            return "Save the rule (disabled, if you like) to see who it would flag."
        view = rule_views(SodRule.objects.filter(pk=rule.pk))[0]
        flagged = dry_run(view, current_holdings())
        if not flagged:
            return "Nobody holds this combination today."
        people = get_user_model().objects.in_bulk(list(flagged)[:DRY_RUN_SHOWN])
        shown = format_html_join("", "<li>{}</li>", ((str(person),) for person in people.values()))
        more = f" and {len(flagged) - DRY_RUN_SHOWN} more" if len(flagged) > DRY_RUN_SHOWN else ""
        return format_html_join("", "{}", [(f"{len(flagged)} people{more}:",)]) + format_html_join(
            "", "<ul>{}</ul>", [(shown,)]
        )


@admin.register(SodViolation)
class SodViolationAdmin(ReadOnlyAdmin):
    list_display = ["user", "rule", "first_seen", "last_seen", "resolved_at", "exception"]
    list_filter = ["rule", "resolved_at"]
    list_select_related = ["user", "rule", "exception"]


@admin.register(SodException)
class SodExceptionAdmin(ReadOnlyAdmin):
    list_display = ["user", "rule", "ends_at", "approved_by", "expired_at"]
    list_select_related = ["user", "rule", "approved_by"]


@admin.register(EntitlementPermissions)
class EntitlementPermissionsAdmin(ReadOnlyAdmin):
    list_display = ["entitlement", "fetched_at", "error", "unreadable"]
    list_select_related = ["entitlement__account"]  # an entitlement is named with its account
