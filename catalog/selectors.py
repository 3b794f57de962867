"""Reads of the catalog that pages share."""

from django.db.models import Q, QuerySet

from catalog.models import Entitlement


def requestable_entitlements(search: str = "") -> QuerySet[Entitlement]:
    entitlements = Entitlement.objects.filter(requestable=True).select_related("account").prefetch_related("owners")
    if search:
        entitlements = entitlements.filter(
            Q(name__icontains=search) | Q(description__icontains=search) | Q(aws_name__icontains=search)
        )
    return entitlements
