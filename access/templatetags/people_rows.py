"""Governance → People's list written by tags rather than template loops: a page of 25 people resolved
some 20 variables and two `{% url %}` a row. Every value a person or the HR feed wrote (names, addresses,
departments) is escaped; the rest is ours."""

from django import template
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import mark_safe

from access.views.common import path_for_each

register = template.Library()
NONE = "\N{EN DASH}"  # what the list shows for no department or no manager


def _day(when) -> str:
    """ "j M Y" of the date filter, in the current time zone."""
    local = timezone.localtime(when)
    return f"{local.day} {MONTHS_3[local.month].title()} {local.year}"


@register.simple_tag
def people_rows(rows) -> str:
    """The `<tr>` of each (person, role names) of `access.views.people.people`."""
    person_path = path_for_each("access:person")
    lines = []
    for person, roles in rows:
        email = escape(person.email)
        leaver = person.is_leaver
        small_leaver = '<span class="badge text-bg-secondary d-md-none">Leaver</span>' if leaver else ""
        manager = person.manager
        if manager is not None:
            managed_by = f'<a href="{person_path(manager.pk)}">{escape(manager)}</a>'
        else:
            managed_by = f'<span class="text-body-secondary">{NONE}</span>'
        if roles:
            badges = "".join(f'<span class="badge text-bg-light border me-1">{role}</span>' for role in roles)
        else:
            badges = '<span class="text-body-secondary">Employee</span>'
        if leaver:
            left = person.left_at
            since = f'<div class="small text-body-secondary">since {_day(left)}</div>' if left else ""
            state = f'<span class="badge text-bg-secondary">Leaver</span>{since}'
        else:
            state = '<span class="badge text-bg-success">Active</span>'
        lines.append(
            f'<tr data-testid="person-{email}">\n'
            f'    <td><a href="{person_path(person.pk)}">{escape(person.full_name or person.email)}</a>\n'
            f'      <div class="small text-body-secondary text-break">{email}</div>\n'
            f"      {small_leaver}</td>\n"
            f'    <td class="d-none d-md-table-cell">{escape(person.department or NONE)}</td>\n'
            f'    <td class="d-none d-lg-table-cell">{managed_by}</td>\n'
            f"    <td>{badges}</td>\n"
            f'    <td class="text-end" data-testid="active-grants">{person.active_grants}</td>\n'
            f'    <td class="d-none d-md-table-cell">{state}</td>\n'
            "  </tr>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308  (every value a person wrote escaped)
