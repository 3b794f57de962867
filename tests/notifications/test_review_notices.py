"""Review notices know their campaign by id (about_campaign), including those sent before the field existed."""

import importlib

from django.apps import apps
from django.utils import timezone

from notifications.models import Notification

backfill = importlib.import_module("notifications.migrations.0004_review_escalation_and_about_campaign")


def test_reminders_sent_before_the_upgrade_learn_their_campaign_from_their_link(cast):
    def reminder(link):
        return Notification.objects.create(
            recipient=cast.bob,
            kind=Notification.Kind.REVIEW_DUE,
            title="Review due 30 Nov: Q4 review",
            link=link,
            created_at=timezone.now(),
        )

    queue, elsewhere = reminder("/reviews/42/"), reminder("/reviews/")

    backfill.about_campaign_from_link(apps, schema_editor=None)

    queue.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (queue.about_campaign, elsewhere.about_campaign) == (42, None)
