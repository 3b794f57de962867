"""Access reviews through the API: campaigns, their lines, and decisions (the same services as the pages).

Reviewers read and decide their own lines. Governance admins and auditors read every campaign and
every line; an auditor's POST is refused (403) whatever else they are. Those rules are
`reviews.access_rules`, shared with the pages; their refusals reach the client through `api.exceptions`.
"""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from api.pagination import KeysetPagination
from api.serializers.reviews import (
    AcceptRecommendationsSerializer,
    CampaignDetailSerializer,
    CampaignSerializer,
    DecidedSerializer,
    LaunchRequestedSerializer,
    PreviewSerializer,
    ReviewDecisionSerializer,
    ReviewItemSerializer,
)
from api.views.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, PortalViewSet
from reviews import access_rules, notices, selectors, services
from reviews.models import Campaign, ReviewItem


class AuditorsOnlyRead(BasePermission):
    """Before anything else of a request that changes something, as a permission runs: auditors change nothing."""

    def has_permission(self, request, view):
        if request.method not in SAFE_METHODS:
            access_rules.refuse_auditors(request.user)
        return True


class ReviewCampaignViewSet(mixins.ListModelMixin, PortalViewSet):
    """Campaigns with lines for the caller to review and their progress; every campaign for governance
    admins and auditors."""

    permission_classes = [IsAuthenticated, AuditorsOnlyRead]
    serializer_class = CampaignSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return selectors.campaigns_for_api(self.request.user)

    @extend_schema(
        summary="A campaign: scope, stages, snapshot and progress",
        responses={200: CampaignDetailSerializer, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk):
        campaign = access_rules.visible(request.user, pk)
        annotated = selectors.with_my_counts(
            Campaign.objects.filter(pk=campaign.pk).select_related("owner", "fallback_reviewer", "signed_off_by"),
            request.user,
        ).prefetch_related("accounts", "entitlements")
        detail = annotated.get()
        # The serializer's `progress` field reads the figures off the campaign, as it reads the annotated counts;
        # Campaign declares no such attribute.
        detail.progress = selectors.progress(detail)  # type: ignore[attr-defined]
        return Response(CampaignDetailSerializer(detail).data)

    @extend_schema(
        summary="Launch a draft: refused now with the reason when it cannot succeed (400); else queued (202): "
        "a worker reconciles the accounts in scope, then takes the snapshot (follow `state` and `launch_error`)",
        request=None,
        responses={202: LaunchRequestedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def launch(self, request, pk):
        # Whether the caller may launch it (its owner or a governance admin) is the service's to say.
        campaign = access_rules.visible(request.user, pk)
        campaign = services.request_launch(campaign_id=campaign.pk, actor=request.user)
        body = {"id": campaign.pk, "state": campaign.state, "launch_requested_at": campaign.launch_requested_at}
        return Response(LaunchRequestedSerializer(body).data, status=202)

    @extend_schema(
        summary="What launching this draft now would snapshot: lines per reviewer, lines to the fallback, "
        "unmanaged lines, the population's count and hash; or why it cannot launch (governance admins, auditors)",
        responses={200: PreviewSerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk):
        campaign = access_rules.previewable(request.user, pk)
        preview = services.preview(campaign)
        refusal = preview.refusal or services.launch_refusal(campaign)
        return Response(PreviewSerializer({**asdict(preview), "refusal": refusal}).data)

    @extend_schema(
        summary="Lines of a campaign: mine to review by holder name, or every line for admins and auditors",
        description="Keyset pages of 50 (follow `next`; there is no count): a reviewer's own lines by holder "
        "name, then id; every line in snapshot order (by id) for governance admins and auditors. "
        "`decision=undecided` keeps the lines still to decide (or `keep`, `revoke`).",
        parameters=[
            OpenApiParameter(
                "decision",
                str,
                enum=ReviewItem.Decision.values,
                description="Only the lines with this decision (a reviewer's undecided ones are on an index).",
            )
        ],
        responses={200: ReviewItemSerializer(many=True), 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=KeysetPagination, filter_backends=[])
    def items(self, request, pk):
        campaign, reviewing = access_rules.queue_of(request.user, pk)
        decision = request.query_params.get("decision")
        if decision is not None and decision not in ReviewItem.Decision.values:
            raise ValidationError({"decision": f"One of: {', '.join(ReviewItem.Decision.values)}."})
        rows = ReviewItem.objects.filter(campaign=campaign)
        if reviewing:
            rows = rows.filter(reviewer=request.user)
        if decision is not None:
            rows = rows.filter(decision=decision)
        rows = ReviewItemSerializer.reading(rows)
        # A reviewer's own lines by the holder's name copied onto each line (`review_queue_by_holder` with
        # a decision, their few thousand lines without); everyone's (admins, auditors): in snapshot order
        # on the index (campaign, id). Keyset pages: page 1,000 costs what page 1 does.
        self.paginator.ordering = ("holder_name", "id") if reviewing else ("id",)
        page = selectors.with_remediation_read(self.paginate_queryset(rows))
        return self.get_paginated_response(ReviewItemSerializer(page, many=True).data)

    @extend_schema(
        summary="Keep or revoke my selected items (one statement per stage); revoking needs a comment",
        request=ReviewDecisionSerializer,
        responses={200: DecidedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk):
        campaign = access_rules.reviewing(request.user, pk)
        body = ReviewDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = services.decide(campaign_id=campaign.pk, actor=request.user, **body.validated_data)
        notices.tell_owner_if_ready(campaign.pk)
        return Response({"decided": decided})

    @extend_schema(
        summary="Decide my selected items as their recommendations say",
        request=AcceptRecommendationsSerializer,
        responses={200: DecidedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def accept_recommendations(self, request, pk):
        campaign = access_rules.reviewing(request.user, pk)
        body = AcceptRecommendationsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = services.accept_recommendations(
            campaign_id=campaign.pk, actor=request.user, item_ids=body.validated_data["item_ids"]
        )
        notices.tell_owner_if_ready(campaign.pk)
        return Response({"decided": decided})
