"""Access reviews through the API: my campaigns, my items in one, and decisions (the same services as the pages)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from api.serializers.reviews import (
    AcceptRecommendationsSerializer,
    CampaignSerializer,
    DecidedSerializer,
    ReviewDecisionSerializer,
    ReviewItemSerializer,
)
from api.views.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, PortalViewSet
from reviews import selectors, services
from reviews.models import Campaign, ReviewItem


class ReviewCampaignViewSet(mixins.ListModelMixin, PortalViewSet):
    """Active campaigns with items for the caller to review, and their progress."""

    serializer_class = CampaignSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return selectors.campaigns_of_reviewer(self.request.user)

    def _campaign(self, pk) -> Campaign:
        campaign = Campaign.objects.filter(pk=pk).first()
        if campaign is None or not campaign.items.filter(reviewer=self.request.user).exists():
            raise Http404
        return campaign

    @extend_schema(
        summary="My items in a campaign (undecided first)",
        responses={200: ReviewItemSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def items(self, request, pk):
        campaign = self._campaign(pk)
        rows = (
            ReviewItem.objects.filter(campaign=campaign, reviewer=request.user)
            .select_related("holder", "entitlement__account")
            .order_by("-decision", "holder__full_name", "pk")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ReviewItemSerializer(page, many=True).data)

    @extend_schema(
        summary="Keep or revoke my selected items (one statement); revoking needs a comment",
        request=ReviewDecisionSerializer,
        responses={200: DecidedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk):
        campaign = self._campaign(pk)
        body = ReviewDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = services.decide(campaign_id=campaign.pk, actor=request.user, **body.validated_data)
        return Response({"decided": decided})

    @extend_schema(
        summary="Decide my selected items as their recommendations say",
        request=AcceptRecommendationsSerializer,
        responses={200: DecidedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def accept_recommendations(self, request, pk):
        campaign = self._campaign(pk)
        body = AcceptRecommendationsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = services.accept_recommendations(
            campaign_id=campaign.pk, actor=request.user, item_ids=body.validated_data["item_ids"]
        )
        return Response({"decided": decided})
