"""Entitlements as the catalog shows them to the caller."""

from typing import Any

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

    def to_representation(self, instance: Entitlement) -> dict[str, Any]:
        """Written out (see api/serializers/common.py): a row of the catalog."""
        account, owner = instance.account, self.fields["owners"].child
        return {
            "id": instance.id,
            "name": instance.name,
            "description": instance.description,
            "kind": str(instance.kind),
            "aws_name": instance.aws_name,
            "risk": str(instance.risk),
            "max_duration_days": instance.max_duration_days,
            "duration_unit": str(instance.duration_unit),
            "min_duration": instance.min_duration,
            "max_duration_hours": instance.max_duration_hours,
            "account": {"id": account.id, "account_id": account.account_id, "name": account.name},
            "owners": [owner.to_representation(person) for person in instance.owners.all()],
            # Annotated by access.selectors.annotate_held_and_pending, as the fields above say.
            "held": bool(instance.held),  # type: ignore[attr-defined]
            "pending": bool(instance.pending),  # type: ignore[attr-defined]
        }
