"""Break glass: what callers send to take an entitlement at once, and the reviews they decide afterwards."""

from rest_framework import serializers

from access.models import Approval
from access.services import break_glass as glass
from api.serializers.approvals import StageWithMyVotes
from api.serializers.requests import LONGEST_DURATION_DAYS, LONGEST_DURATION_HOURS, RequestSerializer
from catalog.models import Entitlement


class BreakGlassSerializer(serializers.Serializer):
    # Every entitlement, requestable or not (break glass is often for ones nobody may request): the
    # service refuses a caller who may not break glass for it, whatever it is.
    entitlement = serializers.PrimaryKeyRelatedField(queryset=Entitlement.objects.all())
    # Blank and short are let through: access.services.break_glass owns the limits and their words.
    reason = serializers.CharField(max_length=glass.MAX_REASON, allow_blank=True, trim_whitespace=False)
    ticket = serializers.CharField(max_length=glass.MAX_TICKET, allow_blank=True)
    # In the entitlement's unit, one of the two: the service refuses the other, and no duration at all.
    duration_days = serializers.IntegerField(
        min_value=1, max_value=LONGEST_DURATION_DAYS, required=False, allow_null=True
    )
    duration_hours = serializers.IntegerField(
        min_value=1, max_value=LONGEST_DURATION_HOURS, required=False, allow_null=True
    )


class BreakGlassReviewSerializer(serializers.ModelSerializer):
    request = RequestSerializer(read_only=True)
    reasons = serializers.SerializerMethodField(help_text="Why the caller is asked to review it.")

    class Meta:
        model = Approval
        fields = ["id", "label", "activated_at", "due_at", "escalations", "request", "reasons"]

    def get_reasons(self, stage: StageWithMyVotes) -> list[str]:
        return [assignment.reason for assignment in stage.my_votes]


class BreakGlassDecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=glass.MAX_REASON)
