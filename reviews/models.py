"""Access review campaigns: a snapshot of who holds what, and a keep-or-revoke decision per line."""

from typing import cast

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from iam.models import UnmanagedAccess


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
    second_stage = models.BooleanField(
        default=False,
        help_text="After the first reviewer keeps a line, an owner of the entitlement confirms or revokes it "
        "(manager, then owner). A line the first reviewer revokes ends there.",
    )
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
    # The reminder schedule: reviewers with undecided lines hear once a day from `remind_days_before`
    # days before the due date; from `escalate_days_before`, the people accountable for them do too.
    remind_days_before = models.PositiveSmallIntegerField(
        default=3, help_text="Remind reviewers daily from this many days before the due date (0: never)."
    )
    escalate_days_before = models.PositiveSmallIntegerField(
        default=1,
        help_text="Tell reviewers' managers of undecided lines daily from this many days before the due date "
        "(0: never).",
    )
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
    # A launch runs in a worker (a fresh reconcile first): when it was asked for, and why it failed, in
    # words the page shows (empty: it has not failed). Cleared when a launch is asked for again.
    launch_requested_at = models.DateTimeField(null=True, blank=True)
    launch_error = models.CharField(max_length=500, blank=True, default="")
    closed_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The second stage is the owner's: after an owner campaign it would ask the same people twice.
            models.CheckConstraint(
                condition=~models.Q(second_stage=True, reviewer_type="owner"),
                name="second_stage_follows_another_reviewer",
                violation_error_message="The second stage is the owner's: choose the manager or named reviewers "
                "for the first stage.",
            ),
        ]

    def __str__(self):
        return self.name


# Lines revoked, or with something to do at or after sign-off (kept unmanaged access adopted or accepted).
REVOKED_OR_REMEDIATED = ~models.Q(remediation="none") | models.Q(decision="revoke")


