"""Filters of Governance → People (django-filter), all in the URL so a filtered list can be shared."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from access import people_selectors

User = get_user_model()
SEARCH_MAX = 100  # longer than any name or address worth typing; more is refused as a form error


class PeopleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or email", max_length=SEARCH_MAX)
    # Choices read when the form is built (one query), so a department that no longer exists is refused.
    department = django_filters.ChoiceFilter(
        choices=lambda: [(name, name) for name in people_selectors.departments()], empty_label="All departments"
    )
    role = django_filters.ChoiceFilter(choices=people_selectors.ROLES, method="by_role", empty_label="Any role")
    status = django_filters.ChoiceFilter(
        field_name="employment_status", choices=User.EmploymentStatus.choices, empty_label="Any state"
    )

    class Meta:
        model = User
        fields = ["q", "department", "role", "status"]

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            field.widget.attrs.setdefault("class", "form-select" if hasattr(field, "choices") else "form-control")
        return form

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(full_name__icontains=value) | Q(email__icontains=value))

    def by_role(self, queryset, name, value):
        # `value` is one of ROLES' keys (the choice field refused anything else); each is an annotation.
        return queryset.filter(**{f"role_{value}": True})
