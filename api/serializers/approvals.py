"""The approval inbox and decisions."""

from typing import Protocol

from rest_framework import serializers

from access.models import Approval, ApprovalAssignment
from api.serializers.common import id_field
from api.serializers.requests import LONGEST_TEXT, RequestSerializer

# A bulk decision is one screen of the inbox; more would hold one HTTP call open for long.
MOST_BULK_REQUESTS = 100
DECISIONS = ["approve", "deny"]


class StageWithMyVotes(Protocol):
    """A stage as access.selectors hands it to a voter: their undecided assignments in it prefetched."""

    my_votes: list[ApprovalAssignment]


class StepToDecideSerializer(serializers.ModelSerializer):
    request = RequestSerializer(read_only=True)
    reasons = serializers.SerializerMethodField(help_text="Why the caller is asked to decide this stage.")

    class Meta:
        model = Approval
        fields = ["id", "step", "label", "required", "activated_at", "request", "reasons"]

    def get_reasons(self, stage: StageWithMyVotes) -> list[str]:
        return [assignment.reason for assignment in stage.my_votes]


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=LONGEST_TEXT)


class BulkDecisionSerializer(serializers.Serializer):
    request_ids = serializers.ListField(child=id_field(), allow_empty=False, max_length=MOST_BULK_REQUESTS)
    decision = serializers.ChoiceField(choices=DECISIONS)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=LONGEST_TEXT)


class BulkOutcomeSerializer(serializers.Serializer):
    request_id = serializers.IntegerField()
    ok = serializers.BooleanField()
    message = serializers.CharField()
