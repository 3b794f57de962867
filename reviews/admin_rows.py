"""The admin's list of review lines, each row written in one piece: the HTML of Django's `items_for_result`.

Django writes each cell of a list through `lookup_field` (the field looked up by name on the model's
options), `display_for_field` (a choice field's labels flattened into a dict, cell by cell) and `format_html`
(which escapes all it is given, the markup too), and each row's link through `reverse` and
`add_preserved_filters` (the list's query parsed and merged again for each row); the template then reads each
cell as a variable. Here what a column's cells share is found once a page: the field, its labels escaped,
the cell's class, the change link's path and the filters it keeps; a row is one string, which the admin's
template writes as it writes a row of cells. Each value from the database is escaped (`escape`) where it is
written. A list with a column of any other kind (a callable, a date, a number, a boolean), a popup and an
editable list are left to Django. tests/reviews/test_admin_rows.py compares the rows with Django's.
"""

from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.admin.templatetags.admin_list import ResultList, items_for_result
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

Cell = Callable[[Any], str]


def _cell(cl: ChangeList, name: Any, empty: str) -> tuple[str, Cell] | None:
    """A column's class and how a row's value is written in it, for a model field of a kind written here;
    None for any other column."""
    if not isinstance(name, str):
        return None
    try:
        found = cl.lookup_opts.get_field(name)
    except FieldDoesNotExist:
        return None
    if not isinstance(found, models.Field) or found.auto_created or not found.concrete or found.many_to_many:
        return None
    field: models.Field = found
    if isinstance(field.remote_field, models.ManyToOneRel):

        def related(obj: Any, name: str = name) -> str:
            value = getattr(obj, name)  # the related row, as its str()
            return empty if value is None else escape(value)

        return f' class="field-{name} nowrap"', related
    if getattr(field, "flatchoices", None):
        labels = {value: escape(label) for value, label in field.flatchoices}

        def choice(obj: Any, attname: str = field.attname) -> str:
            value = getattr(obj, attname)
            return labels.get("" if isinstance(value, str) and not value.strip() else value, empty)

        return f' class="field-{name}"', choice
    if type(field) in (models.CharField, models.TextField, models.EmailField, models.SlugField):

        def text(obj: Any, attname: str = field.attname) -> str:
            value = getattr(obj, attname)
            return empty if value is None or not str(value).strip() else escape(value)

        return f' class="field-{name}"', text
    return None


def _columns(cl: ChangeList) -> list[tuple[str, Cell, str | None]] | None:
    """Each column's class, cell, and the tag of its link to the row's change page (Django's `link_in_col`:
    the first column unless `list_display_links` names others; the first link a row header); None when a
    column is not one written here."""
    if cl.formset is not None or cl.is_popup or cl.to_field or cl.list_display_links is None:
        return None
    empty = str(cl.model_admin.get_empty_value_display())  # safe already: Django writes it as it is
    columns, first = [], True
    for name in cl.list_display:
        cell = _cell(cl, name, empty)
        if cell is None:
            return None
        link = (first and not cl.list_display_links) or name in cl.list_display_links
        columns.append((*cell, ("th" if first else "td") if link else None))
        first = first and not link
    return columns


def rows(cl: ChangeList) -> Iterator[ResultList]:
    """The page's rows as Django's `results` yields them, a row's cells written as one piece."""
    columns = _columns(cl)
    if columns is None:
        for result in cl.result_list:
            yield ResultList(None, items_for_result(cl, result, None))
        return
    stand_in = "987654321"
    name, site = f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change", cl.model_admin.admin_site.name
    change = reverse(name, args=[stand_in], current_app=site)
    before, after = change.split(stand_in)
    # The list's filters each link keeps (`?_changelist_filters=...`), the same for every row.
    after += add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, change)[len(change) :]
    pk = cl.lookup_opts.pk.attname
    for result in cl.result_list:
        cells = []
        for attributes, cell, link in columns:
            if link:
                url = escape(f"{before}{quote(getattr(result, pk))}{after}")
                cells.append(f'<{link}{attributes}><a href="{url}">{cell(result)}</a></{link}>')
            else:
                cells.append(f"<td{attributes}>{cell(result)}</td>")
        yield ResultList(None, [mark_safe("".join(cells))])  # noqa: S308 - each value escaped in its cell
