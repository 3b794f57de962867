from django.db.models import QuerySet
from rest_framework import serializers

from api.serializers.common import id_field
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
            "second_stage",
            "remind_days_before",
            "escalate_days_before",
            "snapshot_at",
            "population_count",
            "population_hash",
            "mine",
            "mine_decided",
        ]


class CampaignProgressSerializer(serializers.Serializer):
    """Lines in the snapshot, decided for good, waiting in each stage, handed on, and from unmanaged access."""

    total = serializers.IntegerField()
    decided = serializers.IntegerField()
    waiting_first = serializers.IntegerField()
    waiting_second = serializers.IntegerField()
    handed_on = serializers.IntegerField()
    unmanaged = serializers.IntegerField()


class CampaignDetailSerializer(CampaignSerializer):
    """A campaign as its owner, its reviewers, governance admins and auditors read it: scope and progress."""

    # A plain string here: the choice set is named once, on Campaign (two components would collide).
    state = serializers.CharField(read_only=True, help_text="draft, active or closed (see Campaign.state)")
    owner = serializers.EmailField(source="owner.email", read_only=True)
    fallback_reviewer = serializers.EmailField(source="fallback_reviewer.email", read_only=True, allow_null=True)
    signed_off_by = serializers.EmailField(source="signed_off_by.email", read_only=True, allow_null=True)
    accounts = serializers.SlugRelatedField(many=True, read_only=True, slug_field="account_id")
    entitlements = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    progress = CampaignProgressSerializer(read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [
            *CampaignSerializer.Meta.fields,
            "owner",
            "reviewer_type",
            "fallback_reviewer",
            "undecided",
            "accounts",
            "entitlements",
            "kinds",
            "risks",
            "departments",
            "closed_at",
            "signed_off_by",
            "launch_requested_at",
            "launch_error",
            "progress",
        ]


# The API's datetime format and time zone, as the serializer's date fields write them: one field for every
# line and request (the serializer's own 23 fields, built on first use, were some 8% of a request's Python).
WHEN = serializers.DateTimeField()


class ReviewItemSerializer(serializers.ModelSerializer):
    holder = serializers.EmailField(source="holder.email", allow_null=True, help_text="Empty: no portal person.")
    entitlement = serializers.CharField(source="entitlement.name")
    account = serializers.CharField(source="entitlement.account.account_id")
    reviewer = serializers.EmailField(source="reviewer.email")
    first_decided_by = serializers.EmailField(source="first_decided_by.email", allow_null=True)
    second_reviewer = serializers.EmailField(source="second_reviewer.email", allow_null=True)
    remediation = serializers.CharField(source="live_remediation", help_text="As AWS was last read to show.")

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "holder",
            "aws_principal",
            "entitlement",
            "account",
            "origin",
            "held_since",
            "stage",
            "reviewer",
            "reviewer_reason",
            "second_reviewer",
            "recommendation",
            "recommendation_reason",
            "usage_evidence",
            "first_decision",
            "first_comment",
            "first_decided_by",
            "first_decided_at",
            "first_recommendation",
            "decision",
            "comment",
            "decided_at",
            "remediation",
        ]

    # What `to_representation` reads of a line and what it names (with the keyset's `holder_name`, and the
    # keys `reviews.selectors.with_remediation_read` follows): the lines of a page, their holder, entitlement,
    # account and reviewer come in one query of these columns alone, not every column of five tables.
    READS = (
        *(name for name in Meta.fields if name not in ("holder", "entitlement", "account", "reviewer", "remediation")),
        "holder__email",
        "holder_name",
        "entitlement__name",
        "entitlement__account__account_id",
        "reviewer__email",
        "first_decided_by",
        "second_reviewer",
        "remediation",
        "grant",
        "unmanaged",
    )

    @classmethod
    def reading(cls, lines: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
        """`lines` with what the serializer writes of them: the people who decided or confirm a line (none
        before the second stage) by key, a query each when there are any."""
        related = lines.select_related("holder", "entitlement__account", "reviewer").only(*cls.READS)
        return related.prefetch_related("first_decided_by", "second_reviewer")

    def to_representation(self, instance: ReviewItem) -> dict:
        """What DRF's generic path writes for a line (the fields above, which stay the schema), written
        directly: its field-by-field machinery (attribute lookup, a representation and a null check per field)
        cost some 1,000 calls a line, most of a page of 50; the fields themselves are not even built. A line whose
        remediation follows AWS needs its grant or unmanaged access read (`reviews.selectors.with_remediation_read`).
        tests/api/test_reviews.py checks both agree."""
        when = WHEN.to_representation
        holder, first_decided_by, second_reviewer = instance.holder, instance.first_decided_by, instance.second_reviewer
        entitlement = instance.entitlement
        return {
            "id": instance.pk,
            "holder": None if holder is None else str(holder.email),
            "aws_principal": str(instance.aws_principal),
            "entitlement": str(entitlement.name),
            "account": str(entitlement.account.account_id),
            "origin": instance.origin,
            "held_since": None if instance.held_since is None else when(instance.held_since),
            "stage": instance.stage,
            "reviewer": str(instance.reviewer.email),
            "reviewer_reason": str(instance.reviewer_reason),
            "second_reviewer": None if second_reviewer is None else str(second_reviewer.email),
            "recommendation": instance.recommendation,
            "recommendation_reason": str(instance.recommendation_reason),
            "usage_evidence": str(instance.usage_evidence),
            "first_decision": instance.first_decision,
            "first_comment": str(instance.first_comment),
            "first_decided_by": None if first_decided_by is None else str(first_decided_by.email),
            "first_decided_at": None if instance.first_decided_at is None else when(instance.first_decided_at),
            "first_recommendation": instance.first_recommendation,
            "decision": instance.decision,
            "comment": str(instance.comment),
            "decided_at": None if instance.decided_at is None else when(instance.decided_at),
            "remediation": str(instance.live_remediation),
        }

    def generic_representation(self, instance: ReviewItem) -> dict:
        """DRF's own field-by-field representation of a line, which `to_representation` writes directly."""
        return dict(super().to_representation(instance))


VERDICTS = [("keep", "Keep"), ("revoke", "Revoke")]


class ReviewDecisionSerializer(serializers.Serializer):
    item_ids = serializers.ListField(child=id_field(), min_length=1, max_length=10_000)
    decision = serializers.ChoiceField(choices=VERDICTS)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AcceptRecommendationsSerializer(serializers.Serializer):
    item_ids = serializers.ListField(child=id_field(), min_length=1, max_length=10_000)


class DecidedSerializer(serializers.Serializer):
    decided = serializers.IntegerField()


class LaunchRequestedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField(help_text="Still draft: a worker reconciles the accounts in scope, then launches.")
    launch_requested_at = serializers.DateTimeField()


class ReviewerLoadSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.EmailField()
    first = serializers.IntegerField(help_text="Lines this person would review in the first stage.")
    second = serializers.IntegerField(help_text="Lines this person would confirm in the second stage, if kept.")


class PreviewSerializer(serializers.Serializer):
    """What the launch would snapshot now (the launch's own statements, rolled back)."""

    refusal = serializers.CharField(help_text="Why it cannot launch; empty when it can (the figures are empty then).")
    count = serializers.IntegerField()
    unmanaged = serializers.IntegerField()
    to_fallback = serializers.IntegerField(help_text="Lines with no eligible reviewer, which go to the fallback.")
    sha256 = serializers.CharField(help_text="The population hash the launch would record.")
    reviewers = ReviewerLoadSerializer(many=True)
