"""What can be granted: AWS accounts and the entitlements in them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F


class Risk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class OrganizationConnection(models.Model):
    """The AWS Organizations management account (or a delegated administrator) accounts are discovered from.

    At most one. The member role is deployed to every account under the governed OUs with the same name and
    external id (a StackSet, docs/operations.md), so a discovered account's role ARN is derived from them.
    """

    one = models.BooleanField(default=True, unique=True, editable=False)  # at most one row
    role_arn = models.CharField(
        "role ARN in the management account",
        max_length=2048,
        validators=[RegexValidator(r"^arn:aws[\w-]*:iam::\d{12}:role/.+$", "Enter an IAM role ARN.")],
    )
    external_id = models.CharField(max_length=1224, blank=True)
    member_role_name = models.CharField("member role name", max_length=64, default="AccessPortalMember")
    member_external_id = models.CharField("member role external id", max_length=1224, blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    last_discovered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "AWS Organizations connection"
        constraints = [models.CheckConstraint(condition=models.Q(one=True), name="one_organization_connection")]

    def __str__(self):
        return f"AWS Organizations through {self.role_arn}"


class OrganizationalUnit(models.Model):
    """A root or OU of the organisation, as last discovered. Accounts under a governed one are governed."""

    ou_id = models.CharField("OU id", max_length=68, unique=True)  # r-… for the root, ou-… for an OU
    name = models.CharField(max_length=128)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    governed = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "organizational unit"

    def __str__(self):
        return f"{self.name} ({self.ou_id})"

    def path(self) -> str:
        names: list[str] = []
        unit: OrganizationalUnit | None = self
        while unit is not None:
            names.append(unit.name)
            unit = unit.parent
        return " / ".join(reversed(names))


class OrgStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    SUSPENDED = "SUSPENDED", "Suspended"
    PENDING_CLOSURE = "PENDING_CLOSURE", "Pending closure"


class OrganizationAccount(models.Model):
    """An account of the organisation as last discovered, governed or not."""

    account_id = models.CharField("account id", max_length=12, unique=True)
    name = models.CharField(max_length=128)
    email = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=20, choices=OrgStatus.choices)
    ou = models.ForeignKey(OrganizationalUnit, on_delete=models.PROTECT, related_name="accounts")
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(account_id__regex=r"^\d{12}$"), name="org_account_id_12_digits")
        ]

    def __str__(self):
        return f"{self.name} ({self.account_id})"


class AwsAccount(models.Model):
    """One AWS account the portal governs."""

    class SyncMode(models.TextChoices):
        REPORT = "report", "Report drift"
        ENFORCE = "enforce", "Enforce (remove unmanaged access)"

    class LeaverUnmanaged(models.TextChoices):
        REPORT = "report", "Report it"
        REMOVE = "remove", "Remove it"

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
    # The IAM Identity Center instance that assigns permission sets on this account (empty: none).
    sso_instance_arn = models.CharField("Identity Center instance ARN", max_length=1224, blank=True)
    sync_mode = models.CharField(max_length=10, choices=SyncMode.choices, default=SyncMode.REPORT)
    # What a leaver's access found by the reconciler but not granted through the portal becomes:
    # reported on the leaver's page (the default, as sync_mode's), or removed from AWS.
    leaver_unmanaged = models.CharField(
        "a leaver's unmanaged access",
        max_length=10,
        choices=LeaverUnmanaged.choices,
        default=LeaverUnmanaged.REPORT,
        help_text="When someone leaves: remove the access the reconciler found them holding outside the portal, "
        "or only report it on their page.",
    )
    # Off by default: creating IAM users is a decision for the account's owners, not a side effect.
    create_iam_users = models.BooleanField(
        "create IAM users",
        default=False,
        help_text="Create a person's IAM user on their first grant here (IAM kinds), tagged with their email.",
    )
    # Enforce mode never removes these principals' unmanaged access (the portal's own user,
    # break-glass users); it is still reported.
    protected_principals = models.TextField(
        blank=True, help_text="IAM user names, one per line, whose unmanaged access enforce mode only reports."
    )

    # Where the account's CloudTrail trail writes its log files (blank bucket: not configured). The portal reads
    # `<prefix>/AWSLogs/<account id>/CloudTrail/<region>/YYYY/MM/DD/` to say what was done with a grant.
    cloudtrail_bucket = models.CharField(
        "CloudTrail bucket",
        max_length=63,
        blank=True,
        help_text="The S3 bucket the account's trail writes to; blank: CloudTrail is not configured for this account.",
    )
    cloudtrail_prefix = models.CharField(
        "CloudTrail prefix",
        max_length=1024,
        blank=True,
        help_text="The trail's S3 key prefix (before AWSLogs/), if it has one.",
    )

    class ConnectionState(models.TextChoices):
        UNKNOWN = "unknown", "Not checked yet"
        REACHABLE = "reachable", "Role reachable"
        MISSING_PERMISSIONS = "missing_permissions", "Role reachable, permissions missing"
        UNREACHABLE = "unreachable", "Role not reachable"

    # Set for accounts governed through AWS Organizations (blank: added by hand).
    ou = models.ForeignKey(
        OrganizationalUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="governed_accounts"
    )
    org_status = models.CharField("status in the organisation", max_length=20, choices=OrgStatus.choices, blank=True)
    connection_state = models.CharField(max_length=20, choices=ConnectionState.choices, default=ConnectionState.UNKNOWN)
    connection_reason = models.TextField(blank=True)
    # IAM actions the portal calls that the member role's own policies do not allow (iam.facts.organizations).
    missing_actions = models.JSONField(default=list, blank=True)
    connection_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AWS account"
        constraints = [
            models.CheckConstraint(condition=models.Q(account_id__regex=r"^\d{12}$"), name="account_id_12_digits"),
        ]

    def __str__(self):
        return f"{self.name} ({self.account_id})"

    def protected(self) -> set[str]:
        return {line.strip() for line in self.protected_principals.splitlines() if line.strip()}


class ApprovalPolicy(models.Model):
    """Who must approve, in which order. Chosen per entitlement, or by the entitlement's risk level."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # The default for entitlements of this risk level that name no policy of their own.
    default_for_risk = models.CharField(
        max_length=10,
        choices=Risk.choices,
        null=True,
        blank=True,
        unique=True,
        help_text="Use this policy for entitlements of this risk that name no policy.",
    )
    auto_approve = models.BooleanField(
        default=False,
        help_text="Approve without a person deciding. Applies to low-risk entitlements only; audited as automatic.",
    )
    fallback_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Decides when nobody in a stage may (the requester is the only owner, no manager...).",
    )

    class Meta:
        verbose_name_plural = "approval policies"
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApprovalStage(models.Model):
    """One ordered stage of a policy: who approves and how many of them must."""

    class Approvers(models.TextChoices):
        MANAGER = "manager", "The beneficiary's manager"
        OWNERS = "owners", "The entitlement's owners"
        NAMED = "named", "Named people"
        GOVERNANCE_ADMINS = "admins", "Governance admins"

    class Mode(models.TextChoices):
        ANY = "any", "Any one of them"
        ALL = "all", "All of them"
        N_OF = "n_of", "A number of them"

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    approvers = models.CharField(max_length=10, choices=Approvers.choices)
    mode = models.CharField(max_length=5, choices=Mode.choices, default=Mode.ANY)
    required = models.PositiveSmallIntegerField(default=1, help_text="How many must approve, for “a number of them”.")
    named_approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="one_stage_per_order"),
            models.CheckConstraint(condition=models.Q(required__gte=1), name="stage_requires_someone"),
        ]

    def __str__(self):
        return f"{self.policy}: stage {self.order} ({self.get_approvers_display()}, {self.get_mode_display()})"


