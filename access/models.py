"""Requests for access, their approval steps, and the grant ledger (desired state)."""

from django.conf import settings
from django.db import models


class AccessRequest(models.Model):
    """Someone asks for an entitlement for a beneficiary (themselves, for now)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    beneficiary = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests")
    entitlement = models.ForeignKey("catalog.Entitlement", on_delete=models.PROTECT, related_name="requests")
    justification = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # No second pending request for the same person and entitlement.
            models.UniqueConstraint(
                fields=["beneficiary", "entitlement"],
                condition=models.Q(state="pending"),
                name="one_pending_request_per_person_entitlement",
            ),
            models.CheckConstraint(condition=~models.Q(justification=""), name="request_justification_required"),
        ]

    def __str__(self):
        return f"Request #{self.pk}: {self.entitlement} for {self.beneficiary}"


class Approval(models.Model):
    """One step of a request's approval chain."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Waiting"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvals")
    step = models.PositiveSmallIntegerField(default=1)
    # Who may decide. Empty: nobody in the chain is eligible, so governance admins decide.
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approval_steps"
    )
    routing_note = models.CharField(max_length=200, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["request_id", "step"]
        constraints = [
            models.UniqueConstraint(fields=["request", "step"], name="one_approval_per_step"),
        ]
        indexes = [
            # Serves the approval inbox: pending steps for one approver, oldest first.
            models.Index(
                fields=["approver", "request"],
                condition=models.Q(decision="pending"),
                name="approval_pending_by_approver",
            ),
        ]

    def __str__(self):
        return f"Step {self.step} of request #{self.request_id}"


class Grant(models.Model):
    """The ledger of desired access: AWS is made to match it, and only it."""

    class Source(models.TextChoices):
        REQUEST = "request", "Approved request"
        IMPORT = "import", "Imported from AWS"
        ADMIN = "admin", "Granted by an administrator"

    class Desired(models.TextChoices):
        PRESENT = "present", "Present"
        ABSENT = "absent", "Absent"

    class SyncState(models.TextChoices):
        PENDING = "pending", "Waiting to sync"
        IN_PROGRESS = "in_progress", "Syncing"
        APPLIED = "applied", "Active in AWS"
        FAILED = "failed", "Failed"
        REVOKED = "revoked", "Removed from AWS"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants")
    entitlement = models.ForeignKey("catalog.Entitlement", on_delete=models.PROTECT, related_name="grants")
    source = models.CharField(max_length=10, choices=Source.choices)
    request = models.ForeignKey(AccessRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    desired = models.CharField(max_length=10, choices=Desired.choices, default=Desired.PRESENT)
    sync_state = models.CharField(max_length=12, choices=SyncState.choices, default=SyncState.PENDING)
    # A worker's claim on this grant: only the holder of the token may record the outcome,
    # and a claim older than the lease may be taken over (the worker died).
    sync_claim = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sync_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField("read back from AWS at", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "entitlement"], name="one_grant_per_person_entitlement"),
            models.CheckConstraint(
                condition=~models.Q(source="request") | models.Q(request__isnull=False),
                name="grant_from_request_names_it",
            ),
        ]
        indexes = [
            # Serves the sync sweep: grants whose AWS state has not caught up yet.
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(sync_state__in=["pending", "in_progress"]),
                name="grant_waiting_for_sync",
            ),
        ]

    def __str__(self):
        return f"{self.entitlement} for {self.user} ({self.get_sync_state_display()})"
