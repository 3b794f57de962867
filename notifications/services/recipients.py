"""Who is told, and writing what they are told. Shared by every service of this package."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications import wording
from notifications.models import Notification


def create(kind: str, link: str, texts: dict[int, wording.Wording], now=None, **about) -> list[int]:
    """One notification per recipient id in `texts`; returns the recipient ids."""
    now = now or timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=pk, kind=kind, title=text.title, body=text.body, link=link, created_at=now, **about
            )
            for pk, text in texts.items()
        ],
        # A concurrent run of the same task may have told someone already: the constraint keeps one.
        ignore_conflicts=True,
    )
    return list(texts)


def active(user_ids) -> list[int]:
    """Leavers and disabled accounts are not told anything: they can no longer act on it."""
    return list(get_user_model().objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))


def governance_admins(excluding) -> list[int]:
    """Who an assignment without an approver stands for: every active governance admin."""
    admins = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(pk__in=excluding)
    return list(admins.values_list("pk", flat=True))
