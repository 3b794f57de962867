"""Form fields for relations that take only what can be an id, for the forms Django builds itself
(the admin's). Django looks the chosen ids up with `pk__in`, and the admin's autocomplete widget
looks up whatever was submitted to show it again: a 20-digit id was an OverflowError on SQLite, and
"²" or any other text a ValueError on every database. Here an id is 1 to 18 ASCII digits; anything
else is refused with a message and never shown back to a widget that would look it up.
"""

import re

from django import forms
from django.db import models

from inputs.rules import ID_DIGITS, ID_REGEX, MAX_ID, NUMBER_TOO_LARGE

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

    def _by_id(self) -> bool:
        options = self.queryset.model._meta
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


# For a ModelAdmin's or an inline's `formfield_overrides`: every relation field it builds takes ids only.
ID_RELATIONS = {
    models.ForeignKey: {"form_class": IdChoiceField},
    models.OneToOneField: {"form_class": IdChoiceField},
    models.ManyToManyField: {"form_class": IdsChoiceField},
}
