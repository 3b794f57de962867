"""What the sync engine keeps for itself (the grant ledger lives in `access`)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import AwsAccount, Entitlement


class AwsWriteLease(models.Model):
    """A short exclusive lease on one AWS document that several workers read, merge and rewrite.

    IAM has no conditional writes, so two workers merging into the same inline policy at
    once would lose one of the merges. The lease is taken with a conditional insert or
    update (never a transaction held across an AWS call) and runs out on its own if its
    holder dies.
    """

    key = models.CharField(max_length=400, unique=True)
    holder = models.UUIDField()
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.key} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class IamPrincipal(models.Model):
    """An IAM user the portal knows to exist in one account: it created it, or AWS showed it.

    The sync engine ensures a person's IAM user once per account, before their grants, and
    keeps this row so later grants skip the check. A user deleted outside the portal is found
    when a change answers NoSuchEntity: the row is dropped and the user ensured again.
    """

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="iam_principals")
    user_name = models.CharField(max_length=64)
    created_by_portal = models.BooleanField(default=False)
    ensured_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user_name"], name="one_iam_principal_per_account")]

    def __str__(self):
        return f"{self.user_name} in {self.account_id}"


class ReconcileRun(models.Model):
    """One full comparison of an account's access in AWS with the grant ledger, and what it did.

    At most one run per account is `running` at a time (the partial unique constraint is the
    guard a reconcile claims with a conditional insert); a run left running by a dead worker
    is marked failed once it is older than iam.reconcile.reconcile.STALE_RUN_AFTER.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    account = models.ForeignKey("catalog.AwsAccount", on_delete=models.CASCADE, related_name="reconcile_runs")
    mode = models.CharField(max_length=10, choices=AwsAccount.SyncMode.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # AWS API calls the run made (one per page of a listing), botocore's retries not counted.
    api_calls = models.PositiveIntegerField(default=0)
    # IAM users in the walk, plus the Identity Center users holding an assignment.
    principals_seen = models.PositiveIntegerField(default=0)
    # Changes to AWS, the ledger or the drift register: removals, grants queued again, rows opened or closed.
    changes_made = models.PositiveIntegerField(default=0)
    # Differences found: unmanaged access held, applied grants missing, removed grants still held.
    drift_found = models.PositiveIntegerField(default=0)
    missing_reapplied = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(status="running"), name="one_running_reconcile_per_account"
            ),
        ]
        indexes = [
            # Serves "the latest run of each account" (dashboards, the account's drift page).
            models.Index(fields=["account", "-started_at"], name="reconcile_run_latest"),
        ]

    def __str__(self):
        return f"Reconcile of {self.account_id} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class UnmanagedAccess(models.Model):
    """Access AWS shows that the grant ledger does not hold: drift, until removed, adopted or gone.

    One open row per account, kind, principal and AWS name; each later sighting moves
    `last_seen`. A row leaves `open` once: removed by the reconciler (enforce mode), adopted
    into the ledger by a governance admin, or gone (no longer seen in AWS).
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        REMOVED = "removed", "Removed from AWS"
        ADOPTED = "adopted", "Adopted into the ledger"
        GONE = "gone", "No longer in AWS"

    account = models.ForeignKey("catalog.AwsAccount", on_delete=models.CASCADE, related_name="unmanaged_access")
    kind = models.CharField(max_length=20, choices=Entitlement.Kind.choices)
    # The IAM user name; for permission sets, the Identity Center user name.
    aws_principal = models.CharField("AWS principal", max_length=128)
    # The group or role name, the policy or permission set ARN.
    aws_name = models.CharField("AWS name or ARN", max_length=2048)
    # Also kept for removal: the Identity Center user's email, to find them again.
    principal_email = models.CharField(max_length=254, blank=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entitlement = models.ForeignKey(
        "catalog.Entitlement", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Why enforce mode could not remove it yet (AWS's message); empty once it could.
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name_plural = "unmanaged access"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "aws_principal", "aws_name"],
                condition=models.Q(state="open"),
                name="one_open_unmanaged_access",
            ),
        ]
        indexes = [
            # Serves the drift report and each reconcile's comparison: an account's open rows.
            models.Index(
                fields=["account", "kind"], condition=models.Q(state="open"), name="unmanaged_open_by_account"
            ),
        ]

    def __str__(self):
        return f"{self.aws_principal} holds {self.aws_name} ({self.get_kind_display()}, {self.get_state_display()})"

    @property
    def key(self) -> tuple[str, str, str]:
        """What a sighting is matched on (iam.facts.inventory.Held.key)."""
        return self.kind, self.aws_principal, self.aws_name


class ImportRun(models.Model):
    """One import of an account's entitlements from AWS, asked for on the catalog console, and how far
    it got: the page polls this row for its progress bar and keeps it as the record of what was found.

    At most one import per account is waiting or running (the partial unique constraint, claimed with a
    conditional insert); one left behind by a dead worker is closed as failed once older than
    iam.catalog_import.import_runs.STALE_AFTER, so it never blocks the next.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    UNREADABLE_NAMES_KEPT = 100

    account = models.ForeignKey("catalog.AwsAccount", on_delete=models.CASCADE, related_name="import_runs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Progress: the kinds listed so far out of those to list, plus one for saving what was new.
    steps_done = models.PositiveSmallIntegerField(default=0)
    steps_total = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=200, blank=True)
    found = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    already_present = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Entitlements with a policy document that could not be read (imported all the same, the problem stored
    # on each), and the first UNREADABLE_NAMES_KEPT of their names for the summary.
    unreadable = models.PositiveIntegerField(default=0)
    unreadable_names = models.JSONField(default=list, blank=True)
    # What went wrong, in words for the page (AWS's own message kept after them).
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_import_per_account",
            ),
        ]
        indexes = [
            # Serves the import page's latest import of each account.
            models.Index(fields=["account", "-requested_at"], name="import_run_latest"),
        ]

    def __str__(self):
        return f"Import of {self.account_id} at {self.requested_at:%Y-%m-%d %H:%M:%S} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def unreadable_not_named(self) -> int:
        return self.unreadable - len(self.unreadable_names)
