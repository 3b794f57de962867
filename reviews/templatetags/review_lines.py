"""A review queue's lines, written in one call per page.

A line in the template's loop resolved some sixty variables, ran a `{% csrf_token %}` three times and a
`{% url %}` once (its three forms: keep, revoke with a reason, reassign), formatted its dates through
`dateformat` and drew its risk badge through a tag: that loop was most of the queue's Python. Here each line
is written by f-strings, each value from the database escaped (`escape`) where it is written, the month
names and choice labels found once a page, the CSRF field rendered once and the reassign path reversed once;
the HTML is the loop's. (One `format_html` per part of a line cost a fifth of the page again: it escapes
every argument, the markup this module wrote as well.)

What the forms post is unchanged: `reviews.views.decide` and `reassign` read and check it as before.
"""

from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from access.templatetags.badges import RISK_TONES
from access.views.common import path_for_each
from catalog.models import Risk
from reviews.models import ReviewItem

register = template.Library()

DECISION_TONES = {"keep": "success", "revoke": "danger"}


class Days:
    """`{{ when|date:"j M Y" }}` (with `time`, "j M Y H:i") for the rows of a page: the time zone and each
    month's name found once, not a `dateformat` formatter built for each value."""

    def __init__(self) -> None:
        self.zone: tzinfo = timezone.get_current_timezone()
        self.months: dict[int, str] = {}

    def __call__(self, when: datetime | None, time: bool = False) -> str:
        if when is None:
            return ""
        local = timezone.localtime(when, self.zone) if timezone.is_aware(when) else when
        if local.month not in self.months:
            self.months[local.month] = MONTHS_3[local.month].title()  # what dateformat's M writes, translated
        day = f"{local.day} {self.months[local.month]} {local.year}"
        return f"{day} {local:%H:%M}" if time else day


def _labels(choices) -> dict[str, str]:
    """A choice's label by value, escaped once (they are lazy translations)."""
    return {value: escape(label) for value, label in choices}


class _Page:
    """What every line of a page shares: labels, the day formatter, the CSRF field, the forms' targets."""

    def __init__(self, context, second_stage: bool, deciding: bool, decide_url: str, query: str) -> None:
        self.second_stage = second_stage
        self.deciding = deciding
        self.day = Days()
        self.decisions = _labels(ReviewItem.Decision.choices)
        self.sources = _labels(ReviewItem.RecommendationSource.choices)
        self.risks = _labels(Risk.choices)
        self.csrf = CsrfTokenNode().render(context) if deciding else ""
        self.decide_url = escape(decide_url)
        self.query = escape(query)
        self.reassign_path: Callable[[int], str] = path_for_each("reviews:reassign") if deciding else str


def _holder(item: ReviewItem) -> str:
    holder = item.holder
    if holder is None:
        return (
            f'<div class="fw-semibold"><code>{escape(item.aws_principal)}</code></div>'
            '<div class="small text-body-secondary">AWS principal, no portal person</div>'
        )
    leaver = ' · <span class="badge text-bg-danger">Leaver</span>' if holder.is_leaver else ""
    return (
        f'<div class="fw-semibold">{escape(holder)}</div>'
        f'<div class="small text-body-secondary">{escape(holder.department)}{leaver}</div>\n      '
    )


def _held(item: ReviewItem, page: _Page) -> str:
    if item.origin == ReviewItem.Origin.UNMANAGED:
        origin = '<span class="badge text-bg-warning" data-testid="origin">Unmanaged: in AWS with no grant</span>'
        if item.holder_id is not None:
            origin += f" as <code>{escape(item.aws_principal)}</code>"
    else:
        origin = escape(item.origin)
    return f'{page.day(item.held_since)}<div class="small text-body-secondary">{origin}</div>'


def _stage(item: ReviewItem, page: _Page) -> str:
    if item.stage == ReviewItem.Stage.OWNER:
        comment = f": {escape(item.first_comment)}" if item.first_comment else ""
        shown_then = ""
        if item.first_recommendation and item.first_recommendation != ReviewItem.Decision.UNDECIDED:
            label = page.decisions.get(item.first_recommendation) or escape(item.first_recommendation)
            shown_then = f'<div class="small text-body-secondary">Recommendation shown then: {label}</div>'
        cell = (
            '<span class="badge text-bg-info">Stage 2 of 2: owner</span>\n        '
            f'<div class="small">Kept by {escape(item.first_decided_by)} on '
            f"{page.day(item.first_decided_at)}{comment}</div>\n        {shown_then}\n      "
        )
    elif item.second_reviewer_id:
        cell = (
            '<span class="badge text-bg-secondary">Stage 1 of 2</span><div class="small text-body-secondary">'
            f"If kept, then {escape(item.second_reviewer)}</div>\n      "
        )
    else:
        cell = (
            '<span class="badge text-bg-light">One stage</span><div class="small text-body-secondary">'
            f"{escape(item.second_reviewer_reason)}</div>"
        )
    return f'<td data-testid="stage">{cell}</td>'


