"""A moment on a page: how long ago in words, with the exact date and time beside it; and a request's
timeline, one such moment per line.

`{% moment when %}` writes what templates/_when.html wrote, in one call: a timeline of 240 events rendered
an included template per event (a context copy, two date filters and a naturaltime each), which was most
of My requests' time. `{% timeline_lines entries %}` writes a timeline's lines in one call too, rather than
a template loop resolving four variables per line, and finds what its moments share once (`Moments`).

The exact time is "j M Y H:i T" of Django's date format, written directly: `dateformat.format` parses its
format string and builds a formatter for each value, which cost more than the rest of a moment together.
The lines are written with `escape` on what people wrote and one `mark_safe` on what was built, not `format_html`:
a `format_html` per moment and per line (escaping and wrapping every argument, safe or not) cost more than
the naturaltime itself, 200 times a page."""

from datetime import UTC, datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext, npgettext

register = template.Library()

# naturaltime's words for the units of a moment a day or more ago (django.contrib.humanize's own message ids,
# in its "naturaltime-past" context), so a translation of Django's says exactly what naturaltime says.
PAST_UNITS = {
    "year": ("%(num)d year", "%(num)d years"),
    "month": ("%(num)d month", "%(num)d months"),
    "week": ("%(num)d week", "%(num)d weeks"),
    "day": ("%(num)d day", "%(num)d days"),
    "hour": ("%(num)d hour", "%(num)d hours"),
    "minute": ("%(num)d minute", "%(num)d minutes"),
}


class _PastUnit:
    """One unit's words for `timesince`, translated once per count: naturaltime's lazy ones are translated
    again for every unit of every moment, some 250 calls a moment, which was half of My requests' Python."""

    __slots__ = ("plural", "said", "singular")

    def __init__(self, singular: str, plural: str):
        self.singular, self.plural = singular, plural
        self.said: dict[int, str] = {}

    def __mod__(self, params: dict[str, int]) -> str:
        num = params["num"]
        if num not in self.said:
            self.said[num] = npgettext("naturaltime-past", self.singular, self.plural, num) % params
        return self.said[num]


class Moments:
    """Writes the moments of one page in the person's time zone and language, finding what they share once:
    the zone, the clock, each month's name, and the words of "... ago"."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.now = datetime.now(UTC)
        self.months: dict[int, str] = {}
        self.units = {name: _PastUnit(*ids) for name, ids in PAST_UNITS.items()}
        self.ago = gettext("%(delta)s ago")

    def in_words(self, local: datetime) -> str:
        """What naturaltime says of `local`. Only a day or more in the past, by far the most frequent on a
        page of timelines, is written here, through Django's own `timesince`; the rest is naturaltime's."""
        if local < self.now and (self.now - local).days:
            return self.ago % {"delta": timesince(local, self.now, time_strings=self.units)}  # type: ignore[arg-type]
        return naturaltime(local)

    def write(self, when: datetime) -> str:
        """The moment's markup; the caller marks the whole it is part of safe. Nothing in it comes from a
        person: the ISO time is digits and signs, the words are Django's and the zone's names, so only what
        people write (a timeline's text and detail) is escaped: an `escape` is some 13 calls, 200 moments a page."""
        local = when.astimezone(self.zone)  # what timezone.localtime does with an aware value
        if local.month not in self.months:
            self.months[local.month] = MONTHS_3[local.month].title()  # what dateformat's M writes, translated
        month = self.months[local.month]
        exact = f"{local.day} {month} {local.year} {local:%H:%M} {local.tzname()}"  # "j M Y H:i T"
        return (
            f'<time datetime="{local.isoformat()}">{self.in_words(local)}</time> '  # "c", as the date filter
            f'<span class="text-body-secondary text-nowrap" data-testid="absolute-time">({exact})</span>'
        )


@register.simple_tag
def moment(when) -> str:
    if when is None:
        return ""
    return mark_safe(Moments().write(when))  # noqa: S308  (nothing in it a person wrote)


@register.simple_tag(takes_context=True)
def timeline_lines(context, entries) -> str:
    """The lines of a timeline (`access.timeline.TimelineEntry`), each with its tone, moment, text and detail.
    The timelines of one page share their `Moments` (kept in the template's render context)."""
    if Moments not in context.render_context:
        context.render_context[Moments] = Moments()
    moments = context.render_context[Moments]
    lines = []
    for entry in entries:
        detail = f'<span class="text-body-secondary">: {escape(entry.detail)}</span>' if entry.detail else ""
        lines.append(
            f'<li class="mb-1"><span class="badge text-bg-{entry.tone} me-1">&nbsp;</span>'  # a tone of our own
            f"{moments.write(entry.when)} — {escape(entry.text)}{detail}</li>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308  (each value escaped as it was written)
