"""The inbox's rows, written in one call per page (access.views.approvals reads what each row shows).

Each row had a decision form with its own `{% csrf_token %}`, a holdings list, stages, a risk badge and a
moment, some forty variables resolved through the template's loop: 19 rows were most of the page's time. Here
a row is one f-string. Every user value in it (names, titles, justification, reasons, findings) goes through
`escape`, once per distinct text on the page: the same approver's name, entitlements and accounts recur on
every row. The HTML is the loop's.
"""

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import escape
from django.utils.safestring import mark_safe

from access.models import AccessRequest, duration_words
from access.templatetags.badges import risk_badge_of
from access.templatetags.moments import Moments
from catalog.models import Risk

register = template.Library()


class _Page:
    """What the rows of one page share: the CSRF field, the moments' time zone and words, and each text escaped once."""

    def __init__(self, csrf_field: str, step_up_minutes: int):
        self.csrf_field = csrf_field
        self.moments = Moments()
        self.texts: dict[str, str] = {}
        self.holdings: dict[tuple[str, str], str] = {}
        self.badges: dict[str, str] = {}
        minutes = f"{step_up_minutes} minute{'' if step_up_minutes == 1 else 's'}"
        self.step_up_note = (
            '<div class="small text-body-secondary"><i class="bi bi-shield-lock" aria-hidden="true"></i> Approving'
            f" asks for a code from your authenticator app if you last entered one over {minutes} ago.</div>"
        )

    def text(self, value) -> str:
        value = str(value)
        if value not in self.texts:
            self.texts[value] = escape(value)
        return self.texts[value]

    def holding_items(self, holdings) -> str:
        """The `<li>` of each holding (`access.selectors.holdings_of`: entitlement and account names)."""
        if not holdings:
            return "<li>nothing yet</li>"
        items = []
        for holding in holdings:
            key = (holding.entitlement_name, holding.account_name)
            if key not in self.holdings:
                self.holdings[key] = (
                    f'<li>{escape(key[0])} <span class="text-body-secondary">({escape(key[1])})</span></li>'
                )
            items.append(self.holdings[key])
        return "".join(items)

    def badge(self, risk: str) -> str:
        if risk not in self.badges:
            self.badges[risk] = risk_badge_of(risk)
        return self.badges[risk]


def _person(page: _Page, row) -> str:
    request = row.request
    facts = page.text(request.beneficiary__title)
    if request.beneficiary__department:
        facts += f" · {page.text(request.beneficiary__department)}"
    if row.manager:
        facts += f" · reports to {page.text(row.manager)}"
    asked_by = ""
    if request.requester_id != request.beneficiary_id:
        asked_by = f'<div class="small">asked by {page.text(row.requester)}</div>'
    holdings = row.holdings
    return (
        f'<td><div class="fw-semibold">{page.text(row.beneficiary)}</div>\n'
        f'        <div class="small text-body-secondary">{facts}</div>\n'
        f"        {asked_by}\n"
        f'        <details class="small"><summary>Holds {len(holdings)} entitlement{"" if len(holdings) == 1 else "s"}'
        f"</summary>\n"
        f'          <ul class="mb-0 ps-3">{page.holding_items(holdings)}</ul></details></td>'
    )


def _activity(row) -> str:
    """For an extension, what was done with the access so far (CloudTrail), or why it cannot be shown yet."""
    if row.request.kind != AccessRequest.Kind.EXTENSION:
        return ""
    activity = row.activity_so_far
    if not row.request.entitlement__account__cloudtrail_bucket:
        said = "CloudTrail is not configured for this account: what was done with this access cannot be shown."
    elif activity:
        said = f"Activity so far: {escape(activity.words())}"
        if activity.configured:
            said += f' <span class="text-body-secondary">(read {escape(naturaltime(activity.computed_at))})</span>'
    else:
        said = "Activity so far: being read from CloudTrail; reload in a minute."
    return (
        '<div class="small mt-1" data-testid="activity-so-far"><i class="bi bi-activity" aria-hidden="true"></i> '
        f"{said}</div>"
    )


