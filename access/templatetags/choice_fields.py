"""A form's choice field as a `<select>`, written in one call: Django's widget renders a template per option
and another for its attributes (Governance → People's 40 departments cost more than its 25 rows). For
the filters of the governance lists, whose choices are names people or AWS gave: each is escaped."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def choice_select(bound_field, css: str = "") -> str:
    """A filter's `<select>` as its widget writes it (name, id, class, the chosen option, `aria-invalid`
    when refused), its choices read once; `css` the class when the widget has none."""
    value = bound_field.value()
    chosen = "" if value is None else str(value)
    options = "".join(
        f'<option value="{escape(choice)}"{" selected" if str(choice) == chosen else ""}>{escape(label)}</option>'
        for choice, label in bound_field.field.choices
    )
    css = escape(bound_field.field.widget.attrs.get("class", css))
    invalid = ' aria-invalid="true"' if bound_field.errors else ""
    return mark_safe(  # noqa: S308  (every choice escaped)
        f'<select name="{bound_field.html_name}" class="{css}" id="{bound_field.auto_id}"{invalid}>{options}</select>'
    )
