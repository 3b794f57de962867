"""Filters of the audit log (django-filter), shared by the list and its CSV export, all in the URL."""

from typing import ClassVar

import django_filters
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from audit import subjects
from audit.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    # The label is the actor's email as it was when the event was written (or "system", or the
    # HR feed's name), so a person's history is found even after their email changed.
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains", label="Actor")
    # A prefix, so "grant." finds every grant event and "request.approved" exactly that one.
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="Action")
    object_type = django_filters.CharFilter(field_name="object_type", lookup_expr="exact", label="Object type")
    object_id = django_filters.CharFilter(field_name="object_id", lookup_expr="exact", label="Object id")
    # Picked from a searchable list (an email; an entitlement as "#7 Developers (…)"). Each is a few
    # branches on indexes: the actor's (actor, seq), and (object_type, object_id, seq) with the ids
    # of the person's or entitlement's grants, requests, stages and votes (audit.subjects).
    person = django_filters.CharFilter(method="about_person", label="Person")
    entitlement = django_filters.CharFilter(method="about_entitlement", label="Entitlement")
    # Whole days, both ends included: `created_after` and `created_before` in the URL.
    created = django_filters.DateFromToRangeFilter(field_name="created_at", label="Date")

    _form_class: ClassVar[type | None] = None  # see get_form_class

    class Meta:
        model = AuditEvent
        fields = ["q", "actor", "action", "object_type", "object_id", "person", "entitlement", "created"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unknown: list[str] = []  # filters naming nobody: the page says so, and lists nothing

    def get_form_class(self):
        """The form's class, built once: django-filter builds a new class (a metaclass and its media) for
        every request, from fields that are the same every time (each form still copies its own)."""
        built = type(self).__dict__.get("_form_class")
        if built is None:
            built = super().get_form_class()
            type(self)._form_class = built
        return built

    def _about(self, queryset, kind: str, value: str, condition):
        value = value.strip()
        if not value:
            return queryset
        found = subjects.picker(kind)
        pk = found.resolve(value) if found is not None else None
        if pk is None:
            self.unknown.append(kind)
            return queryset.none()
        return queryset.filter(condition(pk))

    def about_person(self, queryset, name, value):
        return self._about(queryset, "person", value, subjects.about_person)

    def about_entitlement(self, queryset, name, value):
        return self._about(queryset, "entitlement", value, subjects.about_entitlement)

    def search(self, queryset, name, value):
        """Free text over who, what, which object, from where, and the recorded states."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.annotate(before_text=Cast("before", TextField()), after_text=Cast("after", TextField())).filter(
            Q(actor_label__icontains=value)
            | Q(action__icontains=value)
            | Q(object_type__icontains=value)
            | Q(object_id__icontains=value)
            | Q(ip__icontains=value)
            | Q(before_text__icontains=value)
            | Q(after_text__icontains=value)
        )
