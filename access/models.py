"""Requests for access, their approval steps, and the grant ledger (desired state)."""

import math
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce, Greatest


class AccessRequest(models.Model):
    """Someone asks for an entitlement for a beneficiary (themselves, a report, or anyone for admins)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    class Kind(models.TextChoices):
        NEW = "new", "New access"
        EXTENSION = "extension", "Extension"

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    beneficiary = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests")
    entitlement = models.ForeignKey("catalog.Entitlement", on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NEW)
    justification = models.TextField()
    # Empty: no end date. Counted from when the access is active in AWS, not from the request.
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    # Instead of days, for an entitlement counted in hours (catalog DurationUnit): never both.
    duration_hours = models.PositiveIntegerField(null=True, blank=True)
    # Requests submitted together from one cart share this.
    cart = models.UUIDField(null=True, blank=True, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Break glass (access.services.break_glass): granted at once by a person allowed to, with the reason in
    # `justification` and the incident or change ticket here; the approvers review it afterwards.
    break_glass = models.BooleanField(default=False)
    ticket = models.CharField("ticket reference", max_length=40, blank=True)
    # The separation-of-duties conflicts found at the last check, in words, for approvers to read.
    sod_findings = models.JSONField(default=list, blank=True)
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
            models.CheckConstraint(
                condition=models.Q(break_glass=False) | ~models.Q(ticket=""), name="break_glass_names_a_ticket"
            ),
            models.CheckConstraint(
                condition=models.Q(duration_days__isnull=True) | models.Q(duration_days__gte=1),
                name="request_duration_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(duration_hours__isnull=True)
                | models.Q(duration_hours__gte=1, duration_days__isnull=True),
                name="request_hours_positive_not_with_days",
            ),
        ]
        indexes = [
            # Serves the expiry sweep: pending requests oldest first.
            models.Index(fields=["created_at"], condition=models.Q(state="pending"), name="request_pending_by_age"),
            # Serves the default order, newest first (the admin's list adds "-pk"): one page is read backwards
            # from the end of this index instead of sorting every request.
            models.Index(fields=["created_at", "id"], name="request_by_created"),
        ]

    def __str__(self):
        return f"Request #{self.pk}: {self.entitlement} for {self.beneficiary}"

    @property
    def term(self):
        return term(self.duration_days, self.duration_hours)

    @property
    def duration_words(self) -> str:
        return duration_words(self.duration_days, self.duration_hours)


def term(duration_days: int | None, duration_hours: int | None) -> timedelta | None:
    """A duration in days or in hours as a time span; None: no end date."""
    if duration_hours:
        return timedelta(hours=duration_hours)
    return timedelta(days=duration_days) if duration_days else None


def duration_words(duration_days: int | None, duration_hours: int | None) -> str:
    if duration_hours:
        return f"{duration_hours} hour{'' if duration_hours == 1 else 's'}"
    return f"{duration_days} day{'' if duration_days == 1 else 's'}" if duration_days else "no end date"


class Approval(models.Model):
    """One stage of a request's approval chain, decided by one or more assigned people.

    A break-glass request has two: the pre-approval, decided at once, and an after-the-fact review
    (kind `review`) its would-be approvers decide by `due_at`: approved means confirmed, denied means revoked.
    """

    class Kind(models.TextChoices):
        APPROVAL = "approval", "Approval"
        REVIEW = "review", "After-the-fact review"

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for an earlier stage"
        PENDING = "pending", "Waiting for a decision"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CLOSED = "closed", "Closed without a decision"

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvals")
    step = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=100)
    # How many assigned people must approve before the stage passes.
    required = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    activated_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.APPROVAL)
    # An after-the-fact review is decided by then, or escalated (access.services.escalation).
    due_at = models.DateTimeField(null=True, blank=True)
    # Set on the stage a separation-of-duties rule adds: its owner approves an exception here.
    sod_rule = models.ForeignKey("sod.SodRule", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["request_id", "step"]
        constraints = [
            models.UniqueConstraint(fields=["request", "step"], name="one_approval_per_step"),
            models.CheckConstraint(condition=models.Q(required__gte=1), name="approval_requires_someone"),
            models.CheckConstraint(
                condition=models.Q(kind="approval") | models.Q(due_at__isnull=False), name="review_has_a_due_time"
            ),
        ]
        indexes = [
            # Serves reminders and escalation: active stages by age.
            models.Index(fields=["activated_at"], condition=models.Q(state="pending"), name="approval_pending_by_age"),
            # Serves the escalation of after-the-fact reviews past their due time.
            models.Index(
                fields=["due_at"], condition=models.Q(state="pending", kind="review"), name="review_pending_by_due"
            ),
        ]

    def __str__(self):
        return f"Stage {self.step} of request #{self.request_id}"


class ApprovalAssignment(models.Model):
    """One person who may decide a stage (or, with no person, any governance admin), and their vote."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Not decided"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        VOID = "void", "Not needed"

    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="assignments")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approval_assignments"
    )
    # Why this person: "Manager of Alice", "Manager's manager: Bob is the requester", "Escalated after 2 days".
    reason = models.CharField(max_length=200)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    automatic = models.BooleanField(default=False)
    # The decider had proven a second factor within the step-up window when they voted (DESIGN:
    # evidence of how strongly the person was known at the moment of the decision).
    recent_mfa = models.BooleanField("recent second factor", default=False)

    class Meta:
        ordering = ["approval_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "approver"],
                condition=models.Q(approver__isnull=False),
                name="one_assignment_per_person",
            ),
            models.UniqueConstraint(
                fields=["approval"], condition=models.Q(approver__isnull=True), name="one_admin_assignment_per_stage"
            ),
        ]
        indexes = [
            # Serves the approval inbox: undecided assignments of one approver.
            models.Index(
                fields=["approver"], condition=models.Q(decision="pending"), name="assignment_pending_by_person"
            ),
        ]

    def __str__(self):
        return f"{self.approver or 'Governance admins'} on {self.approval}"


