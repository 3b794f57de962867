"""Reads of the catalog that pages and the API share."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

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
    two queries a page whatever the rows: those columns alone, not every column of the entitlement, its
    account, its policy and each owner built into models for 25 rows."""
    owners = get_user_model().objects.only("full_name", "email")
    return (
        Entitlement.objects.select_related("account", "approval_policy")
        .only(
            "aws_name",
            "name",
            "kind",
            "risk",
            "requestable",
            "duration_unit",
            "max_duration_days",
            "max_duration_hours",
            "account__name",
            "approval_policy__name",
        )
        .prefetch_related(Prefetch("owners", queryset=owners))
        .order_by("account__name", "name", "pk")
    )
