"""A moment on a page: how long ago in words, with the exact date and time beside it; and a request's
timeline, one such moment per line.

`{% moment when %}` writes what templates/_when.html wrote, in one call: a timeline of 240 events rendered
an included template per event (a context copy, two date filters and a naturaltime each), which was most
of My requests' time. `{% timeline_lines entries %}` writes a timeline's lines in one call too, rather than
a template loop resolving four variables per line, and finds the time zone once for all of them.

The exact time is "j M Y H:i T" of Django's date format, written directly: `dateformat.format` parses its
format string and builds a formatter for each value, which cost more than the rest of a moment together.
The lines are written with `escape` on what people wrote and one `mark_safe` on what was built, not `format_html`:
a `format_html` per moment and per line (escaping and wrapping every argument, safe or not) cost more than
the naturaltime itself, 200 times a page."""

from datetime import datetime, tzinfo

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


def moment_in(when: datetime, zone: tzinfo, months: dict[int, str]) -> str:
    """The moment's markup; the caller marks the whole it is part of safe. Nothing in it comes from a person:
    the ISO time is digits and signs, the words are Django's and the zone's names, so only what people
    write (a timeline's text and detail) is escaped: an `escape` is some 13 calls, 200 moments a page."""
    local = when.astimezone(zone)  # what timezone.localtime does with an aware value
    if local.month not in months:
        months[local.month] = MONTHS_3[local.month].title()  # what dateformat's M writes, translated
    exact = f"{local.day} {months[local.month]} {local.year} {local:%H:%M} {local.tzname()}"  # "j M Y H:i T"
    return (
        f'<time datetime="{local.isoformat()}">{naturaltime(local)}</time> '  # "c", as the date filter
        f'<span class="text-body-secondary text-nowrap" data-testid="absolute-time">({exact})</span>'
    )


@register.simple_tag
def moment(when) -> str:
    if when is None:
        return ""
    return mark_safe(moment_in(when, timezone.get_current_timezone(), {}))  # noqa: S308  (nothing in it a person wrote)


@register.simple_tag
def timeline_lines(entries) -> str:
    """The lines of a timeline (`access.timeline.TimelineEntry`), each with its tone, moment, text and detail."""
    # Found once for a timeline's lines: the time zone, and each month's name in the person's language.
    zone = timezone.get_current_timezone()
    months: dict[int, str] = {}
    lines = []
    for entry in entries:
        detail = f'<span class="text-body-secondary">: {escape(entry.detail)}</span>' if entry.detail else ""
        lines.append(
            f'<li class="mb-1"><span class="badge text-bg-{entry.tone} me-1">&nbsp;</span>'  # a tone of our own
            f"{moment_in(entry.when, zone, months)} — {escape(entry.text)}{detail}</li>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308  (each value escaped as it was written)
