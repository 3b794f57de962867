"""Tasks waiting to reach the broker: written in the transaction of the change that asks for them."""

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """One task to send. Deleted once the broker has it; a row still here is the relay's to send.

    `next_attempt_at` starts a little in the future (outbox.services.FRESH_GRACE): a fresh row is sent by
    its own transaction's on_commit, and the relay only takes rows nobody sent in that time.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    # The task must not start before this (a retry's backoff, as Celery's countdown); null: at once.
    not_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Messages sent together that share a key are one wake-up: only the first reaches the broker, the rest
    # are deleted with it (outbox.services.deliver). Empty: always sent. For tasks whose run covers the
    # others' work, such as a grant sync, which claims whatever else of its account is waiting.
    coalesce_key = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        # The relay's query: rows due by now, oldest first.
        indexes = [
            models.Index(fields=["next_attempt_at", "id"], name="outbox_due"),
            # The backlog's age (/metrics, /health/ready): the oldest row, one index step.
            models.Index(fields=["created_at"], name="outbox_by_age"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)}"
