"""The audit log's rows, written in one call per page.

A row rendered by the template's loop resolved some twenty variables, formatted its time three times
(the `date` filter's "c" twice and the shown date) and reversed its event's URL through a template tag:
that loop was most of the log's rendering. Here each row is one f-string, every value escaped where it is
written (one `format_html` a row escaped its markup again and cost some 500 calls a row), its time zone
and month names found once a page rather than a `dateformat` formatter built per row (as
`access.templatetags.moments` does), the event's path from one `reverse` a page; the HTML is the loop's.
"""

from datetime import tzinfo
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


class _Page:
    """What every row of a page shares: the time zone, the months' names, the events' path around an id."""

    def __init__(self) -> None:
        self.zone: tzinfo = timezone.get_current_timezone()
        self.months: dict[int, str] = {}
        stand_in = "987654321"
        self.before, self.after = reverse("audit:event", args=[int(stand_in)]).split(stand_in)

    def shown(self, local) -> str:
        """The date filter's "j M Y H:i:s"."""
        if local.month not in self.months:
            self.months[local.month] = MONTHS_3[local.month].title()  # what dateformat's M writes, translated
        return f"{local.day} {self.months[local.month]} {local.year} {local:%H:%M:%S}"


def _subject(subject) -> str:
    if subject.url:
        return f'<a href="{conditional_escape(subject.url)}">{conditional_escape(subject.text)}</a>'
    return conditional_escape(subject.text)


def _row(event, page: _Page) -> str:
    seq = int(event.seq)  # a number: nothing to escape
    local = timezone.localtime(event.created_at, page.zone)
    iso = local.isoformat()  # what the date filter's "c" writes
    object_type, object_id = escape(event.object_type), escape(event.object_id)
    actor = f"<div>{escape(event.actor)}</div>" if event.actor_id else ""
    # What the urlencode filter writes.
    type_query, id_query = escape(quote(event.object_type, safe="/")), escape(quote(event.object_id, safe="/"))
    url = escape(f"{page.before}{int(event.pk)}{page.after}")
    ip = escape(event.ip) if event.ip else "\N{EN DASH}"
    return f"""  <tr data-testid="event-{seq}">
    <td><a href="{url}">{seq}</a></td>
    <td><time datetime="{iso}" title="{iso}">{page.shown(local)}</time></td>
    <td data-testid="subject-{seq}"><div>{_subject(event.subject)}</div>
      <a class="small" href="?object_type={type_query}&amp;object_id={id_query}" title="All events of this object">\
<code>{object_type}:{object_id}</code></a></td>
    <td><code>{escape(event.action)}</code></td>
    <td>{actor}<div class="small text-body-secondary">{escape(event.actor_label)}</div></td>
    <td class="small">{ip}</td>
  </tr>"""


@register.simple_tag
def event_rows(events) -> SafeString:
    """The table rows of a page of events, each with `subject` set (audit.subjects.describe_events)."""
    page = _Page()
    rows = "\n".join([_row(event, page) for event in events])
    return mark_safe(rows)  # noqa: S308 - this module's markup, every value escaped where it is written
