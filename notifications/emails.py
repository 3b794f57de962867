"""Turning one person's notifications into emails (HTML and plain text). No queries, no sending.

Links are absolute, built from SITE_URL, because an email is read outside the site.
"""

from collections import Counter
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from notifications.models import Notification
from notifications.wording import one_line

# A digest lists this many notifications in full; the page has the rest.
DIGEST_ITEMS = 50
# RFC 3834: out-of-office replies and other robots must not answer these emails.
HEADERS = {"Auto-Submitted": "auto-generated"}
# Kinds whose single email has a template of its own (templates/notifications/email/<name>.html and .txt).
TEMPLATES: dict[str, str] = {
    Notification.Kind.REVIEW_ESCALATION: "review_escalation",
    Notification.Kind.REVIEW_ESCALATED: "review_escalation",
}


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _item(notification: Notification) -> dict:
    return {
        "kind": notification.get_kind_display(),
        "code": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "url": absolute_url(notification.link),
        "created_at": notification.created_at,
    }


def _message(recipient, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    context = {
        **context,
        "recipient": recipient,
        "site_url": absolute_url("/"),
        "all_url": absolute_url(reverse("notifications:list")),
    }
    message = EmailMultiAlternatives(
        subject=one_line(subject),
        body=render_to_string(f"notifications/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((str(recipient), recipient.email))],
        headers=HEADERS,
    )
    message.attach_alternative(render_to_string(f"notifications/email/{template}.html", context), "text/html")
    return message


def digest_subject(notifications: list[Notification]) -> str:
    """Say what the digest holds: "5 updates: Approval needed (3), Request approved (2)"."""
    kinds = Counter(notification.get_kind_display() for notification in notifications)
    summary = ", ".join(f"{label} ({count})" for label, count in kinds.most_common())
    return f"{len(notifications)} updates: {summary}"


def compose(notifications: list[Notification]) -> list[tuple[EmailMultiAlternatives, list[int]]]:
    """The emails for one person's notifications, each with the ids of the notifications it covers.

    From NOTIFICATION_DIGEST_THRESHOLD notifications up, one digest; below it, one email each.
    """
    if not notifications:
        return []
    recipient = notifications[0].recipient
    if len(notifications) >= settings.NOTIFICATION_DIGEST_THRESHOLD:
        context = {
            "items": [_item(notification) for notification in notifications[:DIGEST_ITEMS]],
            "more": max(len(notifications) - DIGEST_ITEMS, 0),
            "count": len(notifications),
        }
        digest = _message(recipient, digest_subject(notifications), "digest", context)
        return [(digest, [notification.pk for notification in notifications])]
    return [
        (
            _message(
                recipient, notification.title, TEMPLATES.get(notification.kind, "single"), {"item": _item(notification)}
            ),
            [notification.pk],
        )
        for notification in notifications
    ]
