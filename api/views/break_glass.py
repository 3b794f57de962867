"""Break glass through the API: take an entitlement at once (the people allowed to), and the after-the-fact
reviews waiting for the caller, confirmed or revoked. Each write is the one service call the pages make."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from access import selectors
from access.models import Approval
from access.selectors import requests_visible_to
from access.services import break_glass as glass
from accounts import step_up_proof
from api.serializers.break_glass import BreakGlassDecisionSerializer, BreakGlassReviewSerializer, BreakGlassSerializer
from api.serializers.requests import RequestDetailSerializer
from api.views.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, PortalViewSet

DECIDED = {200: RequestDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


class BreakGlassViewSet(PortalViewSet):
    serializer_class = BreakGlassSerializer

    @extend_schema(
        summary="Break glass: take an entitlement now, pre-approved, reviewed by its approvers within 24 hours",
        description="Only for the people a governance admin allowed for the entitlement. Needs a second factor "
        "proven in this browser session in the last minutes; without one the answer is 403 with "
        "`code: step_up_required` (never possible with a token).",
        request=BreakGlassSerializer,
        responses={201: RequestDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request):
        serializer = BreakGlassSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entitlement = data["entitlement"]
        fresh = step_up_proof.has_fresh_second_factor(request)
        # Someone not allowed is refused by the service in its words; only the allowed are asked for a code.
        if not fresh and selectors.break_glass_grounds(request.user, entitlement.pk) is not None:
            raise step_up_proof.StepUpRequired(request, glass.STEP_UP)
        access_request = glass.break_glass(
            requester=request.user,
            entitlement_id=entitlement.pk,
            reason=data["reason"],
            ticket=data["ticket"],
            duration_days=data.get("duration_days"),
            duration_hours=data.get("duration_hours"),
            recent_mfa=fresh,
        )
        created = requests_visible_to(request.user).get(pk=access_request.pk)
        return Response(RequestDetailSerializer(created).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(summary="Break glass waiting for the caller's after-the-fact review"))
class BreakGlassReviewViewSet(mixins.ListModelMixin, PortalViewSet):
    """Reviews by the break-glass request's id: /api/break-glass/reviews/{request id}/confirm/."""

    serializer_class = BreakGlassReviewSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Approval.objects.none()
        return selectors.break_glass_reviews_for(self.request.user)

    def _decide(self, request: Request, pk: str, confirm: bool) -> Response:
        serializer = BreakGlassDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decided = glass.decide_review(
            request_id=int(pk),
            actor=request.user,
            confirm=confirm,
            comment=serializer.validated_data.get("comment", ""),
            recent_mfa=step_up_proof.has_fresh_second_factor(request),
        )
        return Response(RequestDetailSerializer(requests_visible_to(request.user).get(pk=decided.pk)).data)

    @extend_schema(summary="Confirm a break glass", request=BreakGlassDecisionSerializer, responses=DECIDED)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk):
        return self._decide(request, pk, confirm=True)

    @extend_schema(
        summary="Revoke a break glass: its access ends now and is removed from AWS",
        request=BreakGlassDecisionSerializer,
        responses=DECIDED,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk):
        return self._decide(request, pk, confirm=False)
