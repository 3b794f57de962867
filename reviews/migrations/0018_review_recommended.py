"""The queue's "Accept recommendations (N)" with "All" on an index (issue 21): a reviewer's lines with a
recommendation, whatever their decision. Built concurrently on PostgreSQL, so reviewers keep deciding."""

from django.db import migrations, models

from inputs.migration_ops import AddIndexWithoutLocking


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("reviews", "0017_progress_most_undecided")]

    operations = [
        AddIndexWithoutLocking(
            model_name="reviewitem",
            index=models.Index(
                condition=models.Q(("recommendation", "undecided"), _negated=True),
                fields=["reviewer", "campaign"],
                name="review_recommended",
            ),
        ),
    ]
