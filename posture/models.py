"""Posture scans of an AWS account and the findings they keep open until fixed."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from posture.checks import CONTROLS, HIGH, LOW, MEDIUM


class Severity(models.TextChoices):
    HIGH = HIGH, "High"
    MEDIUM = MEDIUM, "Medium"
    LOW = LOW, "Low"


class PostureScan(models.Model):
    """One evaluation of every control on one account; the scorecard's trend is drawn from these."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    account = models.ForeignKey("catalog.AwsAccount", on_delete=models.CASCADE, related_name="posture_scans")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    controls_passed = models.PositiveSmallIntegerField(default=0)
    controls_failed = models.PositiveSmallIntegerField(default=0)
    # When AWS generated the credential report the scan evaluated.
    report_generated_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The scorecard: an account's latest scans, newest first.
            models.Index(fields=["account", "-started_at"], name="posture_scan_account_recent"),
        ]

    def __str__(self) -> str:
        return f"Posture scan of {self.account} at {self.started_at:%Y-%m-%d %H:%M}"


class PostureFinding(models.Model):
    """A principal failing a control. Open while scans keep seeing it; resolved when one no longer does."""

    account = models.ForeignKey("catalog.AwsAccount", on_delete=models.CASCADE, related_name="posture_findings")
    control_id = models.CharField(
        max_length=32, choices=[(key, f"{key} {title}") for key, (title, _) in CONTROLS.items()]
    )
    # The IAM user, "user:credential", policy ARN, "<root_account>" or "account".
    principal = models.CharField(max_length=2048)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # The credential report fields (or AWS answers) the verdict was drawn from.
    evidence = models.JSONField(default=dict)
    # The portal person known in AWS by the finding's IAM user name, when there is one.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="posture_findings"
    )
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["control_id", "principal"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "control_id", "principal"],
                condition=models.Q(resolved_at__isnull=True),
                name="posture_one_open_finding",
            ),
        ]
        indexes = [
            # The findings list: one account's findings filtered by control and severity, open first.
            models.Index(fields=["account", "control_id", "severity", "resolved_at"], name="posture_finding_list"),
        ]

    def __str__(self) -> str:
        return f"{self.control_id} {self.principal}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def title(self) -> str:
        return CONTROLS[self.control_id][0]
