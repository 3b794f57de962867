"""A moment on a page: how long ago in words, with the exact date and time beside it; and a request's
timeline, one such moment per line.

`{% moment when %}` writes what templates/_when.html wrote, in one call: a timeline of 240 events rendered
an included template per event (a context copy, two date filters and a naturaltime each), which was most
of My requests' time. `{% timeline_lines entries %}` writes a timeline's lines in one call too, rather than
a template loop resolving four variables per line, and finds the time zone once for all of them.

The exact time is "j M Y H:i T" of Django's date format, written directly: `dateformat.format` parses its
format string and builds a formatter for each value, which cost more than the rest of a moment together."""

from datetime import datetime, tzinfo

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html, format_html_join

register = template.Library()


def moment_in(when: datetime, zone: tzinfo, months: dict[int, str]) -> str:
    """A moment in `zone`; `months` keeps the names of months written so far, for the next moments of a page."""
    local = timezone.localtime(when, zone)
    if local.month not in months:
        months[local.month] = MONTHS_3[local.month].title()  # what dateformat's M writes, translated
    exact = f"{local.day} {months[local.month]} {local.year} {local:%H:%M} {local.tzname()}"  # "j M Y H:i T"
    return format_html(
        '<time datetime="{}">{}</time> <span class="text-body-secondary text-nowrap" data-testid="absolute-time">'
        "({})</span>",
        local.isoformat(),  # what the date filter's "c" writes
        naturaltime(local),
        exact,
    )


@register.simple_tag
def moment(when) -> str:
    if when is None:
        return ""
    return moment_in(when, timezone.get_current_timezone(), {})


@register.simple_tag
def timeline_lines(entries) -> str:
    """The lines of a timeline (`access.timeline.TimelineEntry`), each with its tone, moment, text and detail."""
    # Found once for a timeline's lines: the time zone, and each month's name in the person's language.
    zone = timezone.get_current_timezone()
    months: dict[int, str] = {}
    return format_html_join(
        "\n",
        '<li class="mb-1"><span class="badge text-bg-{} me-1">&nbsp;</span>{} — {}{}</li>',
        (
            (
                entry.tone,
                moment_in(entry.when, zone, months),
                entry.text,
                format_html('<span class="text-body-secondary">: {}</span>', entry.detail) if entry.detail else "",
            )
            for entry in entries
        ),
    )
