"""Catalog filters shared by the catalog page and the API (django-filter)."""

import django_filters
from django.db.models import Q

from catalog.models import AwsAccount, Entitlement, Risk


class EntitlementFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    account = django_filters.ModelChoiceFilter(queryset=AwsAccount.objects.all(), empty_label="All accounts")
    kind = django_filters.ChoiceFilter(choices=Entitlement.Kind.choices, empty_label="All kinds")
    risk = django_filters.ChoiceFilter(choices=Risk.choices, empty_label="Any risk")

    class Meta:
        model = Entitlement
        fields = ["q", "account", "kind", "risk"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(description__icontains=value) | Q(aws_name__icontains=value)
        )


class ConsoleEntitlementFilter(EntitlementFilter):
    """The governance console's list: every entitlement, requestable or not, and that as a filter too."""

    # The accounts' names and ids alone: the choices show nothing else, one option per account.
    account = django_filters.ModelChoiceFilter(
        queryset=AwsAccount.objects.only("name", "account_id"), empty_label="All accounts"
    )

    requestable = django_filters.ChoiceFilter(
        choices=[("yes", "Requestable"), ("no", "Not requestable")],
        method="by_requestable",
        empty_label="Requestable: any",
    )

    class Meta(EntitlementFilter.Meta):
        fields = [*EntitlementFilter.Meta.fields, "requestable"]

    def by_requestable(self, queryset, name, value):
        return queryset.filter(requestable=value == "yes")
