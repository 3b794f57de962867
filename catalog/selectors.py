"""Reads of the catalog that pages and the API share."""

from collections.abc import Iterable

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
    """Every entitlement for the governance console, with what its rows show (account, policy): those
    columns alone, not every column of the entitlement, its account and its policy built into models for
    25 rows. The owners are read apart (`owner_names`)."""
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
        .order_by("account__name", "name", "pk")
    )


def owner_names(entitlement_ids: Iterable[int]) -> dict[int, list[str]]:
    """Entitlement id → its owners as shown (the full name, else the email), by name: one query of names,
    where prefetching the owners built each as a model through the prefetch machinery (half the rows' cost)."""
    names: dict[int, list[str]] = {}
    rows = (
        Entitlement.owners.through.objects.filter(entitlement_id__in=list(entitlement_ids))
        .order_by("user__full_name", "user__email", "user_id")
        .values_list("entitlement_id", "user__full_name", "user__email")
    )
    for entitlement_id, full_name, email in rows:
        names.setdefault(entitlement_id, []).append(full_name or email)
    return names
