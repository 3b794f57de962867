from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.html import format_html_join

from audit.admin import AuditedAdmin, ReadOnlyAdmin
from sod.models import EntitlementPermissions, SodException, SodRule, SodViolation
from sod.scan import current_holdings, dry_run
from sod.services import rule_views

DRY_RUN_SHOWN = 50


@admin.register(SodRule)
class SodRuleAdmin(AuditedAdmin):
    """Every change is audited. Save a new rule disabled to see who it would flag before it takes effect."""

    list_display = ["name", "kind", "severity", "enforcement", "owner", "enabled"]
    list_filter = ["kind", "severity", "enforcement", "enabled"]
    search_fields = ["name", "why"]
    autocomplete_fields = ["owner", "set_a", "set_b"]
    readonly_fields = ["would_flag_today"]
    fields = [
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
        "would_flag_today",
    ]

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
    list_display = ["entitlement", "fetched_at", "error"]
    list_select_related = ["entitlement"]