def _recommendation(item: ReviewItem, page: _Page) -> str:
    recommendation, reason = item.recommendation, item.recommendation_reason
    badge = source = evidence = ""
    if recommendation != ReviewItem.Decision.UNDECIDED:
        tone = "danger" if recommendation == ReviewItem.Decision.REVOKE else "success"
        badge = (
            f'<span class="badge text-bg-{tone}">{page.decisions.get(recommendation) or escape(recommendation)}</span>'
        )
        source_label = page.sources.get(item.recommendation_source) or escape(item.recommendation_source)
        source = f' <span class="text-body-secondary" data-testid="source">(source: {source_label})</span>'
    if item.usage_evidence and item.usage_evidence != reason:
        evidence = f'<div class="small text-body-secondary">Access Advisor: {escape(item.usage_evidence)}</div>'
    if item.activity_evidence:
        evidence += (
            '<div class="small text-body-secondary" data-testid="activity">CloudTrail: '
            f"{escape(item.activity_evidence)}</div>"
        )
    return f'<td>{badge}\n      <div class="small">{escape(reason)}{source}</div>{evidence}</td>'


def _decision(item: ReviewItem, page: _Page) -> str:
    tone = DECISION_TONES.get(item.decision, "secondary")
    label = page.decisions.get(item.decision) or escape(item.decision)
    comment = f'<div class="small">{escape(item.comment)}</div>' if item.comment else ""
    return f'<td><span class="badge text-bg-{tone}" data-testid="decision">{label}</span>{comment}</td>'


def _actions(page: _Page, pk: int, line: str) -> str:
    """The line's three forms: keep it, revoke it with a reason, hand it to another reviewer."""
    csrf, decide, query = page.csrf, page.decide_url, page.query
    hidden = f'<input type="hidden" name="items" value="{pk}"><input type="hidden" name="query" value="{query}">'
    return f"""<td class="line-actions">
      <form method="post" action="{decide}" class="mb-1">{csrf}
        {hidden}
        <button class="btn btn-sm btn-outline-success" type="submit" name="action" value="keep" data-key="a" \
aria-keyshortcuts="a">Keep<span class="visually-hidden"> {line}</span></button></form>
      <form method="post" action="{decide}" class="d-flex gap-1 mb-1">{csrf}
        {hidden}<input type="hidden" name="action" value="revoke">
        <label class="visually-hidden" for="reason-{pk}">Reason to revoke {line}</label>
        <input class="form-control form-control-sm w-auto" id="reason-{pk}" name="comment" size="22" \
placeholder="Reason to revoke" maxlength="2000" required data-key="r" aria-keyshortcuts="r">
        <button class="btn btn-sm btn-outline-danger" type="submit">Revoke<span class="visually-hidden"> {line}\
</span></button></form>
      <details><summary class="small">Reassign</summary>
      <form method="post" action="{escape(page.reassign_path(pk))}" class="d-flex flex-column gap-1 mt-1">{csrf}
        <label class="visually-hidden" for="to-{pk}">Email of the new reviewer</label><input class="form-control \
form-control-sm" id="to-{pk}" name="to" type="email" placeholder="Email" required>
        <label class="visually-hidden" for="why-{pk}">Reason</label><input class="form-control form-control-sm" \
id="why-{pk}" name="reason" placeholder="Reason" required>
        <button class="btn btn-sm btn-outline-secondary" type="submit">Reassign</button></form></details></td>"""


def _line(item: ReviewItem, page: _Page) -> str:
    entitlement, holder = item.entitlement, item.holder
    pk = int(item.pk)  # written as it is: a number needs no escaping
    # The name every accessible label of the line repeats: "holder: entitlement".
    line = escape(f"{item.holder_label}: {entitlement.name}")
    holder_key = escape(f"{(holder.email if holder is not None else '') or item.aws_principal}-{entitlement.aws_name}")
    if page.deciding:
        select = (
            f'<td><input class="form-check-input" type="checkbox" name="items" value="{pk}" form="bulk" '
            f'aria-keyshortcuts="x" aria-label="Select {line}"></td>'
        )
        last = _actions(page, pk, line)
    else:
        select = ""
        last = (
            f"<td>{escape(item.reviewer)}"
            f'<div class="small text-body-secondary">{escape(item.reviewer_reason)}</div></td>'
        )
    risk = page.risks.get(entitlement.risk) or escape(entitlement.risk)
    risk_tone = RISK_TONES.get(entitlement.risk, "text-bg-secondary")  # `risk_badge`'s tones
    return f"""
  <tr class="review-line" tabindex="-1" data-testid="item-{holder_key}">
    {select}
    <td>{_holder(item)}</td>
    <td>{escape(entitlement.name)}<div class="small text-body-secondary">{escape(entitlement.account.name)} · \
<span class="badge {risk_tone}">{risk} risk</span></div></td>
    <td>{_held(item, page)}</td>
    {_stage(item, page) if page.second_stage else ""}
    {_recommendation(item, page)}
    {_decision(item, page)}
    {last}
  </tr>
  """


@register.simple_tag(takes_context=True)
def review_lines(
    context, items: Iterable[ReviewItem], campaign, deciding: bool, decide_url: str, query: str
) -> SafeString:
    """The `<tr>` of each line of a queue's page (`reviews.selectors.queue`), with its forms when `deciding`."""
    page = _Page(context, bool(campaign.second_stage), deciding, decide_url, query)
    rows = "".join([_line(item, page) for item in items])
    # Safe: this module's markup, with every value from the database escaped where it is written above.
    return mark_safe(rows or '<tr><td colspan="9" class="text-body-secondary">Nothing matches.</td></tr>')  # noqa: S308
