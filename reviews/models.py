"""Access review campaigns: a snapshot of who holds what, and a keep-or-revoke decision per line."""

from django.conf import settings
from django.db import models


class Campaign(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed (signed off)"

    class ReviewerType(models.TextChoices):
        MANAGER = "manager", "The holder's manager"
        OWNER = "owner", "The entitlement's owner"
        NAMED = "named", "Named reviewers"

    class Undecided(models.TextChoices):
        KEEP = "keep", "Keep the access"
        REVOKE = "revoke", "Revoke the access"
        ESCALATE = "escalate", "Escalate to the campaign owner"

    name = models.CharField(max_length=150)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_campaigns")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    reviewer_type = models.CharField(max_length=10, choices=ReviewerType.choices, default=ReviewerType.MANAGER)
    named_reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    fallback_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Reviews the access of people with no manager (or no other owner). Empty: the campaign owner.",
    )
    # Scope: empty means everything of that dimension.
    accounts = models.ManyToManyField("catalog.AwsAccount", blank=True, related_name="+")
    entitlements = models.ManyToManyField("catalog.Entitlement", blank=True, related_name="+")
    kinds = models.JSONField(default=list, blank=True)
    risks = models.JSONField(default=list, blank=True)
    departments = models.JSONField(default=list, blank=True)
    due_at = models.DateTimeField()
    undecided = models.CharField(max_length=10, choices=Undecided.choices, default=Undecided.KEEP)
    # A template repeats: beat copies it into a new campaign every `repeat_months` (3: quarterly).
    repeat_months = models.PositiveSmallIntegerField(default=0, help_text="0: once. 3: every quarter.")
    next_run_at = models.DateTimeField(null=True, blank=True)
    review_days = models.PositiveSmallIntegerField(default=14, help_text="Days reviewers get, for repeats.")
    template = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    created_at = models.DateTimeField(auto_now_add=True)
    # Evidence of the population, fixed at launch.
    snapshot_at = models.DateTimeField(null=True, blank=True)
    population_count = models.PositiveIntegerField(default=0)
    population_hash = models.CharField(max_length=64, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class ReviewItem(models.Model):
    """One person and one entitlement in a campaign's snapshot."""

    class Decision(models.TextChoices):
        UNDECIDED = "undecided", "Undecided"
        KEEP = "keep", "Keep"
        REVOKE = "revoke", "Revoke"

    class Remediation(models.TextChoices):
        NONE = "none", "Nothing to do"
        PENDING = "pending", "Removal pending"
        DONE = "done", "Removed (read back from AWS)"
        FAILED = "failed", "Removal failed"

    # A snapshot of up to millions of rows copied in one INSERT ... SELECT from rows that exist in the
    # same transaction and are never deleted (PROTECT): the database does not re-check each reference,
    # and the unique constraint below indexes (campaign, holder, entitlement) for all three lookups.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items", db_index=False)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    entitlement = models.ForeignKey(
        "catalog.Entitlement", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    grant = models.ForeignKey("access.Grant", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    origin = models.CharField(max_length=10)  # the grant's source at the snapshot: request, import, admin
    held_since = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_items", db_constraint=False
    )
    reviewer_reason = models.CharField(max_length=200)
    # What the evidence suggests, shown beside the line and kept as evidence of what was shown.
    recommendation = models.CharField(max_length=10, choices=Decision.choices, default=Decision.UNDECIDED)
    recommendation_reason = models.CharField(max_length=200, blank=True)
    # Usage evidence from IAM's Access Advisor, collected after launch (empty: not known yet).
    last_used_at = models.DateTimeField(null=True, blank=True)
    usage_evidence = models.CharField(max_length=200, blank=True, default="", db_default="")
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.UNDECIDED)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    automatic = models.BooleanField(default=False)  # decided by the campaign's undecided rule at sign-off
    remediation = models.CharField(max_length=10, choices=Remediation.choices, default=Remediation.NONE)

    class Meta:
        ordering = ["holder_id", "entitlement_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "holder", "entitlement"], name="one_item_per_holding"),
            models.CheckConstraint(condition=~models.Q(reviewer=models.F("holder")), name="nobody_reviews_self"),
            models.CheckConstraint(
                condition=~models.Q(decision="revoke") | ~models.Q(comment="") | models.Q(automatic=True),
                name="revoke_needs_a_comment",
            ),
        ]
        indexes = [
            # Serves the reviewer's queue: one reviewer's items in a campaign.
            models.Index(fields=["campaign", "reviewer", "decision"], name="review_queue"),
        ]

    def __str__(self):
        return f"{self.holder} / {self.entitlement_id} in {self.campaign_id}"

    @property
    def live_remediation(self) -> str:
        """What the grant ledger says now (needs `grant` loaded); `remediation` keeps it for the evidence."""
        if self.remediation == self.Remediation.NONE:
            return self.Remediation.NONE
        if self.grant.desired == "absent" and self.grant.sync_state == "revoked":
            return self.Remediation.DONE
        if self.grant.sync_state == "failed":
            return self.Remediation.FAILED
        return self.Remediation.PENDING

    def get_live_remediation_display(self) -> str:
        return self.Remediation(self.live_remediation).label
