"""Asking for access, following one's requests, withdrawing them, and deciding them.

Every write is one call to access.services, exactly as the pages make it; refusals travel as
Refusal to api.exceptions. Reads of a single request answer 404 unless the caller asked for
it, benefits from it or is assigned to decide it.
"""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from access import services
from access.models import AccessRequest
from access.selectors import requests_of, requests_visible_to
from access.step_up_policy import step_up_needed
from accounts import step_up_proof
from api.serializers.approvals import DecisionSerializer
from api.serializers.requests import (
    CartSerializer,
    RequestCreateSerializer,
    RequestDetailSerializer,
    RequestSerializer,
)
from api.views.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, PortalViewSet

DECIDED = {200: RequestDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


@extend_schema_view(
    list=extend_schema(summary="Requests I asked for or that are for me"),
    retrieve=extend_schema(
        summary="One request with its approval stages", responses={200: RequestDetailSerializer, 404: NOT_FOUND}
    ),
)
class RequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return AccessRequest.objects.none()
        if self.action == "list":
            return requests_of(self.request.user)
        return requests_visible_to(self.request.user)

    def get_serializer_class(self):
        return RequestSerializer if self.action == "list" else RequestDetailSerializer

    def _detail(self, access_request: AccessRequest, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = requests_visible_to(self.request.user).get(pk=access_request.pk)
        return Response(RequestDetailSerializer(fresh).data, status=status_code)

    def _valid(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        summary="Ask for one entitlement",
        request=RequestCreateSerializer,
        responses={201: RequestDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request):
        data = self._valid(RequestCreateSerializer)
        access_request = services.submit_request(
            requester=request.user,
            beneficiary=data.get("beneficiary"),
            entitlement=data["entitlement"],
            justification=data["justification"],
            duration_days=data.get("duration_days"),
            duration_hours=data.get("duration_hours"),
        )
        return self._detail(access_request, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Ask for several entitlements at once: all are created or none",
        request=CartSerializer,
        responses={201: RequestDetailSerializer(many=True), 400: BAD_REQUEST, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def cart(self, request):
        data = self._valid(CartSerializer)
        created = services.submit_cart(
            requester=request.user,
            beneficiary=data.get("beneficiary") or request.user,
            justification=data["justification"],
            items=[
                services.CartItem(item["entitlement"], item.get("duration_days"), item.get("duration_hours"))
                for item in data["items"]
            ],
        )
        fresh = requests_visible_to(request.user).filter(pk__in=[item.pk for item in created])
        return Response(RequestDetailSerializer(fresh.order_by("pk"), many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Withdraw a pending request",
        request=None,
        responses={200: RequestDetailSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk):
        return self._detail(services.cancel_request(request_id=int(pk), actor=request.user))

    @extend_schema(
        summary="Approve the stage waiting for the caller",
        description="Approving a high-risk request needs a second factor proven in this browser session in the "
        "last minutes; without one the answer is 403 with `code: step_up_required` (never possible with a token).",
        request=DecisionSerializer,
        responses=DECIDED,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk):
        comment = self._valid(DecisionSerializer).get("comment", "")
        if doing := step_up_needed(request, [int(pk)]):
            raise step_up_proof.StepUpRequired(request, doing)
        fresh = step_up_proof.has_fresh_second_factor(request)
        return self._detail(services.approve(request_id=int(pk), actor=request.user, comment=comment, recent_mfa=fresh))

    @extend_schema(
        summary="Deny the request at the stage waiting for the caller", request=DecisionSerializer, responses=DECIDED
    )
    @action(detail=True, methods=["post"])
    def deny(self, request, pk):
        comment = self._valid(DecisionSerializer).get("comment", "")
        fresh = step_up_proof.has_fresh_second_factor(request)
        return self._detail(services.deny(request_id=int(pk), actor=request.user, comment=comment, recent_mfa=fresh))