class BreakGlassEligibility(models.Model):
    """Who may break glass for an entitlement: a person by name, or everyone in a department (the groups the
    HR feed and single sign-on keep). Set by governance admins (access.services.break_glass.set_eligibility)."""

    entitlement = models.ForeignKey(
        "catalog.Entitlement", on_delete=models.CASCADE, related_name="break_glass_eligibility"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    department = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name_plural = "break-glass eligibility"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(person__isnull=False) & models.Q(department=""))
                | (models.Q(person__isnull=True) & ~models.Q(department="")),
                name="break_glass_person_or_department",
            ),
            models.UniqueConstraint(
                fields=["entitlement", "person"],
                condition=models.Q(person__isnull=False),
                name="break_glass_person_once",
            ),
            models.UniqueConstraint(
                fields=["entitlement", "department"],
                condition=~models.Q(department=""),
                name="break_glass_department_once",
            ),
        ]

    def __str__(self):
        who = f"department {self.department}" if self.department else f"person {self.person_id}"
        return f"{who} may break glass for entitlement {self.entitlement_id}"


def waiting_since():
    """Since when a waiting grant has waited to sync: the latest of its creation, grant and end. The same
    expression is indexed (grant_waiting_since) and ordered by (portal/metrics.py), so they must match."""
    return Greatest("created_at", Coalesce("granted_at", "created_at"), Coalesce("ended_at", "created_at"))


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
    # A time-bound grant's length, set on approval; `expires_at` is fixed once AWS shows it active.
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    # Instead of days, for an entitlement counted in hours. The sync engine fixes `expires_at` for days
    # when it reads the grant back active; for hours, access.services.grants.expire_grants fixes it from
    # `activated_at` (the same instant), and `ends_at` shows it until then.
    duration_hours = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The smallest "days left" reminder already sent for the current expiry (7, then 1).
    expiry_reminded_days = models.PositiveSmallIntegerField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
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
    # When this life of the grant was first read back active in AWS: extensions are capped by the
    # entitlement's maximum duration counted from here (access.services.extensions).
    activated_at = models.DateTimeField("first active in AWS at", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "entitlement"], name="one_grant_per_person_entitlement"),
            models.CheckConstraint(
                condition=~models.Q(source="request") | models.Q(request__isnull=False),
                name="grant_from_request_names_it",
            ),
            models.CheckConstraint(
                condition=models.Q(duration_hours__isnull=True)
                | models.Q(duration_hours__gte=1, duration_days__isnull=True),
                name="grant_hours_positive_not_with_days",
            ),
        ]
        indexes = [
            # Serves the expiry sweep and "ending soon": present grants by end date.
            models.Index(fields=["expires_at"], condition=models.Q(desired="present"), name="grant_present_by_expiry"),
            # Serves the catalog console's holder counts (access.selectors.with_holders): an index-only count.
            models.Index(
                fields=["entitlement"], condition=models.Q(desired="present"), name="grant_present_by_entitlement"
            ),
            # Serves the sync sweep: grants whose AWS state has not caught up yet.
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(sync_state__in=["pending", "in_progress"]),
                name="grant_waiting_for_sync",
            ),
            # Serves the oldest-wait gauge of /metrics: the longest-waiting grant is the first entry.
            models.Index(
                waiting_since(),
                condition=models.Q(sync_state__in=["pending", "in_progress"]),
                name="grant_waiting_since",
            ),
            # Serves the failed-sync gauge of /metrics (portal/metrics.py): a count of the failed rows only.
            models.Index(fields=["created_at"], condition=models.Q(sync_state="failed"), name="grant_sync_failed"),
            # Serves the default order, newest first, as `request_by_created` does for requests.
            models.Index(fields=["created_at", "id"], name="grant_by_created"),
        ]

    def __str__(self):
        return f"{self.entitlement} for {self.user} ({self.get_sync_state_display()})"

    @property
    def term(self):
        return term(self.duration_days, self.duration_hours)

    @property
    def duration_words(self) -> str:
        return duration_words(self.duration_days, self.duration_hours)

    @property
    def ends_at(self):
        """The end: `expires_at`, or for an hour grant active in AWS whose end the expiry job has not
        fixed yet, the same instant it will fix (first activation plus the hours)."""
        if self.expires_at is not None or not self.duration_hours or self.activated_at is None:
            return self.expires_at
        return self.activated_at + timedelta(hours=self.duration_hours)

    def begin(
        self,
        *,
        source: str,
        request,
        granted_at,
        duration_days,
        duration_hours=None,
        sync_state: str = SyncState.PENDING,
        verified_at=None,
    ) -> None:
        """Start a new life of this ledger row (a new approval, an admin grant, an adoption): desired
        present, and nothing left over from the previous one (end, expiry, reminders, errors, claim).
        The caller saves it and audits it."""
        self.source, self.request, self.granted_at, self.duration_days = source, request, granted_at, duration_days
        self.duration_hours = duration_hours
        self.desired, self.sync_state, self.last_error = self.Desired.PRESENT, sync_state, ""
        self.expires_at = self.expiry_reminded_days = self.ended_at = None
        self.activated_at = verified_at if sync_state == self.SyncState.APPLIED else None
        self.end_reason = ""
        self.sync_claim = self.claimed_at = None
        if verified_at is not None:
            self.verified_at = verified_at

    # What `requeue` and `end` change, for the caller's `save(update_fields=...)`.
    REQUEUE_FIELDS = ("sync_state", "last_error", "sync_claim", "claimed_at")
    END_FIELDS = ("desired", *REQUEUE_FIELDS, "ended_at", "end_reason")

    @classmethod
    def requeued(cls, error: str = "") -> dict:
        """The values of a grant given back to the sync queue, for a conditional `update()` where the row
        is not loaded (a claim released only if it is still the worker's)."""
        return {"sync_state": cls.SyncState.PENDING, "last_error": error, "sync_claim": None, "claimed_at": None}

    def requeue(self, *, error: str | None = "") -> tuple[str, ...]:
        """Back to the sync queue as it is desired (a retry, drift found by the reconciler, a transient
        error): pending, unclaimed, with `error` as the last error (None keeps the one shown). The caller
        saves the returned fields, audits and wakes the sync."""
        values = self.requeued(self.last_error if error is None else error)
        for name, value in values.items():
            setattr(self, name, value)
        return self.REQUEUE_FIELDS

    def end(self, *, reason: str, now) -> tuple[str, ...]:
        """End this life of the ledger row: desired absent and queued for removal from AWS (read back
        before it counts as revoked), with when and why. The caller saves, audits and wakes the sync."""
        self.requeue()
        self.desired, self.ended_at, self.end_reason = self.Desired.ABSENT, now, reason
        return self.END_FIELDS


