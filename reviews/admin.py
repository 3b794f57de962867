from django.contrib import admin

from audit.admin import AuditedAdmin, ReadOnlyAdmin
from reviews.models import Campaign, ReviewItem

# What the snapshot was taken with: fixed once launched, so the campaign keeps saying what it reviewed.
FIXED_AT_LAUNCH = [
    "reviewer_type",
    "second_stage",
    "named_reviewers",
    "fallback_reviewer",
    "accounts",
    "entitlements",
    "kinds",
    "risks",
    "departments",
]


@admin.register(Campaign)
class CampaignAdmin(AuditedAdmin):
    """Break-glass edits only (audited): campaigns are defined, previewed, launched and signed off in the
    portal (Governance → Access reviews). A run's template is set by the repeat, never picked here."""

    list_display = ["name", "owner", "state", "reviewer_type", "second_stage", "due_at", "population_count"]
    list_select_related = ["owner"]
    list_filter = ["state", "reviewer_type", "second_stage"]
    autocomplete_fields = ["owner", "fallback_reviewer", "named_reviewers", "accounts", "entitlements"]
    readonly_fields = [
        "template",
        "launch_requested_at",
        "launch_error",
        "state",
        "snapshot_at",
        "population_count",
        "population_hash",
        "closed_at",
        "signed_off_by",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.state != Campaign.State.DRAFT:
            return [*self.readonly_fields, *FIXED_AT_LAUNCH]
        return self.readonly_fields


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = [
        "campaign",
        "holder",
        "aws_principal",
        "entitlement",
        "origin",
        "stage",
        "reviewer",
        "recommendation",
        "decision",
        "remediation",
    ]
    list_filter = ["campaign", "origin", "stage", "decision", "remediation"]
    list_select_related = ["campaign", "holder", "entitlement__account", "reviewer"]
    # Newest lines first, by the primary key's index: the model's order (holder, entitlement) would sort
    # every line of every campaign for one page.
    ordering = ["-pk"]
