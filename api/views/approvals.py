"""The caller's approval inbox, and deciding many requests in one call."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from access import services
from access.models import Approval
from access.selectors import steps_to_decide
from access.step_up_policy import step_up_needed
from accounts import step_up_proof
from api.serializers.approvals import BulkDecisionSerializer, BulkOutcomeSerializer, StepToDecideSerializer
from api.views.base import BAD_REQUEST, FORBIDDEN, PortalViewSet


@extend_schema_view(list=extend_schema(summary="Approval stages waiting for the caller's decision"))
class ApprovalViewSet(mixins.ListModelMixin, PortalViewSet):
    serializer_class = StepToDecideSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Approval.objects.none()
        return steps_to_decide(self.request.user)

    @extend_schema(
        summary="Approve or deny several requests; each is decided on its own",
        description="Approving any high-risk request among them needs a second factor proven in this browser "
        "session in the last minutes; without one nothing is decided and the answer is 403 with "
        "`code: step_up_required`.",
        request=BulkDecisionSerializer,
        responses={200: BulkOutcomeSerializer(many=True), 400: BAD_REQUEST, 403: FORBIDDEN},
    )
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def bulk(self, request):
        serializer = BulkDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["decision"] == "approve" and (doing := step_up_needed(request, data["request_ids"])):
            raise step_up_proof.StepUpRequired(request, doing)
        outcomes = services.decide_many(
            request_ids=data["request_ids"],
            actor=request.user,
            approve_them=data["decision"] == "approve",
            comment=data.get("comment", ""),
            recent_mfa=step_up_proof.has_fresh_second_factor(request),
        )
        return Response(BulkOutcomeSerializer(outcomes, many=True).data)
