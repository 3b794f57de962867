"""What can be granted: AWS accounts and the entitlements in them."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class AwsAccount(models.Model):
    """One AWS account the portal governs."""

    class SyncMode(models.TextChoices):
        REPORT = "report", "Report drift"
        ENFORCE = "enforce", "Enforce (remove unmanaged access)"

    account_id = models.CharField(
        "account id",
        max_length=12,
        unique=True,
        validators=[RegexValidator(r"^\d{12}$", "An AWS account id is exactly 12 digits.")],
    )
    name = models.CharField(max_length=100, unique=True)
    # Empty: use the credentials the portal runs with (the account it runs in, or the simulator).
    role_arn = models.CharField(
        "role ARN to assume",
        max_length=2048,
        blank=True,
        validators=[RegexValidator(r"^arn:aws[\w-]*:iam::\d{12}:role/.+$", "Enter an IAM role ARN.")],
    )
    external_id = models.CharField(max_length=1224, blank=True)
    sync_mode = models.CharField(max_length=10, choices=SyncMode.choices, default=SyncMode.REPORT)

    class Meta:
        ordering = ["name"]
        verbose_name = "AWS account"
        constraints = [
            models.CheckConstraint(condition=models.Q(account_id__regex=r"^\d{12}$"), name="account_id_12_digits"),
        ]

    def __str__(self):
        return f"{self.name} ({self.account_id})"


class Entitlement(models.Model):
    """One grantable thing in one account."""

    class Kind(models.TextChoices):
        IAM_GROUP = "iam_group", "IAM group"

    class Risk(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, related_name="entitlements")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.IAM_GROUP)
    # The name AWS knows it by, for example the IAM group name.
    aws_name = models.CharField(
        "AWS name",
        max_length=128,
        validators=[RegexValidator(r"^[\w+=,.@-]+$", "Use letters, digits and + = , . @ _ - only.")],
    )
    name = models.CharField("display name", max_length=150)
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="owned_entitlements")
    risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.MEDIUM)
    requestable = models.BooleanField(default=True)

    class Meta:
        ordering = ["account__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "aws_name"], name="entitlement_unique_in_account"),
        ]

    def __str__(self):
        return f"{self.name} ({self.account.name})"
