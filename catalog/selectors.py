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


def console_entitlements() -> QuerySet[Entitlement]:
    """Every entitlement for the governance console, with what its rows show (owners, policy) in
    two queries a page whatever the rows."""
    return (
        Entitlement.objects.select_related("account", "approval_policy")
        .prefetch_related("owners")
        .order_by("account__name", "name", "pk")
    )
