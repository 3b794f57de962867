"""Reads of the catalog that pages and the API share."""

from django.db.models import QuerySet

from catalog.models import Entitlement


def requestable_entitlements() -> QuerySet[Entitlement]:
    return (
        Entitlement.objects.filter(requestable=True)
        .select_related("account")
        .prefetch_related("owners")
        .order_by("account__name", "name")
    )
