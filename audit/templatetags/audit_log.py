"""The audit log's rows, written in one call per page.

A row rendered by the template's loop resolved some twenty variables, formatted its time three times
(the `date` filter's "c" twice and the shown date) and reversed its event's URL through a template tag:
that loop was most of the log's rendering. Here each row is one `format_html`, its time formatted twice
(as `moments.moment` does for the portal's other pages), and the HTML is the loop's, character for character.
"""

from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join

register = template.Library()

_ROW = """  <tr data-testid="event-{seq}">
    <td><a href="{url}">{seq}</a></td>
    <td><time datetime="{iso}" title="{iso}">{shown}</time></td>
    <td data-testid="subject-{seq}"><div>{subject}</div>
      <a class="small" href="?object_type={type_query}&amp;object_id={id_query}" title="All events of this object">\
<code>{object_type}:{object_id}</code></a></td>
    <td><code>{action}</code></td>
    <td>{actor}<div class="small text-body-secondary">{actor_label}</div></td>
    <td class="small">{ip}</td>
  </tr>"""


def _subject(subject) -> str:
    if subject.url:
        return format_html('<a href="{}">{}</a>', subject.url, subject.text)
    return subject.text


def _row(event) -> str:
    # django-stubs leave out template_localtime, a public function of django.utils.timezone.
    local = timezone.template_localtime(event.created_at)  # type: ignore[attr-defined]
    return format_html(
        _ROW,
        seq=event.seq,
        url=reverse("audit:event", args=[event.pk]),
        iso=local.isoformat(),  # what the date filter's "c" writes
        shown=date_format(local, "j M Y H:i:s"),
        subject=_subject(event.subject),
        type_query=quote(event.object_type, safe="/"),  # what the urlencode filter writes
        id_query=quote(event.object_id, safe="/"),
        object_type=event.object_type,
        object_id=event.object_id,
        action=event.action,
        actor=format_html("<div>{}</div>", event.actor) if event.actor_id else "",
        actor_label=event.actor_label,
        ip=event.ip or "\N{EN DASH}",
    )


@register.simple_tag
def event_rows(events) -> str:
    """The table rows of a page of events, each with `subject` set (audit.subjects.describe_events)."""
    return format_html_join("\n", "{}", ((_row(event),) for event in events))
