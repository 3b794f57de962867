"""Access the caller holds, with where its sync to AWS stands."""

from rest_framework import serializers

from access.models import Grant
from api.serializers.common import EntitlementSummarySerializer


class GrantSerializer(serializers.ModelSerializer):
    entitlement = EntitlementSummarySerializer(read_only=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "entitlement",
            "source",
            "desired",
            "sync_state",
            "last_error",
            "duration_days",
            "duration_hours",
            "granted_at",
            "expires_at",
            "verified_at",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields
