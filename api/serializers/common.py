"""Small read-only shapes shared by several endpoints."""

from rest_framework import serializers

from catalog.models import AwsAccount, Entitlement
from inputs.rules import MAX_ID, NUMBER_TOO_LARGE


def id_field(**options) -> serializers.IntegerField:
    """An object's id in a body: a positive number of at most 18 digits, so a query never has to hold more."""
    return serializers.IntegerField(
        min_value=1, max_value=MAX_ID, error_messages={"max_value": NUMBER_TOO_LARGE}, **options
    )


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)
    email = serializers.EmailField(read_only=True)


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwsAccount
        fields = ["id", "account_id", "name"]


class EntitlementSummarySerializer(serializers.ModelSerializer):
    account = AccountSerializer(read_only=True)

    class Meta:
        model = Entitlement
        fields = ["id", "name", "kind", "risk", "account"]


class ErrorSerializer(serializers.Serializer):
    """A refusal by the access rules: why, and which input field it concerns (if one does)."""

    detail = serializers.CharField()
    field = serializers.CharField(allow_null=True)


# Documented shape of 400: either a rule's {detail, field} or DRF's {field: [messages]} from validation.
BAD_REQUEST_SCHEMA = {
    "type": "object",
    "description": "Either {detail, field} when a rule refuses the input, or {field name: [messages]} "
    "when the input itself is malformed.",
    "properties": {"detail": {"type": "string"}, "field": {"type": "string", "nullable": True}},
    "additionalProperties": True,
}
