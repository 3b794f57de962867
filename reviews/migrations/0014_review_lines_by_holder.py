"""A reviewer's every line by holder name, and their undecided lines with a recommendation (issue 21).

Both built concurrently on PostgreSQL: reviewers keep deciding while the campaign's 100,000 lines are
indexed. The first serves the queue with "All" and the API's lines without a decision filter; the second,
partial, the queue's count of recommendations to accept.
"""

from django.db import migrations, models

from inputs.migration_ops import AddIndexWithoutLocking


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("reviews", "0013_review_queue_by_holder"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="reviewitem",
            index=models.Index(fields=["reviewer", "campaign", "holder_name", "id"], name="review_lines_by_holder"),
        ),
        AddIndexWithoutLocking(
            model_name="reviewitem",
            index=models.Index(
                fields=["reviewer", "campaign"],
                condition=models.Q(decision="undecided") & ~models.Q(recommendation="undecided"),
                name="review_recommended_undecided",
            ),
        ),
    ]
