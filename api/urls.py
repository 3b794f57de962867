"""The REST API under /api/: paths and fields in snake case (/grants/{id}/give_back/, duration_days).

Route names are DRF's: api:request-list, api:request-approve, api:grant-give-back, ...
"""

from django.urls import path
from rest_framework.routers import DefaultRouter

from api.views.approvals import ApprovalViewSet
from api.views.break_glass import BreakGlassReviewViewSet, BreakGlassViewSet
from api.views.catalog import CatalogViewSet
from api.views.docs import DocsView, SchemaView
from api.views.grants import GrantViewSet
from api.views.people import PeopleViewSet
from api.views.requests import RequestViewSet
from api.views.reviews import ReviewCampaignViewSet
from api.views.sod import SodRuleViewSet, SodViolationViewSet
from api.views.token import ObtainTokenView

app_name = "api"


class Router(DefaultRouter):
    """The browsable root at /api/, without the duplicate `.json` routes the schema would not list."""

    include_format_suffixes = False


router = Router()
router.register("catalog", CatalogViewSet, basename="catalog")
router.register("requests", RequestViewSet, basename="request")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("break-glass/reviews", BreakGlassReviewViewSet, basename="break-glass-review")
router.register("break-glass", BreakGlassViewSet, basename="break-glass")
router.register("grants", GrantViewSet, basename="grant")
router.register("people", PeopleViewSet, basename="person")
router.register("reviews/campaigns", ReviewCampaignViewSet, basename="review-campaign")
router.register("sod/rules", SodRuleViewSet, basename="sod-rule")
router.register("sod/violations", SodViolationViewSet, basename="sod-violation")

urlpatterns = [
    path("token/", ObtainTokenView.as_view(), name="token"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(), name="docs"),
    *router.urls,
]
