"""A campaign's progress bars and its page's two lists of reviewers, written by tags.

Each reviewer's row included a progress bar's template (a context pushed and a template rendered per row)
and each follow-up resolved some twenty variables and formatted two dates through `dateformat`: with the
hundred reviewers a list shows at a company's size, that was most of the campaign page's rendering. The
HTML is the templates'; every value from the database is escaped (`escape`) where it is written.
"""

from collections.abc import Iterable

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reviews.selectors import FollowUp
from reviews.templatetags.review_lines import Days

register = template.Library()


def _bar(done: int, total: int) -> str:
    """A progress bar and its count in words, the counts as plain digits."""
    done, total = int(done), int(total)  # numbers: written as they are, nothing to escape
    return f"""<div class="progress" role="progressbar" aria-label="Decided" aria-valuenow="{done}" \
aria-valuemin="0" aria-valuemax="{total}">
  <div class="progress-bar" data-progress="{done}/{total}"></div>
</div>
<div class="small text-body-secondary mt-1" data-testid="progress">{done} of {total} decided</div>
"""


@register.simple_tag
def progress_bar(done: int, total: int) -> SafeString:
    """A progress bar of `done` lines out of `total`, with the count in words."""
    return mark_safe(_bar(done, total))  # noqa: S308 - numbers in this module's markup


STAGES = {
    1: ' <span class="small text-body-secondary">· first stage</span>',
    2: ' <span class="small text-body-secondary">· second stage (owner)</span>',
}


@register.simple_tag
def reviewer_rows(rows: Iterable[dict], second_stage: bool) -> SafeString:
    """The `<li>` of each reviewer and stage (`reviews.selectors.progress_by_reviewer`) with its progress."""
    return mark_safe(  # noqa: S308 - the name is escaped; the rest is this module's markup
        "".join(
            f'<li class="mb-2"><div>{escape(row["reviewer__full_name"])}'
            f"{STAGES[2 if row['stage'] == 2 else 1] if second_stage else ''}</div>"
            f"{_bar(row['decided'], row['total'])}</li>\n  "
            for row in rows
        )
    )


def _follow_up(row: FollowUp, days: Days) -> str:
    name, email = escape(row.reviewer), escape(row.reviewer.email)
    undecided, total = int(row.undecided), int(row.total)
    left = (
        f"{undecided} of {total} undecided" if undecided else f'<span class="text-success">All {total} decided</span>'
    )
    if row.reminded_at:
        reminded = f'<i class="bi bi-bell" aria-hidden="true"></i> reminded {days(row.reminded_at, time=True)}'
    else:
        reminded = '<span class="text-body-secondary">not reminded</span>'
    if row.escalated_at:
        told = (
            f"to {', '.join(escape(person) for person in row.escalated_to)} "
            if row.escalated_to
            else "(nobody else could be told) "
        )
        escalated = (
            '<i class="bi bi-arrow-up-circle text-warning" aria-hidden="true"></i> '
            f"escalated {told}{days(row.escalated_at, time=True)}"
        )
    else:
        escalated = '<span class="text-body-secondary">not escalated</span>'
    return f"""
    <li class="list-group-item d-flex flex-wrap justify-content-between column-gap-3 row-gap-1" \
data-testid="follow-up-{email}">
      <div><span class="fw-semibold">{name}</span> <span class="small text-body-secondary">{email}</span>
        <div data-testid="undecided">{left}</div></div>
      <div class="small text-md-end">
        <div data-testid="reminded">{reminded}</div>
        <div data-testid="escalated">{escalated}</div>
      </div>
    </li>
    """


@register.simple_tag
def follow_up_rows(rows: Iterable[FollowUp]) -> SafeString:
    """The `<li>` of each reviewer's follow-ups (`reviews.selectors.follow_ups_shown`)."""
    days = Days()
    return mark_safe("".join(_follow_up(row, days) for row in rows))  # noqa: S308 - values escaped above