class DurationUnit(models.TextChoices):
    """What a grant of an entitlement is counted in. Hours serve just-in-time elevation (an hour or a shift)."""

    DAYS = "days", "Days"
    HOURS = "hours", "Hours"


class Entitlement(models.Model):
    """One grantable thing in one account."""

    class Kind(models.TextChoices):
        IAM_GROUP = "iam_group", "IAM group"
        IAM_POLICY = "iam_policy", "Managed policy"
        IAM_ROLE = "iam_role", "IAM role"
        SSO_PERMISSION_SET = "sso_permission_set", "Identity Center permission set"

    Risk = Risk

    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, related_name="entitlements")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.IAM_GROUP)
    # What AWS knows it by: the group or role name, or the policy or permission set ARN.
    aws_name = models.CharField("AWS name or ARN", max_length=2048)
    name = models.CharField("display name", max_length=150)
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="owned_entitlements")
    risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.MEDIUM)
    requestable = models.BooleanField(default=True)
    max_duration_days = models.PositiveIntegerField(
        "maximum duration (days)",
        null=True,
        blank=True,
        help_text="Longest time a grant may last. Empty: access may be held without an end date.",
    )
    # Requests for an hours entitlement ask for whole hours, between `min_duration` and `max_duration_hours`;
    # for a days one, whole days between `min_duration` and `max_duration_days` (which may be empty).
    DurationUnit = DurationUnit
    duration_unit = models.CharField(max_length=5, choices=DurationUnit.choices, default=DurationUnit.DAYS)
    min_duration = models.PositiveIntegerField(
        "minimum duration", default=1, help_text="Shortest grant, in the duration unit (hours or days)."
    )
    max_duration_hours = models.PositiveIntegerField(
        "maximum duration (hours)",
        null=True,
        blank=True,
        help_text="For an hours entitlement: the longest a grant may last, in hours.",
    )
    approval_policy = models.ForeignKey(
        ApprovalPolicy,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entitlements",
        help_text="Empty: the default policy for its risk level.",
    )

    class Meta:
        ordering = ["account__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "aws_name"], name="entitlement_unique_in_account"),
            # An hours entitlement always ends, with its maximum in hours; a days one never has hours.
            models.CheckConstraint(
                condition=(
                    models.Q(duration_unit="hours", max_duration_hours__isnull=False, max_duration_days__isnull=True)
                    | models.Q(duration_unit="days", max_duration_hours__isnull=True)
                ),
                name="entitlement_duration_unit_consistent",
            ),
            models.CheckConstraint(
                condition=models.Q(min_duration__gte=1)
                & (models.Q(max_duration_hours__isnull=True) | models.Q(min_duration__lte=F("max_duration_hours")))
                & (models.Q(max_duration_days__isnull=True) | models.Q(min_duration__lte=F("max_duration_days"))),
                name="entitlement_min_duration_within_max",
            ),
        ]
        indexes = [
            # Serve the catalog console's filters by kind and by risk; by account, the unique constraint does.
            models.Index(fields=["kind", "name"], name="entitlement_by_kind"),
            models.Index(fields=["risk", "name"], name="entitlement_by_risk"),
            # The Django admin's list, by name (access/admin.py): a page read off the index, not every
            # entitlement joined to its account and sorted.
            models.Index(fields=["name", "id"], name="entitlement_by_name"),
        ]

    def __str__(self):
        return f"{self.name} ({self.account.name})"

    @property
    def in_hours(self) -> bool:
        return self.duration_unit == DurationUnit.HOURS

    @property
    def max_duration(self) -> int | None:
        """The longest grant in the entitlement's own unit; None: no end date needed."""
        return self.max_duration_hours if self.in_hours else self.max_duration_days

    @property
    def max_duration_words(self) -> str:
        """'8 hours', '30 days', or '' when access may be held without an end date."""
        return amount_in_words(self.max_duration, self.duration_unit) if self.max_duration else ""


