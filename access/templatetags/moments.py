"""A moment on a page: how long ago in words, with the exact date and time beside it.

`{% moment when %}` writes what templates/_when.html wrote, in one call: a timeline of 240 events rendered
an included template per event (a context copy, two date filters and a naturaltime each), which was most
of My requests' time."""

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def moment(when) -> str:
    if when is None:
        return ""
    local = timezone.template_localtime(when)
    return format_html(
        '<time datetime="{}">{}</time> <span class="text-body-secondary text-nowrap" data-testid="absolute-time">'
        "({})</span>",
        local.isoformat(),  # what the date filter's "c" writes
        naturaltime(local),
        date_format(local, "j M Y H:i T"),
    )
