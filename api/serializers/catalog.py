"""Entitlements as the catalog shows them to the caller."""

from rest_framework import serializers

from api.serializers.common import AccountSerializer, PersonSerializer
from catalog.models import Entitlement


class EntitlementSerializer(serializers.ModelSerializer):
    account = AccountSerializer(read_only=True)
    owners = PersonSerializer(many=True, read_only=True)
    # Annotated by access.selectors.annotate_held_and_pending for the caller.
    held = serializers.BooleanField(read_only=True, help_text="The caller holds this access now.")
    pending = serializers.BooleanField(read_only=True, help_text="The caller has a request for it waiting.")

    class Meta:
        model = Entitlement
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "aws_name",
            "risk",
            "max_duration_days",
            "duration_unit",
            "min_duration",
            "max_duration_hours",
            "account",
            "owners",
            "held",
            "pending",
        ]
