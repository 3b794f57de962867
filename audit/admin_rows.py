"""A Django admin list's rows written with what each column needs worked out once a page, not once a cell.

Django's `items_for_result` asks, for every cell of every row, which field the column is (`lookup_field`),
the empty value's text, the choices' labels (a dict built per cell), the boolean icons' static URLs, and
for every row's link a `reverse` and a parse of the preserved filters: most of the time a 25-row list
takes beyond its queries. Here each column is looked at once a page and each row is one string; the HTML
is Django's own, cell for cell (tests/pages/test_admin_rows.py compares them). A list with a column of a
kind not handled here (a related lookup, a model method, a list_editable form, a popup) is written by
Django's own code, as before.
"""

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.templatetags.admin_list import results as django_results
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from audit.admin import ListedAdmin

STAND_IN = 987654321  # a primary key no row has, to split a row's change URL around its id
Cell = Callable[[models.Model], tuple[Any, bool]]  # a row -> (what the cell shows, whether "nowrap")


class _NotHandled(Exception):
    """A column Django's own code must write."""


def _field_cell(field, empty, link: bool) -> Cell:
    """A model field's cell, as `items_for_result` writes it after `lookup_field` found the field."""
    name = field.name
    if isinstance(field.remote_field, models.ManyToOneRel):  # before choices, as Django asks
        return lambda row: (empty if (related := getattr(row, name)) is None else related, True)
    if getattr(field, "flatchoices", None):
        try:
            labels = dict(field.flatchoices)
        except TypeError as exc:  # list-like choices: Django's own path
            raise _NotHandled from exc
        return lambda row: (labels.get(_value(row, name), empty), False)
    if isinstance(field, models.BooleanField):
        icons = {value: display_for_field(value, field, empty) for value in (True, False, None)}  # Django's icons
        return lambda row: (icons[getattr(row, name)], False)
    if isinstance(field, models.CharField | models.TextField) and not isinstance(field, models.URLField):
        blank = field.empty_values
        return lambda row: (empty if (value := _value(row, name)) in blank else str(value), False)
    nowrap = isinstance(field, models.DateField | models.TimeField)
    return lambda row: (display_for_field(_value(row, name), field, empty, avoid_link=link), nowrap)


def _value(row, name: str):
    """The field's value, blank text read as "" (as `items_for_result` does)."""
    value = getattr(row, name)
    return "" if isinstance(value, str) and value.strip() == "" else value


def _admin_cell(attr, empty) -> Cell:
    """A column named by a method of the ModelAdmin (the action checkbox, a computed column)."""
    boolean = getattr(attr, "boolean", False)

    def cell(row):
        value = attr(row)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        return display_for_value(value, empty, boolean), isinstance(value, datetime.date | datetime.time)

    return cell


def _column(cl, field_name, empty, link: bool) -> tuple[str, Cell]:
    """The cell's class and how to write it, for one column of the page."""
    opts = cl.lookup_opts
    if isinstance(field_name, str):
        try:
            field = opts.get_field(field_name)
        except FieldDoesNotExist:
            field = None
        if field is not None:
            if field.name != field_name or not field.concrete or field.auto_created or field.many_to_many:
                raise _NotHandled  # a column name, a reverse relation or the primary key: Django's path
            return f"field-{field_name}", _field_cell(field, empty, link)
        attr = getattr(cl.model_admin, field_name, None)
        listed = isinstance(cl.model_admin, ListedAdmin)
        if (
            field_name == "action_checkbox"
            and listed
            and getattr(attr, "__func__", None) is ListedAdmin.action_checkbox
        ):
            checkbox = cl.model_admin.action_checkboxes()  # the same checkbox, its label translated once
            return "action-checkbox", lambda row: (checkbox(row), False)
        if callable(attr) and field_name != "__str__" and not hasattr(cl.model, field_name):
            css = "action-checkbox" if field_name == "action_checkbox" else f"field-{field_name}"
            return css, _admin_cell(attr, getattr(attr, "empty_value_display", empty))
    raise _NotHandled


def _link(cl) -> tuple[str, str]:
    """A row's change URL before and after its id, escaped: one `reverse` and one read of the preserved
    filters a page (they are the same for every row, only the id differs)."""
    url = reverse(
        f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
        args=(STAND_IN,),
        current_app=cl.model_admin.admin_site.name,
    )
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    before, stand_in, after = url.partition(str(STAND_IN))
    if not stand_in or str(STAND_IN) in after:
        raise _NotHandled
    return conditional_escape(before), conditional_escape(after)


def _rows(cl) -> list[ResultList]:
    if cl.formset or cl.is_popup or cl.to_field or not isinstance(cl.lookup_opts.pk, models.AutoField):
        raise _NotHandled
    empty = cl.model_admin.get_empty_value_display()
    links = cl.list_display_links
    columns = []
    first = True
    for field_name in cl.list_display:
        # Django's `link_in_col`: the columns named, or the first one when none is.
        link = links is not None and (field_name in links or (first and not links))
        css, cell = _column(cl, field_name, empty, link)
        tag = ""
        if link:
            tag, first = ("th" if first else "td"), False
        columns.append((css, cell, tag))
    before = after = ""
    if any(tag for _, _, tag in columns):
        try:
            before, after = _link(cl)
        except NoReverseMatch:
            raise _NotHandled from None
    pk = cl.lookup_opts.pk.attname
    written = []
    for row in cl.result_list:
        cells = []
        for css, cell, tag in columns:
            shown, nowrap = cell(row)
            shown = conditional_escape(shown)
            classes = f"{css} nowrap" if nowrap else css
            if tag:
                url = f"{before}{int(getattr(row, pk))}{after}"
                cells.append(f'<{tag} class="{classes}"><a href="{url}">{shown}</a></{tag}>')
            else:
                cells.append(f'<td class="{classes}">{shown}</td>')
        written.append(ResultList(None, [mark_safe("".join(cells))]))  # noqa: S308 - every value escaped above
    return written


def result_list(cl) -> dict:
    """The context of Django's `result_list` tag (admin/change_list_results.html), each row one string."""
    headers = list(result_headers(cl))
    try:
        rows = _rows(cl)
    except _NotHandled:
        rows = list(django_results(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": rows,
    }
