"""The admin's order of notifications (newest first) served by an index, built concurrently on PostgreSQL."""

from django.db import migrations, models

from inputs.migration_ops import AddIndexWithoutLocking


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("notifications", "0005_review_campaign_notice_kinds")]

    operations = [
        AddIndexWithoutLocking(
            model_name="notification",
            index=models.Index(fields=["created_at", "id"], name="notification_by_created"),
        ),
    ]