class ReviewItem(models.Model):
    """One person (or, for unmanaged access, one AWS principal) and one entitlement in a campaign's snapshot.

    A line comes from a present grant, or from open unmanaged access (iam.UnmanagedAccess: AWS shows
    it, the ledger does not hold it), which may belong to no portal person. With a second stage, a
    line the first reviewer keeps moves on to its `second_reviewer`: the first decision is copied into
    the `first_*` fields and `reviewer`, `decision`, `comment`, `decided_by` and `decided_at` then
    describe the second stage, so they always hold the line's current, and at sign-off final, say.
    """

    class Decision(models.TextChoices):
        UNDECIDED = "undecided", "Undecided"
        KEEP = "keep", "Keep"
        REVOKE = "revoke", "Revoke"

    class Origin(models.TextChoices):
        REQUEST = "request", "Approved request"
        IMPORT = "import", "Imported from AWS"
        ADMIN = "admin", "Granted by an administrator"
        UNMANAGED = "unmanaged", "Unmanaged: in AWS with no grant"

    class Stage(models.IntegerChoices):
        FIRST = 1, "First reviewer"
        OWNER = 2, "Owner (second stage)"

    class Remediation(models.TextChoices):
        NONE = "none", "Nothing to do"
        PENDING = "pending", "Removal pending"
        DONE = "done", "Removed (read back from AWS)"
        FAILED = "failed", "Removal failed"
        ADOPTED = "adopted", "Kept and adopted into the ledger"
        ACCEPTED = "accepted", "Kept as accepted risk (still unmanaged)"

    # Remediations that say all there is to say (`live_remediation` reads neither the grant nor AWS's word).
    SETTLED = (Remediation.NONE, Remediation.ADOPTED, Remediation.ACCEPTED)

    # A snapshot of up to millions of rows copied in one INSERT ... SELECT from rows that exist in the
    # same transaction and are never deleted (PROTECT; the campaign row is locked by the launch and
    # its lines go with it through Django's cascade): the database does not re-check each reference,
    # which would double the launch's time. Each index costs the launch too, so there are only those a
    # query needs: the unique constraint (campaign, holder, entitlement) and `review_queue_by_holder`.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="items", db_constraint=False, db_index=False
    )
    # Empty only for unmanaged access held by an AWS principal that is no portal person.
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    entitlement = models.ForeignKey(
        "catalog.Entitlement", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    # Empty for unmanaged access, until sign-off adopts a kept line into the ledger.
    grant = models.ForeignKey(
        "access.Grant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # lines are read by campaign, then joined to their grant: never looked up by it
    )
    unmanaged = models.ForeignKey(
        "iam.UnmanagedAccess",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the partial unique constraint below indexes it
    )
    # The IAM (or Identity Center) user name that holds unmanaged access: all an unmatched holder has.
    aws_principal = models.CharField("AWS principal", max_length=128, blank=True, default="", db_default="")
    # The holder's name as a reviewer's queue sorts it: the person's full name, or the AWS principal when
    # no portal person holds the access. Copied at launch and kept in step when a person's name changes
    # (`reviews.services.holders.rename_holder`), so a reviewer's 5,000 lines page by name on the index
    # `review_queue_by_holder` instead of sorting them across a join to every holder on each view.
    holder_name = models.CharField(max_length=150, blank=True, default="", db_default="")
    origin = models.CharField(max_length=10, choices=Origin.choices)  # the grant's source at the snapshot, or unmanaged
    held_since = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="review_items",
        db_constraint=False,
        db_index=False,  # `review_queue_by_holder` starts with it
    )
    reviewer_reason = models.CharField(max_length=200)
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.FIRST, db_default=Stage.FIRST)
    # Who confirms a kept line in the second stage, chosen at launch; empty: the line has one stage.
    second_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # never looked up by: an index would only slow the launch down
    )
    second_reviewer_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    # What the first reviewer decided, kept once the line moved on to the second stage.
    first_decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="", db_default="")
    first_comment = models.TextField(blank=True, default="", db_default="")
    first_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the partial index `review_handed_on` serves it
    )
    first_decided_at = models.DateTimeField(null=True, blank=True)
    first_reviewer_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    first_recommendation = models.CharField(
        max_length=10, choices=Decision.choices, blank=True, default="", db_default=""
    )
    # What the evidence suggests, shown beside the line and kept as evidence of what was shown.
    recommendation = models.CharField(max_length=10, choices=Decision.choices, default=Decision.UNDECIDED)
    recommendation_reason = models.CharField(max_length=200, blank=True)
    # Usage evidence from IAM's Access Advisor, collected after launch (empty: not known yet).
    last_used_at = models.DateTimeField(null=True, blank=True)
    usage_evidence = models.CharField(max_length=200, blank=True, default="", db_default="")
    # What was done with the access in the review window, from the account's CloudTrail files (empty: not read).
    activity_evidence = models.CharField(max_length=300, blank=True, default="", db_default="")

    class RecommendationSource(models.TextChoices):
        LEDGER = "", "the portal's records"
        ACCESS_ADVISOR = "access_advisor", "IAM Access Advisor"
        CLOUDTRAIL = "cloudtrail", "CloudTrail"

    # Where the recommendation's evidence came from, shown beside it (the launch rules read the ledger).
    recommendation_source = models.CharField(
        max_length=20, choices=RecommendationSource.choices, blank=True, default="", db_default=""
    )
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.UNDECIDED)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # set by decisions, never searched by
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    automatic = models.BooleanField(default=False)  # decided by the campaign's undecided rule at sign-off
    remediation = models.CharField(max_length=10, choices=Remediation.choices, default=Remediation.NONE)
    # Why sign-off left a kept unmanaged line unmanaged (accepted risk), in words.
    remediation_note = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        ordering = ["holder_id", "entitlement_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "holder", "entitlement"], name="one_item_per_holding"),
            # Also the index behind PROTECT's look-up when a drift row is deleted.
            models.UniqueConstraint(
                fields=["unmanaged", "campaign"],
                condition=models.Q(unmanaged__isnull=False),
                name="one_item_per_unmanaged_access",
            ),
            models.CheckConstraint(
                condition=~models.Q(reviewer=models.F("holder"))
                & ~models.Q(second_reviewer=models.F("holder"))
                & ~models.Q(first_decided_by=models.F("holder")),
                name="nobody_reviews_self",
            ),
            models.CheckConstraint(
                condition=models.Q(grant__isnull=False, holder__isnull=False) | models.Q(unmanaged__isnull=False),
                name="line_is_a_grant_or_unmanaged_access",
            ),
            models.CheckConstraint(
                condition=models.Q(stage=1) | models.Q(first_decision="keep"),
                name="second_stage_follows_a_keep",
            ),
            models.CheckConstraint(
                condition=~models.Q(decision="revoke") | ~models.Q(comment="") | models.Q(automatic=True),
                name="revoke_needs_a_comment",
            ),
        ]
        indexes = [
            # Serves the reviewer's queue (one reviewer's items in a campaign) and "is this person a
            # reviewer anywhere" (accounts.roles) alike.
            # By holder name after the decision: a reviewer's undecided lines, page by page in name order,
            # are a range of this index (the queue page and the API's keyset pages), never a sort.
            models.Index(
                fields=["reviewer", "campaign", "decision", "holder_name", "id"], name="review_queue_by_holder"
            ),
            # A reviewer's every line by holder name, whatever its decision: the queue with "All" and the
            # API's keyset pages without a decision filter are a range of this index, not a sort of the
            # reviewer's lines (5,000 for a fallback reviewer at a company's size).
            models.Index(fields=["reviewer", "campaign", "holder_name", "id"], name="review_lines_by_holder"),
            # The queue's "Accept recommendations (N)": a reviewer's undecided lines with a recommendation,
            # few of them (unused or leavers' access), counted without reading the rest of their lines.
            models.Index(
                fields=["reviewer", "campaign"],
                condition=models.Q(decision="undecided") & ~models.Q(recommendation="undecided"),
                name="review_recommended_undecided",
            ),
            # The same count with "All": a reviewer's lines with a recommendation, whatever their decision
            # (accepting re-decides them), without reading their other lines (10,000 for the fallback
            # reviewer at a company's size, read up to the count's cap on every view).
            models.Index(
                fields=["reviewer", "campaign"],
                condition=~models.Q(recommendation="undecided"),
                name="review_recommended",
            ),
            # Serves a first reviewer's progress: the lines they kept and handed on to the second stage.
            # Partial, so the launch (which inserts none) never maintains it.
            models.Index(
                fields=["campaign", "first_decided_by"],
                condition=models.Q(first_decided_by__isnull=False),
                name="review_handed_on",
            ),
            # Serves an active campaign's undecided lines on /metrics (portal/metrics.py), shrinking as
            # reviewers decide: never a scan of the campaign's decided lines; and, by `id`, the read-only
            # queue's default page (the undecided lines in snapshot order, 50 at a time).
            models.Index(
                fields=["campaign", "id"],
                condition=models.Q(decision="undecided"),
                name="review_undecided_in_order",
            ),
            # Every line of a campaign in snapshot order (the read-only queue with "all lines", the API's
            # list for admins and auditors): a page is 50 entries of this index, not a sort of the campaign.
            models.Index(fields=["campaign", "id"], name="review_lines_in_order"),
            # The campaign page's revoked lines and their remediation: a partial index whose condition
            # is the page's filter (`REVOKED_OR_REMEDIATED`), so neither side of its OR scans the campaign.
            models.Index(fields=["campaign", "id"], condition=REVOKED_OR_REMEDIATED, name="review_revoked_in_order"),
        ]

    def __str__(self):
        return f"{self.holder_label} / {self.entitlement_id} in {self.campaign_id}"

    @property
    def holder_label(self) -> str:
        """The person, or for unmanaged access of no portal person, the AWS principal that holds it."""
        if self.holder_id is not None:
            return str(self.holder)
        return f"{self.aws_principal} (AWS principal, no portal person)"

    @property
    def live_remediation(self) -> str:
        """What AWS was last read to show (needs `grant` and `unmanaged` loaded); `remediation` keeps it for
        the evidence. A line with a grant follows the grant's sync; unmanaged access follows the drift register."""
        if self.remediation in self.SETTLED:
            return self.remediation
        if (grant := self.grant) is not None:
            if grant.desired == "absent" and grant.sync_state == "revoked":
                return self.Remediation.DONE
            if grant.sync_state == "failed":
                return self.Remediation.FAILED
            return self.Remediation.PENDING
        # A line without a grant is unmanaged access (constraint line_is_a_grant_or_unmanaged_access).
        unmanaged = cast(UnmanagedAccess, self.unmanaged)
        if unmanaged.state in ("removed", "gone"):
            return self.Remediation.DONE
        if unmanaged.state == "adopted" or unmanaged.last_error:
            return self.Remediation.FAILED  # adopted by an admin meanwhile, or AWS refused
        return self.Remediation.PENDING

    def get_live_remediation_display(self) -> str:
        return self.Remediation(self.live_remediation).label


