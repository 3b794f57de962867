"""Small read-only shapes shared by several endpoints."""

from typing import Any

from rest_framework import serializers

from catalog.models import AwsAccount, Entitlement
from inputs.rules import MAX_ID, NUMBER_TOO_LARGE


def id_field(**options: Any) -> serializers.IntegerField:
    """An object's id in a body: a positive number of at most 18 digits, so a query never has to hold more."""
    return serializers.IntegerField(
        min_value=1, max_value=MAX_ID, error_messages={"max_value": NUMBER_TOO_LARGE}, **options
    )


# The shapes below are read-only and nested in every row of the API's lists (each request names two people, an
# entitlement and its account): DRF's generic path costs a few Python calls per field per row (the attribute
# walk, the None check, the field's conversion), so each writes its plain values itself. The declared fields
# stay the contract and the schema; tests/api/test_plain_shapes.py compares each with DRF's own output.


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)
    email = serializers.EmailField(read_only=True)

    def to_representation(self, instance) -> dict[str, Any]:
        return {"id": instance.id, "name": instance.get_full_name(), "email": instance.email}


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwsAccount
        fields = ["id", "account_id", "name"]

    def to_representation(self, instance: AwsAccount) -> dict[str, Any]:
        return {"id": instance.id, "account_id": instance.account_id, "name": instance.name}


class EntitlementSummarySerializer(serializers.ModelSerializer):
    account = AccountSerializer(read_only=True)

    class Meta:
        model = Entitlement
        fields = ["id", "name", "kind", "risk", "account"]

    def to_representation(self, instance: Entitlement) -> dict[str, Any]:
        account = instance.account
        return {
            "id": instance.id,
            "name": instance.name,
            "kind": str(instance.kind),
            "risk": str(instance.risk),
            "account": {"id": account.id, "account_id": account.account_id, "name": account.name},
        }


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers, 400 to 503 (`inputs.refusals.error_body`): why, which input it concerns,
    and for a validation error every message by field."""

    detail = serializers.CharField(help_text="Why, in words for the person; a validation error's first message.")
    field = serializers.CharField(
        allow_null=True, help_text="The input the error concerns (a validation error's first field), or null."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Every validation message by field, nested fields by their path (items.1.entitlement); "
        "empty when the error is not a validation error.",
    )
    code = serializers.CharField(
        required=False,
        help_text="On a 403 only: mfa_required (set up a second factor) or step_up_required (prove one again).",
    )