class LeaverStep(models.Model):
    """One thing a leaver must lose in one AWS account beyond the portal's grants, and how it went.

    Planned in the transaction that marks the leaver (every account, every kind), then done by the
    `iam.leaver_account` task outside any transaction, each step read back from AWS. The last kind,
    `grants`, is done once every grant ended at leaving in the account is read back absent: when every
    step of a leaver is done, nothing is left, and the time from leaving to then is kept on the steps.
    """

    class Kind(models.TextChoices):
        ACCESS_KEYS = "access_keys", "Access keys deactivated"
        LOGIN_PROFILE = "login_profile", "Console password deleted"
        MFA_DEVICES = "mfa_devices", "MFA devices deactivated"
        ROLE_SESSIONS = "role_sessions", "Role sessions revoked"
        UNMANAGED = "unmanaged", "Unmanaged access"
        GRANTS = "grants", "Portal grants removed"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        RETRYING = "retrying", "Retrying"
        DONE = "done", "Done (read back)"
        FAILED = "failed", "Failed"

    # The order a task works through an account's steps (and the page lists them).
    ORDER = [Kind.ACCESS_KEYS, Kind.LOGIN_PROFILE, Kind.MFA_DEVICES, Kind.ROLE_SESSIONS, Kind.UNMANAGED, Kind.GRANTS]

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leaver_steps")
    account = models.ForeignKey("catalog.AwsAccount", on_delete=models.CASCADE, related_name="leaver_steps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # What AWS showed afterwards (the read back), in words.
    evidence = models.TextField(blank=True)
    # Why the last try failed, AWS's message kept.
    error = models.TextField(blank=True)
    left_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account__name", "position"]
        constraints = [
            models.UniqueConstraint(fields=["person", "account", "kind"], name="one_leaver_step_per_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.person_id} in {self.account_id} ({self.state})"

    @property
    def seconds_after_leaving(self) -> float | None:
        """How long after the person left this step was read back done; None while it is not."""
        if self.state != self.State.DONE or self.finished_at is None:
            return None
        return round((self.finished_at - self.left_at).total_seconds(), 1)


class GrantActivity(models.Model):
    """What was done with a grant, from the account's CloudTrail log files: one summary per grant, replaced
    each time it is read again (iam.facts.cloudtrail writes it; access only shows it, as it cannot read AWS)."""

    TOP_ACTIONS = 10

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="activity")
    # False: the account has no CloudTrail bucket set, so nothing could be read (and nothing is claimed).
    configured = models.BooleanField(default=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    computed_at = models.DateTimeField()
    principal = models.CharField(max_length=300, blank=True)  # who was looked for, as CloudTrail names them
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    first_call_at = models.DateTimeField(null=True, blank=True)
    last_call_at = models.DateTimeField(null=True, blank=True)
    # [["s3:GetObject", 12], ...], the most called first (at most TOP_ACTIONS); by_service: {"s3": 30, ...}.
    top_actions = models.JSONField(default=list, blank=True)
    by_service = models.JSONField(default=dict, blank=True)
    flagged = models.PositiveIntegerField(default=0)  # writes, deletes and IAM calls
    flagged_event_ids = models.JSONField(default=list, blank=True)  # CloudTrail eventIDs, at most 100
    files_read = models.PositiveIntegerField(default=0)
    files_skipped = models.PositiveIntegerField(default=0)  # not gzip JSON with Records: counted, never fatal
    # Set when the trail's bucket could not be read at all (missing, not allowed), in words; the counts are then 0.
    unreadable = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "grant activities"

    def __str__(self):
        return self.words()

    @property
    def days(self) -> int:
        return max(1, math.ceil((self.window_end - self.window_start).total_seconds() / 86400))

    def words(self) -> str:
        """'used 37 calls in the last 90 days: s3:GetObject, …', 'not used …', or why nothing could be read."""
        if not self.configured:
            return "CloudTrail is not configured for this account"
        if self.unreadable:
            return f"CloudTrail could not be read: {self.unreadable}"
        span = f"in the last {self.days} day{'s' if self.days != 1 else ''}"
        hours = max(1, round((self.window_end - self.window_start).total_seconds() / 3600))
        if hours < 24:  # an hour grant's window is said in hours
            span = f"in {hours} hour{'s' if hours != 1 else ''}"
        if self.calls == 0:
            text = f"not used {span} (CloudTrail)"
        else:
            actions = ", ".join(action for action, _ in self.top_actions[:5])
            more = ", …" if len(self.top_actions) > 5 else ""
            text = f"used {self.calls} call{'s' if self.calls != 1 else ''} {span}: {actions}{more} (CloudTrail)"
            if self.flagged:
                text += f"; {self.flagged} write, delete or IAM call{'s' if self.flagged != 1 else ''} flagged"
            if self.errors:
                text += f"; {self.errors} refused or failed"
        if self.files_skipped:
            text += f"; {self.files_skipped} unreadable log file{'s' if self.files_skipped != 1 else ''} skipped"
        return text
