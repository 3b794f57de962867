"""Separation-of-duties rules, the permissions entitlements carry, violations and exceptions."""

from django.conf import settings
from django.db import models

from sod.action_names import problems_with


class SodRule(models.Model):
    """A toxic combination: entitlements from set A with set B, or IAM actions held together."""

    class Kind(models.TextChoices):
        ENTITLEMENTS = "entitlements", "Entitlements from both sets"
        PERMISSIONS = "permissions", "IAM actions held together"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class Enforcement(models.TextChoices):
        BLOCK = "block", "Block the request"
        EXCEPTION = "exception", "Allow with an exception approved by the rule owner"

    name = models.CharField(max_length=150, unique=True)
    why = models.TextField(help_text="What could go wrong if one person held both.")
    kind = models.CharField(max_length=15, choices=Kind.choices, default=Kind.ENTITLEMENTS)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    enforcement = models.CharField(max_length=10, choices=Enforcement.choices, default=Enforcement.BLOCK)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_sod_rules")
    set_a = models.ManyToManyField("catalog.Entitlement", blank=True, related_name="+", verbose_name="set A")
    set_b = models.ManyToManyField("catalog.Entitlement", blank=True, related_name="+", verbose_name="set B")
    # Concrete IAM action names (service:Action), for permission rules.
    actions = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # Detective, for permission rules: also flag, after the fact, a person whose CloudTrail calls inside one
    # grant's window include every action the rule names (read when a grant's activity is read). Off by default:
    # it costs a closer look at every log file of the window.
    detect_in_activity = models.BooleanField(
        default=False,
        verbose_name="flag people who did all of it",
        help_text="Permission rules: after a grant's activity is read from CloudTrail, record a finding when its "
        "holder called every one of the rule's actions inside the grant's window.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SoD rule"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Permission rules name concrete IAM actions (service:Action), at least two of them."""
        from django.core.exceptions import ValidationError

        if self.kind != self.Kind.PERMISSIONS:
            if self.detect_in_activity:
                raise ValidationError(
                    {"detect_in_activity": "Only a permission rule can be judged on what was done: it names actions."}
                )
            return
        actions = self.actions if isinstance(self.actions, list) else [self.actions]
        problems = problems_with(actions)
        if problems:
            raise ValidationError({"actions": problems})


class EntitlementPermissions(models.Model):
    """The policy documents behind an entitlement, as AWS last answered (fetched by the iam app)."""

    entitlement = models.OneToOneField("catalog.Entitlement", on_delete=models.CASCADE, related_name="permissions")
    # [{"source": "arn or name it came from", "document": {...IAM policy document...}}, ...]
    documents = models.JSONField(default=list)
    fetched_at = models.DateTimeField()
    # AWS refused or did not answer the last read (its words); the documents above are the last ones read.
    error = models.TextField(blank=True)
    # Which of the documents AWS answered at the last read could not be read as a policy, and what is wrong
    # with each, in words for the entitlement's page; the documents above are the last ones all read whole.
    # Emptied by the next read that reads every one.
    unreadable = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "entitlement permissions"

    def __str__(self) -> str:
        return f"Permissions of {self.entitlement_id}"


class SodException(models.Model):
    """An approved exception: this person may hold this combination until `ends_at`, with a control."""

    rule = models.ForeignKey(SodRule, on_delete=models.PROTECT, related_name="exceptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sod_exceptions")
    mitigating_control = models.TextField()
    ends_at = models.DateTimeField()
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    request_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the expiry was processed (violation re-opened, owner told).
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ends_at"]
        verbose_name = "SoD exception"
        constraints = [
            models.CheckConstraint(condition=~models.Q(mitigating_control=""), name="exception_needs_a_control"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} for {self.user} until {self.ends_at:%Y-%m-%d}"


class SodViolation(models.Model):
    """Someone holds a toxic combination. Open while it lasts; covered while an exception runs."""

    rule = models.ForeignKey(SodRule, on_delete=models.CASCADE, related_name="violations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sod_violations")
    details = models.JSONField(default=dict)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    exception = models.ForeignKey(SodException, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-first_seen"]
        verbose_name = "SoD violation"
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "user"], condition=models.Q(resolved_at__isnull=True), name="one_open_violation"
            ),
        ]
        indexes = [
            # Serves the violations report: open ones newest first.
            models.Index(fields=["first_seen"], condition=models.Q(resolved_at__isnull=True), name="violation_open"),
        ]

    def __str__(self) -> str:
        return f"{self.user} breaks {self.rule}"


class SodActivityFinding(models.Model):
    """Detective: a person called every action of a permission rule inside one grant's window, as CloudTrail
    recorded it. One row per rule and grant, brought up to date each time the grant's activity is read, with
    the CloudTrail event ids of the calls on each side (the evidence to look them up by)."""

    rule = models.ForeignKey(SodRule, on_delete=models.CASCADE, related_name="activity_findings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sod_activity_findings")
    # The grant whose window was read: an id, not a key, since grants live in `access`, above this app.
    grant_id = models.PositiveBigIntegerField()
    account = models.ForeignKey("catalog.AwsAccount", on_delete=models.PROTECT, related_name="+")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # {"iam:PassRole": ["<eventID>", ...], "lambda:CreateFunction": [...]}: at most MAX_EVENT_IDS per action.
    event_ids = models.JSONField(default=dict)
    first_call_at = models.DateTimeField()
    last_call_at = models.DateTimeField()
    found_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    MAX_EVENT_IDS = 20

    class Meta:
        ordering = ["-found_at"]
        verbose_name = "SoD finding from activity"
        verbose_name_plural = "SoD findings from activity"
        constraints = [
            models.UniqueConstraint(fields=["rule", "grant_id"], name="one_activity_finding_per_rule_grant"),
        ]
        indexes = [models.Index(fields=["found_at", "id"], name="activity_finding_by_found")]

    def __str__(self) -> str:
        return f"{self.user} did all of {self.rule}"
