"""Getting notifications to people: emailing them once, marking them read."""

import logging
from smtplib import SMTPException

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from notifications import emails
from notifications.models import Notification

logger = logging.getLogger(__name__)

# People emailed per pass of send_pending_emails; the rest wait for the next pass a minute later.
EMAIL_BATCH = 200


def mark_all_read(user, now=None) -> int:
    """Mark every unread notification of `user` read. Returns how many were unread."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now or timezone.now())


def _claim_unsent(recipient_id: int, now) -> list[Notification]:
    """Take a person's unsent notifications for this pass, so no other worker emails them too."""
    with transaction.atomic():
        unsent = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(recipient_id=recipient_id, emailed_at__isnull=True)
            .select_related("recipient")
            .order_by("created_at", "pk")
        )
        ids = [notification.pk for notification in unsent]
        claimed = Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(emailed_at=now)
        if claimed != len(ids):
            # Another pass took some of them first (databases without row locks): leave the person to it.
            transaction.set_rollback(True)
            return []
    return unsent


def send_pending_emails(now=None) -> int:
    """Email each person their unsent notifications: one digest from the threshold up, else one email each.

    A person's notifications are marked emailed, and committed, before their emails go out
    (the mail server is called outside any transaction), so a second pass or a second
    worker sends nothing; an email the mail server refused is unmarked for the next pass.
    Returns how many emails were sent.
    """
    now = now or timezone.now()
    recipient_ids = list(
        Notification.objects.filter(emailed_at__isnull=True)
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()[:EMAIL_BATCH]
    )
    return send_emails_to(recipient_ids, now)


def send_emails_to(recipient_ids, now=None) -> int:
    """Email these people their unsent notifications now (a break glass is not left for the next pass),
    claimed as `send_pending_emails` claims them, so no other pass sends them too. Returns emails sent."""
    now = now or timezone.now()
    if not recipient_ids:
        return 0
    sent = 0
    with get_connection() as connection:
        for recipient_id in recipient_ids:
            for message, covered in emails.compose(_claim_unsent(recipient_id, now)):
                message.connection = connection
                try:
                    message.send()
                except (SMTPException, OSError):
                    logger.exception("Email to person %s failed; it will be retried on the next pass", recipient_id)
                    Notification.objects.filter(pk__in=covered, emailed_at=now).update(emailed_at=None)
                else:
                    sent += 1
    return sent
