"""Decisions per day as counters (issue 21): the campaign page grouped every decided line of a campaign.

A new table, filled from each existing campaign's lines (reviews.progress_counters.recount, frozen).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import TruncDate


def fill_days(apps, schema_editor):
    Campaign = apps.get_model("reviews", "Campaign")
    ReviewItem = apps.get_model("reviews", "ReviewItem")
    Day = apps.get_model("reviews", "CampaignDecisionDay")
    for campaign_id in Campaign.objects.values_list("pk", flat=True).iterator():
        by_hand = ReviewItem.objects.filter(campaign_id=campaign_id, decided_at__isnull=False, automatic=False)
        rows = (
            by_hand.order_by()
            .annotate(day=TruncDate("decided_at"))
            .values("day")
            .annotate(kept=Count("pk", filter=Q(decision="keep")), revoked=Count("pk", filter=Q(decision="revoke")))
        )
        Day.objects.bulk_create(
            Day(campaign_id=campaign_id, day=row["day"], kept=row["kept"], revoked=row["revoked"]) for row in rows
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0014_review_lines_by_holder"),
    ]

    operations = [
        migrations.CreateModel(
            name="CampaignDecisionDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("kept", models.IntegerField(default=0)),
                ("revoked", models.IntegerField(default=0)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="decision_days", to="reviews.campaign"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "day"), name="one_decision_day_per_campaign")
                ],
            },
        ),
        migrations.RunPython(fill_days, migrations.RunPython.noop),
    ]
