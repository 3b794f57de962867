"""A campaign's lines per stage as counters (issue 21): the campaign page, the queue and the campaigns lists
summed every reviewer's counters of a campaign (1,000 rows at a company's size) on each view. A new table,
filled from the reviewers' counters already there (a grouped read of that small table).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Sum


def fill_stages(apps, schema_editor):
    Reviewer = apps.get_model("reviews", "CampaignReviewerProgress")
    Stage = apps.get_model("reviews", "CampaignStageProgress")
    sums = (
        Reviewer.objects.order_by()
        .values("campaign_id", "stage")
        .annotate(lines=Sum("total"), done=Sum("decided"), unmanaged_lines=Sum("unmanaged"))
        .filter(lines__gt=0)
    )
    Stage.objects.bulk_create(
        Stage(
            campaign_id=row["campaign_id"],
            stage=row["stage"],
            total=row["lines"],
            decided=row["done"],
            unmanaged=row["unmanaged_lines"],
        )
        for row in sums
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0018_review_recommended"),
    ]

    operations = [
        migrations.CreateModel(
            name="CampaignStageProgress",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "stage",
                    models.PositiveSmallIntegerField(choices=[(1, "First reviewer"), (2, "Owner (second stage)")]),
                ),
                ("total", models.IntegerField(default=0)),
                ("decided", models.IntegerField(default=0)),
                ("unmanaged", models.IntegerField(default=0)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stage_counters",
                        to="reviews.campaign",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "stage"), name="one_counter_per_campaign_stage")
                ],
            },
        ),
        migrations.RunPython(fill_stages, migrations.RunPython.noop, elidable=True),
    ]
