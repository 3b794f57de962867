"""A moment on a page: how long ago in words, with the exact date and time beside it; and a request's
timeline, one such moment per line.

`{% moment when %}` writes what templates/_when.html wrote, in one call: a timeline of 240 events rendered
an included template per event (a context copy, two date filters and a naturaltime each), which was most
of My requests' time. `{% timeline_lines entries %}` writes a timeline's lines in one call too, rather than
a template loop resolving four variables per line."""

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def moment(when) -> str:
    if when is None:
        return ""
    # django-stubs leave out template_localtime, a public function of django.utils.timezone.
    local = timezone.template_localtime(when)  # type: ignore[attr-defined]
    return format_html(
        '<time datetime="{}">{}</time> <span class="text-body-secondary text-nowrap" data-testid="absolute-time">'
        "({})</span>",
        local.isoformat(),  # what the date filter's "c" writes
        naturaltime(local),
        date_format(local, "j M Y H:i T"),
    )


@register.simple_tag
def timeline_lines(entries) -> str:
    """The lines of a timeline (`access.timeline.TimelineEntry`), each with its tone, moment, text and detail."""
    return format_html_join(
        "\n",
        '<li class="mb-1"><span class="badge text-bg-{} me-1">&nbsp;</span>{} — {}{}</li>',
        (
            (
                entry.tone,
                moment(entry.when),
                entry.text,
                format_html('<span class="text-body-secondary">: {}</span>', entry.detail) if entry.detail else "",
            )
            for entry in entries
        ),
    )
