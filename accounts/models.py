"""People: who they are, who they report to, whether they still work here."""

from typing import ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

from accounts import roles

LAST_ADMIN_MESSAGE = (
    "{person} is the last active governance admin: make someone else a governance admin first, "
    "or the portal would have nobody to govern it."
)
# The fields whose change can take away someone's governance admin role (accounts.roles.is_governance_admin).
ADMIN_FIELDS = frozenset({"is_superuser", "is_active", "employment_status"})


class LastGovernanceAdmin(ValidationError):
    """Refused: the change would leave the portal without an active governance admin."""


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("A person needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractUser):  # type: ignore[django-manager-missing]  # knox (untyped) adds auth_token_set
    """A person who may hold AWS access. Logs in with an email address."""

    class EmploymentStatus(models.TextChoices):
        ACTIVE = "active", "Active"
        LEAVER = "leaver", "Leaver"

    # AbstractUser's fields this model drops (removing an inherited field is setting it to None).
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    title = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=100, blank=True)
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    employment_status = models.CharField(
        max_length=10, choices=EmploymentStatus.choices, default=EmploymentStatus.ACTIVE
    )
    left_at = models.DateTimeField(null=True, blank=True)
    # Overrides the IAM user-name convention (the email's local part) in every account.
    iam_user_name = models.CharField(
        "IAM user name",
        max_length=64,
        blank=True,
        help_text="Leave empty to use the part of the email address before the @.",
    )
    # Read-only across the portal (accounts.roles.is_auditor): every report, log and campaign,
    # and no change anywhere. Set by governance admins in the admin, where the change is audited.
    is_auditor = models.BooleanField(
        "auditor",
        default=False,
        # Also in the database, so rows written by plain SQL (HR loads, benchmarks) get it too.
        db_default=False,
        help_text="Reads every report, campaign and the audit log; changes nothing.",
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]  # ours, not AbstractUser's

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(condition=~models.Q(manager=models.F("id")), name="user_not_own_manager"),
            # Who checks the governance must not also run it: an auditor is never a governance admin.
            models.CheckConstraint(
                condition=~models.Q(is_auditor=True, is_superuser=True),
                name="user_auditor_not_admin",
                violation_error_message="An auditor cannot also be a governance admin (superuser).",
            ),
        ]
        indexes = [
            # Serve Governance → People (access/people_selectors.py): the list in name order, and the
            # same within a department (its filter).
            models.Index(fields=["full_name", "email"], name="user_by_name"),
            models.Index(fields=["department", "full_name"], name="user_by_department"),
            # Its filters of the few (leavers, auditors, governance admins: roles.py's conditions), each
            # read in name order to the page's end rather than over the whole table.
            models.Index(
                fields=["full_name", "email"], condition=models.Q(employment_status="leaver"), name="leavers_by_name"
            ),
            models.Index(
                fields=["full_name", "email"],
                condition=models.Q(is_auditor=True, is_active=True),
                name="auditors_by_name",
            ),
            models.Index(
                fields=["full_name", "email"],
                condition=models.Q(is_superuser=True, is_active=True),
                name="admins_by_name",
            ),
            # Its search (any part of a name or email) is served on PostgreSQL by two trigram indexes,
            # `user_name_trigrams` and `user_email_trigrams`, kept out of this list because SQLite has
            # none: accounts/migrations/0007_people_console_indexes.py.
        ]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name or self.email).split(" ")[0]

    def clean(self):
        super().clean()
        self.keep_a_governance_admin()

    def save(self, *args, **kwargs):
        # Checked on every save that can take the role away, whoever saves (the admin, a service, a
        # script), so no door leaves the portal without a governance admin. Querysets' update() and
        # raw SQL are not model saves; nothing in the portal changes these fields that way.
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not ADMIN_FIELDS & set(update_fields):
            return super().save(*args, **kwargs)
        with transaction.atomic():
            self.keep_a_governance_admin()
            return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            self.keep_a_governance_admin(deleting=True)
            return super().delete(*args, **kwargs)

    def keep_a_governance_admin(self, *, deleting: bool = False) -> None:
        """Raise LastGovernanceAdmin if this change takes the role from the last active governance admin.

        The active governance admins' rows are locked (till the caller's transaction ends) before they are
        counted: two admins taking the role from each other at once are serialised, and the second
        sees that the first is no longer one.
        """
        if self.pk is None:
            return
        stays_admin = self.is_superuser and self.is_active and not self.is_leaver
        if stays_admin and not deleting:
            return
        with transaction.atomic():  # the lock lasts as long as the caller's transaction, if it has one
            admins = list(
                type(self)
                .objects.select_for_update()
                .filter(is_superuser=True, is_active=True)
                .exclude(employment_status=self.EmploymentStatus.LEAVER)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        if admins == [self.pk]:
            raise LastGovernanceAdmin(LAST_ADMIN_MESSAGE.format(person=self), code="last_governance_admin")

    @property
    def is_leaver(self) -> bool:
        return self.employment_status == self.EmploymentStatus.LEAVER

    @property
    def is_governance_admin(self) -> bool:
        return roles.is_governance_admin(self)

    @property
    def reads_everything(self) -> bool:
        """Governance admins and auditors. A property so that apps below `accounts` (the audit
        pages) can ask it of `request.user` without importing `accounts.roles`."""
        return roles.reads_everything(self)


class ApiToken(AbstractAuthToken):
    """A person's API token for one device or script (django-rest-knox, settings.KNOX_TOKEN_MODEL).

    Only the token's SHA-512 digest and its first characters (to find the row) are stored; the token
    itself is shown once, when issued. Issued and revoked through accounts.tokens, which audits both.
    """

    # A plain id for the pages and the audit trail, so the digest never appears in a URL or a log.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField("device", max_length=100, help_text="The device or script that holds the token.")
    # Whether a second factor was proven when it was issued: a decider's token without one is refused
    # on every call (accounts.mfa.meets_mfa_policy), even if they enrol later.
    second_factor = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="api_token_one_per_device")]

    def __str__(self):
        return f"{self.name} ({self.user})"


class FeedRun(models.Model):
    """One application of an HR feed file (accounts.hr_feed), and how far it got.

    The file is checked whole first; its rows are then applied in batches, each in its own short
    transaction that also moves `rows_applied` on, so a run stopped half-way (a crash, a killed process, a
    row the database refused) keeps every batch it committed. Running the same file again (same digest)
    resumes this row from there: nothing is applied twice. At most one unfinished run per file.
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Stopped (run the same file again to carry on)"

    UNFINISHED = (State.RUNNING, State.FAILED)

    requested_by = models.ForeignKey("User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Who or what started it, in words: a person's email, or the command (which has no portal user).
    requested_label = models.CharField(max_length=150)
    file_name = models.CharField(max_length=255, blank=True)
    file_digest = models.CharField("file SHA-256", max_length=64)
    total_rows = models.PositiveIntegerField()
    rows_applied = models.PositiveIntegerField(default=0)
    joined = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    # When the last batch committed (or the run stopped): a running run long quiet is a dead process.
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Why it stopped, in words; empty while it runs and once it is done.
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["file_digest"],
                condition=models.Q(state__in=["running", "failed"]),
                name="one_unfinished_run_per_feed_file",
            ),
            models.CheckConstraint(
                condition=models.Q(rows_applied__lte=models.F("total_rows")), name="feed_run_applied_within_total"
            ),
        ]
        indexes = [models.Index(fields=["-started_at"], name="feed_run_latest")]

    def __str__(self):
        name = self.file_name or self.file_digest[:12]
        return f"HR feed {name} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.state})"

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else self.rows_applied * 100 // self.total_rows
