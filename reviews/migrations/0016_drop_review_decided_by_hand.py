"""The campaign page's decisions per day are counters now (`CampaignDecisionDay`, migration 0015): the
partial index that served grouping the lines decided by hand serves nothing, and every decision wrote to it.
Dropped concurrently, so a populated review table keeps taking decisions meanwhile."""

from django.db import migrations

from inputs.migration_ops import RemoveIndexWithoutLocking


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("reviews", "0015_campaign_decision_day")]

    operations = [RemoveIndexWithoutLocking(model_name="reviewitem", name="review_decided_by_hand")]