class CampaignReviewerProgress(models.Model):
    """Counters of one reviewer's lines at one stage of a campaign, kept in the transaction that moves them.

    The campaign's overview, its follow-ups and the campaigns lists read these (a few hundred rows a
    campaign) instead of grouping its 100,000 lines on every view. Every service that inserts lines or
    changes a line's reviewer, stage or decision holds the campaign's lock and adjusts them before its
    audit event (`reviews.progress_counters`); `tests/reviews/test_progress_counters.py` recounts them.

    `handed_on` counts the lines this reviewer kept in the first stage and handed on to an owner; it
    sits on the reviewer's first-stage row, whoever has those lines now.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="progress_counters")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    stage = models.PositiveSmallIntegerField(choices=ReviewItem.Stage.choices)
    # The reviewer's name, copied when the row is made and kept in step with the person's
    # (`reviews.services.holders.rename_reviewer`), so the campaign page lists reviewers by name on
    # `progress_by_reviewer_name` instead of joining and sorting all of a campaign's reviewers.
    reviewer_name = models.CharField(max_length=150, blank=True, default="", db_default="")
    total = models.IntegerField(default=0)  # lines the reviewer has at this stage
    decided = models.IntegerField(default=0)  # of those, decided (keep or revoke)
    revoked = models.IntegerField(default=0)  # of those, decided revoke
    unmanaged = models.IntegerField(default=0)  # of those, unmanaged access
    handed_on = models.IntegerField(default=0)  # kept here in the first stage and handed to an owner
    # Lines left to decide, stored by the database with the row (so always total - decided, in the same
    # statement that moves either): the follow-ups rank reviewers by it on `progress_most_undecided`.
    undecided = models.GeneratedField(
        expression=models.F("total") - models.F("decided"), output_field=models.IntegerField(), db_persist=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "reviewer", "stage"], name="one_counter_per_reviewer_stage"),
        ]
        indexes = [
            # The campaign page's progress per reviewer, in its order: its first 100 rows are a range.
            models.Index(fields=["campaign", "reviewer_name", "stage", "reviewer"], name="progress_by_reviewer_name"),
            # The follow-ups' order (most undecided first, then by name), of the rows with lines: the first
            # 100 of a campaign's 1,000 reviewers are a range of it, however many tie on their count.
            models.Index(
                models.F("campaign"),
                models.F("undecided").desc(),
                Lower("reviewer_name"),
                models.F("reviewer"),
                name="progress_most_undecided",
                condition=models.Q(total__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.reviewer_id}/{self.stage}: {self.decided}/{self.total}"


class CampaignStageProgress(models.Model):
    """A campaign's lines at one stage: the sums of its reviewers' counters (`CampaignReviewerProgress`),
    kept with them in the same transaction by `reviews.progress_counters`.

    The campaign page, the queue's progress and the campaigns lists read a row or two a campaign instead
    of summing its reviewers' rows (1,000 at a company's size, 10,000 at ten times it) on every view.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="stage_counters")
    stage = models.PositiveSmallIntegerField(choices=ReviewItem.Stage.choices)
    total = models.IntegerField(default=0)
    decided = models.IntegerField(default=0)
    unmanaged = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "stage"], name="one_counter_per_campaign_stage")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.stage}: {self.decided}/{self.total}"


