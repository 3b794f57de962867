"""The admin takes only what can be an id where it looks ids up (it registers no model of its own).

Django looks chosen relations up with `pk__in`, the autocomplete widget looks up whatever was
submitted to show it again, and an action looks up the ticked rows: a 20-digit id was an
OverflowError on SQLite, and "²" or any other text a ValueError on every database. Here an id is 1 to
18 ASCII digits; anything else is a form error, or a 400 for an action, and is never shown back to a
widget that would look it up. `IdsOnlyAdmin` goes on every admin class that edits (audit.admin's
AuditedAdmin, inlines, Django's Group).
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django import forms
from django.contrib.admin import helpers
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from inputs.rules import ID_DIGITS, ID_REGEX, MAX_ID, NOT_AN_ID, NUMBER_TOO_LARGE, RefusedInput, id_or_none

_ID = re.compile(ID_REGEX)
_DIGITS = re.compile(r"[0-9]+")


def _is_id(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_ID
    return isinstance(value, str) and bool(_ID.fullmatch(value.strip()))


class _IdsOnly:
    """Shared by both fields; applies only to relations whose target's key is an integer."""

    # What the ModelChoiceField it is mixed into (after it) holds, for the type checker.
    queryset: QuerySet[Any] | None
    to_field_name: str | None
    empty_values: Sequence[Any]
    error_messages: dict[str, Any]

    def _by_id(self) -> bool:
        # The admin builds these fields for relations only, always with their queryset.
        options = self.queryset.model._meta  # type: ignore[union-attr]
        key = options.get_field(self.to_field_name) if self.to_field_name else options.pk
        return isinstance(key, models.IntegerField)

    def _refuse_unless_ids(self, values) -> None:
        if not self._by_id():
            return
        for value in values:
            if value in self.empty_values or hasattr(value, "_meta") or _is_id(value):
                continue
            if isinstance(value, str) and _DIGITS.fullmatch(value.strip()) and len(value.strip()) > ID_DIGITS:
                raise forms.ValidationError(NUMBER_TOO_LARGE, code="max_value")
            message = self.error_messages["invalid_choice"]
            raise forms.ValidationError(message, code="invalid_choice", params={"value": value})

    def _shown(self, value) -> bool:
        return not self._by_id() or value in self.empty_values or hasattr(value, "_meta") or _is_id(value)


class IdChoiceField(_IdsOnly, forms.ModelChoiceField):
    def to_python(self, value):
        self._refuse_unless_ids([value])
        return super().to_python(value)

    def prepare_value(self, value):
        prepared = super().prepare_value(value)
        return prepared if self._shown(prepared) else None


class IdsChoiceField(_IdsOnly, forms.ModelMultipleChoiceField):
    def clean(self, value):
        if isinstance(value, list | tuple):
            self._refuse_unless_ids(value)
        return super().clean(value)

    def prepare_value(self, value):
        prepared = super().prepare_value(value)
        if isinstance(prepared, list | tuple):
            return [item for item in prepared if self._shown(item)]
        return prepared if self._shown(prepared) else None


class IdsOnlyAdmin:
    """Mixed into a ModelAdmin or an inline: every relation field it builds takes ids only, and an
    action is refused (400, inputs.middleware) when a ticked row is not an id."""

    # As ModelAdmin and InlineModelAdmin declare them, so the classes it is mixed into agree.
    model: Any
    formfield_overrides: ClassVar[Mapping[type[models.Field], Mapping[str, Any]]] = {
        models.ForeignKey: {"form_class": IdChoiceField},
        models.OneToOneField: {"form_class": IdChoiceField},
        models.ManyToManyField: {"form_class": IdsChoiceField},
    }

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        if isinstance(self.model._meta.pk, models.IntegerField):
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                if id_or_none(value) is None:  # and one of too many digits is refused inside
                    raise RefusedInput(NOT_AN_ID)
        # A mixin listed before ModelAdmin in the bases: the ModelAdmin after it has response_action.
        return super().response_action(request, queryset)  # type: ignore[misc]
