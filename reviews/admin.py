from django.contrib import admin

from audit.admin import AuditedAdmin, ReadOnlyAdmin
from reviews.models import Campaign, ReviewItem


@admin.register(Campaign)
class CampaignAdmin(AuditedAdmin):
    """Campaigns are defined here (audited) and launched and signed off from their page."""

    list_display = ["name", "owner", "state", "reviewer_type", "due_at", "population_count"]
    list_filter = ["state", "reviewer_type"]
    autocomplete_fields = ["owner", "fallback_reviewer", "named_reviewers", "accounts", "entitlements"]
    readonly_fields = ["state", "snapshot_at", "population_count", "population_hash", "closed_at", "signed_off_by"]


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "holder", "entitlement", "reviewer", "recommendation", "decision", "remediation"]
    list_filter = ["campaign", "decision", "remediation"]
    list_select_related = ["campaign", "holder", "entitlement", "reviewer"]
