"""The append-only, hash-chained audit trail."""

from django.conf import settings
from django.db import models


class AuditChainHead(models.Model):
    """The single row writers lock to append to the chain in one order, whatever the database."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self):
        return f"Audit chain head at #{self.last_seq}"


class AuditEvent(models.Model):
    """One state change or decision. Never updated or deleted; `hash` covers `prev_hash`."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    # PROTECT: people are made leavers, never deleted, so their history stays attributable.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            # Serves "history of this object" on detail pages and the audit filter.
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_history"),
            # Serves the person filter's "by them" branch, newest first (the actor's own FK index
            # would read all of a busy admin's events to sort them).
            models.Index(fields=["actor", "seq"], name="audit_actor_history"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} by {self.actor_label}"


class AuditSubject(models.Model):
    """Another object an event concerns beyond its own (a vote's or a grant's request), found by an index.

    Kept beside the event, not in it: the event's row is append-only and hashed, and this row is neither
    part of the hash nor evidence of anything; it only lets "every event about request 12" be read through
    `audit_subject_events` instead of scanning the whole trail for a JSON key. Written by
    `audit.services.record_many` in the event's own transaction (see `subject_keys`).
    """

    # No index of its own (lookups start from the subject) and no database constraint: this row only
    # points the way, and someone who removes an event behind the trigger's back must be named by
    # verify_audit, not stopped by an index table.
    event = models.ForeignKey(
        AuditEvent, on_delete=models.DO_NOTHING, related_name="subjects", db_index=False, db_constraint=False
    )
    subject_type = models.CharField(max_length=64)
    subject_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id", "event"], name="audit_subject_events")]

    def __str__(self):
        return f"#{self.event_id} concerns {self.subject_type}:{self.subject_id}"


class ChainCheck(models.Model):
    """One walk of the chain asked for on the audit page, run by a worker: its progress, then its verdict.

    Kept as evidence that (and when, and by whom) the trail was checked; not itself an audit event,
    since checking changes nothing.
    """

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    events_total = models.PositiveBigIntegerField(default=0)  # the head's seq when the walk began
    events_checked = models.PositiveBigIntegerField(default=0)
    intact = models.BooleanField(null=True, blank=True)  # empty until finished
    broken_seq = models.PositiveBigIntegerField(null=True, blank=True)
    broken_event_id = models.PositiveBigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True) | models.Q(intact__isnull=False),
                name="finished_check_has_a_verdict",
            )
        ]

    def __str__(self):
        return f"Chain check {self.pk} ({self.outcome or 'running'})"

    @property
    def running(self) -> bool:
        return self.finished_at is None
