"""Access requests: what callers send to ask for access, and what they get back."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access.models import AccessRequest, Approval, ApprovalAssignment
from accounts.models import User
from api.serializers.common import EntitlementSummarySerializer, PersonSerializer
from catalog.models import Entitlement

# Far beyond any entitlement's maximum, and keeps every end date inside what a datetime can hold.
LONGEST_DURATION_DAYS = 3650
LONGEST_DURATION_HOURS = 24 * 31
LONGEST_TEXT = 2000
# One cart is one screen of the catalog: a bound on the work a single call can ask for.
MOST_CART_ITEMS = 50


def _duration(**options: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=LONGEST_DURATION_DAYS, **options)


def _hours(**options: Any) -> serializers.IntegerField:
    # Only for entitlements counted in hours (catalog duration_unit); the service refuses it for the others.
    return serializers.IntegerField(
        min_value=1, max_value=LONGEST_DURATION_HOURS, required=False, allow_null=True, **options
    )


def _justification() -> serializers.CharField:
    # Blank is let through on purpose: access.services owns the minimum length and its message.
    return serializers.CharField(max_length=LONGEST_TEXT, allow_blank=True)


@extend_schema_field(OpenApiTypes.INT)
class BeneficiaryField(serializers.PrimaryKeyRelatedField):
    """Finds only the people the caller may ask for (access.services.may_request_for): themselves, their
    direct reports, anyone for governance admins. Anyone else's id answers like one that does not exist."""

    def get_queryset(self) -> QuerySet[User]:
        people = get_user_model().objects.all()
        request = self.context.get("request")
        if request is None or request.user.is_governance_admin:  # no caller: the schema is being drawn
            return people
        return people.filter(Q(pk=request.user.pk) | Q(manager=request.user))


def _beneficiary() -> BeneficiaryField:
    return BeneficiaryField(
        required=False,
        allow_null=True,
        help_text="Whom the access is for: yourself (when left out), a direct report, anyone for governance admins.",
    )


def _entitlement() -> serializers.PrimaryKeyRelatedField:
    # Every entitlement, requestable or not: the service refuses the others with its own message.
    return serializers.PrimaryKeyRelatedField(queryset=Entitlement.objects.all())


class RequestCreateSerializer(serializers.Serializer):
    entitlement = _entitlement()
    justification = _justification()
    duration_days = _duration(required=False, allow_null=True)
    duration_hours = _hours()
    beneficiary = _beneficiary()


class CartItemSerializer(serializers.Serializer):
    entitlement = _entitlement()
    duration_days = _duration(required=False, allow_null=True)
    duration_hours = _hours()


class CartSerializer(serializers.Serializer):
    justification = _justification()
    beneficiary = _beneficiary()
    items = CartItemSerializer(many=True, max_length=MOST_CART_ITEMS)


class ExtensionSerializer(serializers.Serializer):
    # Days, or hours for an entitlement counted in hours: one of the two.
    duration_days = _duration(required=False, allow_null=True)
    duration_hours = _hours()
    justification = _justification()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("duration_days") is None and attrs.get("duration_hours") is None:
            raise serializers.ValidationError({"duration_days": ["This field is required."]})
        return attrs


class AssignmentSerializer(serializers.ModelSerializer):
    approver = PersonSerializer(read_only=True, allow_null=True, help_text="Empty: any governance admin.")
    approver_name = serializers.SerializerMethodField()
    decided_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ApprovalAssignment
        fields = [
            "id",
            "approver",
            "approver_name",
            "reason",
            "decision",
            "decided_by",
            "comment",
            "decided_at",
            "automatic",
        ]

    def get_approver_name(self, assignment: ApprovalAssignment) -> str:
        return str(assignment.approver) if assignment.approver_id else "Governance admins"


class StageSerializer(serializers.ModelSerializer):
    assignments = AssignmentSerializer(many=True, read_only=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "step",
            "kind",
            "label",
            "state",
            "required",
            "activated_at",
            "due_at",
            "decided_at",
            "assignments",
        ]


class RequestSerializer(serializers.ModelSerializer):
    entitlement = EntitlementSummarySerializer(read_only=True)
    requester = PersonSerializer(read_only=True)
    beneficiary = PersonSerializer(read_only=True)

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "kind",
            "state",
            "entitlement",
            "requester",
            "beneficiary",
            "justification",
            "duration_days",
            "duration_hours",
            "break_glass",
            "ticket",
            "cart",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: AccessRequest) -> dict[str, Any]:
        """Written out (see api/serializers/common.py): a row of the request and approval lists. Times go
        through DRF's own field, which writes them in the API's time zone and format."""
        fields = self.fields
        return {
            "id": instance.id,
            "kind": str(instance.kind),
            "state": str(instance.state),
            "entitlement": fields["entitlement"].to_representation(instance.entitlement),
            "requester": fields["requester"].to_representation(instance.requester),
            "beneficiary": fields["beneficiary"].to_representation(instance.beneficiary),
            "justification": instance.justification,
            "duration_days": instance.duration_days,
            "duration_hours": instance.duration_hours,
            "break_glass": instance.break_glass,
            "ticket": instance.ticket,
            "cart": None if instance.cart is None else str(instance.cart),
            "created_at": fields["created_at"].to_representation(instance.created_at),
            "decided_at": None
            if instance.decided_at is None
            else fields["decided_at"].to_representation(instance.decided_at),
        }


class RequestDetailSerializer(RequestSerializer):
    stages = StageSerializer(source="approvals", many=True, read_only=True)

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "stages"]
        read_only_fields = fields

    def to_representation(self, instance: AccessRequest) -> dict[str, Any]:
        return {
            **super().to_representation(instance),
            "stages": self.fields["stages"].to_representation(instance.approvals),
        }
