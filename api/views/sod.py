"""Separation-of-duties rules (governance admins write them, audited, with a dry run before saving; auditors
read them) and violations."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from accounts import roles
from accounts.models import User
from api.serializers.sod import DryRunSerializer, SodRuleSerializer, SodViolationSerializer
from api.views.base import BAD_REQUEST, FORBIDDEN, NOT_FOUND, PortalViewSet
from sod import scan, selectors
from sod.holdings import current_holdings
from sod.models import SodRule, SodViolation
from sod.rules import rule_view_of, save_rule

DRY_RUN_LISTED = 100


def _save(serializer: SodRuleSerializer, actor: User, rule: SodRule | None = None) -> SodRule:
    data = dict(serializer.validated_data)
    set_a, set_b = data.pop("set_a", None), data.pop("set_b", None)
    # A rule refused (InvalidInput) answers 400 {"detail", "field"} through api.exceptions, like every refusal.
    return save_rule(actor=actor, rule=rule, fields=data, set_a=set_a, set_b=set_b)


class AuditorsReadAdminsWrite(BasePermission):
    """Rules are read by governance admins and auditors; only governance admins change them (or dry-run)."""

    message = "Only governance admins may change separation-of-duties rules."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return roles.reads_everything(request.user)
        return roles.is_governance_admin(request.user)


@extend_schema(responses={200: SodRuleSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND})
class SodRuleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, PortalViewSet
):
    permission_classes = [AuditorsReadAdminsWrite]
    serializer_class = SodRuleSerializer
    queryset = SodRule.objects.prefetch_related("set_a", "set_b").order_by("name")
    http_method_names = ["get", "post", "put", "patch"]

    def perform_create(self, serializer):
        serializer.instance = _save(serializer, self.request.user)

    def perform_update(self, serializer):
        serializer.instance = _save(serializer, self.request.user, rule=serializer.instance)

    @extend_schema(
        summary="Who a rule would flag today, without saving it",
        request=SodRuleSerializer,
        responses={200: DryRunSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
    )
    @action(detail=False, methods=["post"])
    def dry_run(self, request):
        serializer = SodRuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        set_a, set_b = data.pop("set_a", []), data.pop("set_b", [])
        view = rule_view_of(data, set_a, set_b)
        flagged = scan.dry_run(view, current_holdings())
        people = get_user_model().objects.filter(pk__in=list(flagged)[:DRY_RUN_LISTED]).order_by("full_name")
        body = {
            "flagged": len(flagged),
            "people": [{"id": p.pk, "full_name": p.full_name, "email": p.email} for p in people],
        }
        return Response(body, status=status.HTTP_200_OK)


class SodViolationViewSet(mixins.ListModelMixin, PortalViewSet):
    """Open violations of the rules the caller may see (all for governance admins and auditors, their own for
    rule owners)."""

    serializer_class = SodViolationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SodViolation.objects.none()
        return selectors.violations_for(self.request.user, state=self.request.query_params.get("state", "open"))