def amount_in_words(amount: int, unit: str) -> str:
    """3 and 'hours' -> '3 hours'; 1 and 'days' -> '1 day'."""
    return f"{amount} {unit.removesuffix('s') if amount == 1 else unit}"


class IamUserName(models.Model):
    """A person's IAM user name in one account, where the convention (the global override on the
    person, else their email's local part) would not do: two people whose emails share the local part
    (alice@a.example, alice@b.example), or a name the account already uses. Set by governance admins
    (audited); the sync engine and the reconciler name the person's IAM user by it in this account
    (catalog.iam_names)."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="iam_user_names")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="iam_user_names")
    name = models.CharField(
        "IAM user name",
        max_length=64,
        validators=[RegexValidator(r"^[\w+=,.@-]{1,64}$", "IAM user names use letters, digits and +=,.@_- only.")],
    )

    class Meta:
        ordering = ["account__name", "name"]
        verbose_name = "IAM user name"
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="iam_user_name_unique_in_account"),
            models.UniqueConstraint(fields=["account", "person"], name="one_iam_user_name_per_person_and_account"),
        ]

    def __str__(self):
        return f"{self.name} in {self.account.name}"

    def clean(self):
        super().clean()
        from catalog.iam_names import other_people_named  # it reads this model: imported when asked

        filled = self.account_id and self.person_id and self.name
        if filled and other_people_named(self.name, self.account, exclude=self.person_id):
            # The unique constraint covers other overrides; this covers the names people have by convention.
            raise ValidationError({"name": f"Another person is already known as {self.name} in {self.account.name}."})
