from django.contrib.auth import get_user_model
from rest_framework import serializers

from catalog.models import Entitlement
from sod.models import SodRule, SodViolation


class SodRuleSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    set_a = serializers.PrimaryKeyRelatedField(queryset=Entitlement.objects.all(), many=True, required=False)
    set_b = serializers.PrimaryKeyRelatedField(queryset=Entitlement.objects.all(), many=True, required=False)
    actions = serializers.ListField(child=serializers.CharField(max_length=128), max_length=50, required=False)

    class Meta:
        model = SodRule
        fields = [
            "id",
            "name",
            "why",
            "kind",
            "severity",
            "enforcement",
            "owner",
            "enabled",
            "set_a",
            "set_b",
            "actions",
            "detect_in_activity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class FlaggedPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    email = serializers.EmailField()


class DryRunSerializer(serializers.Serializer):
    flagged = serializers.IntegerField()
    people = FlaggedPersonSerializer(many=True)


class SodViolationSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.name")
    person = serializers.CharField(source="user.email")
    exception_ends = serializers.DateTimeField(source="exception.ends_at", allow_null=True, default=None)

    class Meta:
        model = SodViolation
        fields = ["id", "rule", "person", "details", "first_seen", "last_seen", "resolved_at", "exception_ends"]
