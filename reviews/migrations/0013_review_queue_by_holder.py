"""The holder's name on each review line and a reviewer's queue index by it (issue 21).

The column is added with a database default (no table rewrite), the lines already launched take their
holder's name in one UPDATE, and the index is built concurrently on PostgreSQL: the review lines are
the portal's second largest table (100,000 a quarter at a company's size) and reviewers keep deciding
meanwhile. The index it replaces had the same first columns, so nothing that used it loses its plan.
"""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from inputs.migration_ops import AddIndexWithoutLocking


def holders_named(apps, schema_editor):
    ReviewItem = apps.get_model("reviews", "ReviewItem")
    User = apps.get_model("accounts", "User")
    name = User.objects.filter(pk=OuterRef("holder_id")).values("full_name")[:1]
    ReviewItem.objects.update(holder_name=Coalesce(Subquery(name), F("aws_principal")))


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("accounts", "0001_initial"),
        ("reviews", "0012_review_line_activity"),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewitem",
            name="holder_name",
            field=models.CharField(blank=True, db_default="", default="", max_length=150),
        ),
        migrations.RunPython(holders_named, migrations.RunPython.noop, elidable=True),
        AddIndexWithoutLocking(
            model_name="reviewitem",
            index=models.Index(
                fields=["reviewer", "campaign", "decision", "holder_name", "id"], name="review_queue_by_holder"
            ),
        ),
        migrations.RemoveIndex(model_name="reviewitem", name="review_queue"),
    ]
