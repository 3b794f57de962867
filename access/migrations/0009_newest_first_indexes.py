"""Indexes for the default order of requests and grants, newest first (the Django admin's lists and the
API's): built concurrently on PostgreSQL, so a populated database keeps taking writes meanwhile."""

from django.db import migrations, models

from inputs.migration_ops import AddIndexWithoutLocking


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("access", "0008_durations_in_hours")]

    operations = [
        AddIndexWithoutLocking(
            model_name="accessrequest",
            index=models.Index(fields=["created_at", "id"], name="request_by_created"),
        ),
        AddIndexWithoutLocking(
            model_name="grant",
            index=models.Index(fields=["created_at", "id"], name="grant_by_created"),
        ),
    ]
