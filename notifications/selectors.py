"""Reads of notifications. Each runs one query, however many notifications a person has."""

from django.db.models import QuerySet

from notifications.models import Notification


def unread_count(user) -> int:
    """How many of `user`'s notifications are unread (one COUNT on a partial index)."""
    return unread_of(user).count()


def unread_of(user) -> QuerySet[Notification]:
    """`user`'s unread notifications (on the partial index of unread ones)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True)


def for_user(user) -> QuerySet[Notification]:
    """`user`'s own notifications, newest first. Nobody else's, whoever asks."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")
