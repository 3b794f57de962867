from rest_framework import serializers

from reviews.models import Campaign, ReviewItem


class CampaignSerializer(serializers.ModelSerializer):
    mine = serializers.IntegerField(read_only=True)
    mine_decided = serializers.IntegerField(read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "state",
            "due_at",
            "snapshot_at",
            "population_count",
            "population_hash",
            "mine",
            "mine_decided",
        ]


class ReviewItemSerializer(serializers.ModelSerializer):
    holder = serializers.EmailField(source="holder.email")
    entitlement = serializers.CharField(source="entitlement.name")
    account = serializers.CharField(source="entitlement.account.account_id")

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "holder",
            "entitlement",
            "account",
            "origin",
            "held_since",
            "reviewer_reason",
            "recommendation",
            "recommendation_reason",
            "decision",
            "comment",
            "decided_at",
        ]


VERDICTS = [("keep", "Keep"), ("revoke", "Revoke")]


class ReviewDecisionSerializer(serializers.Serializer):
    item_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000)
    decision = serializers.ChoiceField(choices=VERDICTS)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AcceptRecommendationsSerializer(serializers.Serializer):
    item_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000)


class DecidedSerializer(serializers.Serializer):
    decided = serializers.IntegerField()