def _what(page: _Page, row) -> str:
    request = row.request
    stages = []
    for stage in row.pending_stages:
        must = f" ({stage.required} must approve)" if stage.required > 1 else ""
        stages.append(
            f'<div class="small text-body-secondary">Stage {stage.step} of {row.stage_count}: '
            f"{page.text(stage.label.lower())}{must}</div>\n          "
            + "".join(
                f'<div class="small text-warning-emphasis">{page.text(reason)}</div>'
                for reason in stage.unusual_reasons
            )
        )
    findings = "".join(
        '<div class="alert alert-warning small py-1 px-2 mt-2 mb-0" role="note"><i class="bi bi-exclamation-triangle"'
        f' aria-hidden="true"></i> {escape(finding)}</div>'
        for finding in request.sod_findings
    )
    extend = "Extend " if request.kind == AccessRequest.Kind.EXTENSION else ""
    return (
        f"<td><div>{extend}{page.text(request.entitlement__name)}</div>"
        f'<div class="small text-body-secondary">{page.text(request.entitlement__account__name)} · '
        f"{duration_words(request.duration_days, request.duration_hours)}</div>\n"
        f"        {page.badge(request.entitlement__risk)}\n"
        f"        {_activity(row)}\n"
        f"        {''.join(stages)}\n"
        f"        {findings}</td>"
    )


def _decision(page: _Page, row) -> str:
    pk = row.request.pk
    # A stage deciding a separation-of-duties exception asks for its mitigating control and end date.
    exception_fields = "".join(
        f'<label class="form-label small mb-0" for="control-{pk}">Mitigating control (required to approve)</label>\n'
        f'          <textarea class="form-control form-control-sm" id="control-{pk}" name="mitigating_control" rows="2"'
        ' maxlength="2000"></textarea>\n'
        f'          <label class="form-label small mb-0" for="ends-{pk}">Exception ends on</label>\n'
        f'          <input class="form-control form-control-sm" type="date" id="ends-{pk}" name="exception_ends">\n'
        "          "
        for _ in row.exception_stages
    )
    # High-risk requests and SoD exceptions need a recent second factor (accounts/step_up_proof.py).
    if row.request.entitlement__risk == Risk.HIGH:
        step_up = page.step_up_note
    else:
        step_up = page.step_up_note * len(row.exception_stages)
    approve, deny = row.approve_path, row.deny_path
    return f"""<td class="decision-cell" id="decision-{pk}">
        <form method="post" class="d-flex flex-column gap-2" hx-target="#decision-{pk}" hx-swap="innerHTML">
          {page.csrf_field}
          <label class="visually-hidden" for="comment-{pk}">Comment on request {pk}</label>
          <input class="form-control form-control-sm" id="comment-{pk}" name="comment" \
placeholder="Comment (optional)" maxlength="2000">
          {exception_fields}
          <div class="d-flex gap-2">
            <button class="btn btn-sm btn-success" type="submit" formaction="{approve}" hx-post="{approve}" \
data-key="a">Approve</button>
            <button class="btn btn-sm btn-outline-danger" type="submit" formaction="{deny}" hx-post="{deny}" \
data-key="d">Deny</button>
          </div>
          {step_up}
        </form>
      </td>"""


def _row(page: _Page, row) -> str:
    request = row.request
    pk = request.pk
    who, what = page.text(row.beneficiary), page.text(request.entitlement__name)
    return f"""    <tr data-testid="request-{pk}" id="inbox-row-{pk}" tabindex="-1" class="inbox-row">
      <td><input class="form-check-input" type="checkbox" name="request_ids" value="{pk}" form="bulk" \
aria-label="Select the request of {who} for {what}"></td>
      {_person(page, row)}
      {_what(page, row)}
      <td class="justification">{escape(request.justification)}</td>
      <td>{page.moments.write(request.created_at)}</td>
      {_decision(page, row)}
    </tr>
"""


@register.simple_tag(takes_context=True)
def inbox_rows(context, rows, step_up_minutes: int) -> str:
    """The table rows of a page of the inbox: `access.views.approvals.InboxRow`s, each a request with its
    people's names, holdings, stages, activity and decision paths."""
    page = _Page(CsrfTokenNode().render(context), step_up_minutes)
    # Every user value above went through `escape`; the rest is this module's markup.
    return mark_safe("".join(_row(page, row) for row in rows))  # noqa: S308
