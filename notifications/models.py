"""What people are told: one row per message, shown in the portal and emailed once."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """One thing a person should know about, with a link to where they can act on it."""

    class Kind(models.TextChoices):
        APPROVAL_NEEDED = "approval_needed", "Approval needed"
        APPROVAL_REMINDER = "approval_reminder", "Approvals waiting"
        REQUEST_APPROVED = "request_approved", "Request approved"
        REQUEST_DENIED = "request_denied", "Request denied"
        REQUEST_EXPIRED = "request_expired", "Request expired"
        ACCESS_LIVE = "access_live", "Access live in AWS"
        SYNC_FAILED = "sync_failed", "Access change failed in AWS"
        ACCESS_ENDING = "access_ending", "Access ending soon"
        SOD_EXCEPTION_EXPIRED = "sod_exception_expired", "Separation-of-duties exception ended"
        REVIEW_DUE = "review_due", "Access review due soon"
        REVIEW_ESCALATION = "review_escalation", "Access review escalated to you"
        REVIEW_ESCALATED = "review_escalated", "Your access review was escalated"
        REVIEW_STARTED = "review_started", "Access review started"
        REVIEW_REVOKED = "review_revoked", "Access removed by a review"
        CAMPAIGN_READY = "campaign_ready", "Access review ready to sign off"
        CAMPAIGN_LAUNCH_FAILED = "campaign_launch_failed", "Access review could not start"
        BREAK_GLASS_REVIEW = "break_glass_review", "Break glass to review"

    DECISION_KINDS = (Kind.REQUEST_APPROVED, Kind.REQUEST_DENIED, Kind.REQUEST_EXPIRED)

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path inside the portal; emails prefix it with SITE_URL.
    link = models.CharField(max_length=200)
    # Not auto_now_add: services pass their own `now` so reminder intervals can be tested.
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # What the notification is about. Plain ids, not foreign keys: a notification is history
    # and must neither block nor vanish with the records it mentions.
    about_stage = models.PositiveBigIntegerField("approval stage id", null=True, blank=True)
    about_request = models.PositiveBigIntegerField("request id", null=True, blank=True)
    about_grant = models.PositiveBigIntegerField("grant id", null=True, blank=True)
    about_campaign = models.PositiveBigIntegerField("review campaign id", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # An escalation re-sends "approval needed": people told once about a stage are not told again.
            models.UniqueConstraint(
                fields=["recipient", "about_stage"],
                condition=models.Q(kind="approval_needed"),
                name="one_approval_notice_per_stage",
            ),
            # The same for a break-glass review: its escalation tells only the people newly asked.
            models.UniqueConstraint(
                fields=["recipient", "about_stage"],
                condition=models.Q(kind="break_glass_review"),
                name="one_break_glass_notice_per_stage",
            ),
            # A retried task must not tell anyone twice how their request ended.
            models.UniqueConstraint(
                fields=["recipient", "about_request"],
                condition=models.Q(kind__in=["request_approved", "request_denied", "request_expired"]),
                name="one_decision_notice_per_request",
            ),
            # Emails turn the link into an absolute URL on our own site: never another host.
            models.CheckConstraint(
                condition=models.Q(link__startswith="/") & ~models.Q(link__startswith="//"),
                name="notification_link_is_local",
            ),
        ]
        indexes = [
            # Serves selectors.unread_count: the unread badge, counted on every page.
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
            # Serves services.send_pending_emails: each person's unsent notifications, oldest first.
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(emailed_at__isnull=True),
                name="notification_unemailed",
            ),
            # Serves selectors.for_user (the list page, newest first) and the recent-reminder check.
            models.Index(fields=["recipient", "-created_at"], name="notification_by_person"),
            # Serves the Django admin's list, everyone's newest first: one page read off the end of this index.
            models.Index(fields=["created_at", "id"], name="notification_by_created"),
            # Serves the once-a-day checks of review reminders and escalations: who was told about a campaign lately.
            models.Index(
                fields=["about_campaign", "kind", "created_at"],
                condition=models.Q(about_campaign__isnull=False),
                name="notification_about_campaign",
            ),
        ]

    def __str__(self):
        return f"{self.title} (to {self.recipient_id})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
