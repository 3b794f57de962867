"""The catalog of requestable entitlements, marked with what the caller holds or awaits."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from access.selectors import annotate_held_and_pending
from api.serializers.catalog import EntitlementSerializer
from api.views.base import NOT_FOUND, PortalViewSet
from catalog.filters import EntitlementFilter
from catalog.models import Entitlement
from catalog.selectors import requestable_entitlements


@extend_schema_view(
    list=extend_schema(summary="Requestable entitlements; q searches name, description and AWS name"),
    retrieve=extend_schema(
        summary="One requestable entitlement", responses={200: EntitlementSerializer, 404: NOT_FOUND}
    ),
)
class CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    serializer_class = EntitlementSerializer
    # The catalog page's filters (q, account, kind, risk), so both answer a search alike.
    filterset_class = EntitlementFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller to mark
            return Entitlement.objects.none()
        return annotate_held_and_pending(requestable_entitlements(), self.request.user)