class CampaignDecisionDay(models.Model):
    """Lines of a campaign decided by hand on one day (in TIME_ZONE), kept in the transaction that decides them.

    The campaign page's decisions per day read these (a row a day) instead of grouping every decided line:
    by the end of a company's campaign, 100,000 of them. Kept with `CampaignReviewerProgress`, by the same
    services and the same functions (`reviews.progress_counters`); automatic decisions at sign-off are not
    counted, and a first-stage keep handed on counts when the owner decides the line.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="decision_days")
    day = models.DateField()
    kept = models.IntegerField(default=0)
    revoked = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="one_decision_day_per_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.day}: {self.kept} kept, {self.revoked} revoked"


def _evidence_storage():
    """settings.STORAGES["evidence"]: the filesystem under var/ by default, S3 with PORTAL_EVIDENCE_BUCKET.
    A callable, so migrations do not record the deployment's choice."""
    from django.core.files.storage import storages

    return storages["evidence"]


class EvidencePack(models.Model):
    """One evidence pack of a campaign (CSV or PDF), asked for on its page and built by a worker.

    The page polls this row for its progress bar; once built, the file is in the evidence storage and the
    download serves it. At most one pack per campaign and format is waiting or being built (the partial
    unique constraint); one its worker never finished is closed as failed past
    reviews.services.evidence_packs.STALE_AFTER.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        PDF = "pdf", "PDF"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Being built"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="evidence_packs")
    format = models.CharField(max_length=3, choices=Format.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Progress: lines written out of the campaign's lines (fixed at launch).
    lines_done = models.PositiveIntegerField(default=0)
    lines_total = models.PositiveIntegerField(default=0)
    file = models.FileField(storage=_evidence_storage, upload_to="evidence/", max_length=300, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    # What went wrong, in words for the page.
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "format"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_evidence_pack",
            ),
        ]
        indexes = [
            # Serves the campaign page's latest pack of each format.
            models.Index(fields=["campaign", "format", "-requested_at"], name="evidence_pack_latest"),
        ]

    def __str__(self):
        return f"{self.get_format_display()} evidence of campaign {self.campaign_id} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        return min(100, self.lines_done * 100 // self.lines_total) if self.lines_total else 0

    @property
    def filename(self) -> str:
        return f"review-{self.campaign_id}-evidence-{self.pk}.{self.format}"
