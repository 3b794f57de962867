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
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from access.models import AccessRequest
from access.templatetags.badges import risk_badge
from access.templatetags.moments import moment_in
from catalog.models import Risk

register = template.Library()


class _Page:
    """What the rows of one page share: the CSRF field, the time zone, and each text escaped once."""

    def __init__(self, csrf_field: str, step_up_minutes: int):
        self.csrf_field = csrf_field
        self.zone = timezone.get_current_timezone()
        self.months: dict[int, str] = {}
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

    def badge(self, entitlement) -> str:
        if entitlement.risk not in self.badges:
            self.badges[entitlement.risk] = risk_badge(entitlement)
        return self.badges[entitlement.risk]


def _person(page: _Page, access_request) -> str:
    beneficiary = access_request.beneficiary
    facts = page.text(beneficiary.title)
    if beneficiary.department:
        facts += f" · {page.text(beneficiary.department)}"
    if beneficiary.manager:
        facts += f" · reports to {page.text(beneficiary.manager)}"
    asked_by = ""
    if access_request.requester_id != access_request.beneficiary_id:
        asked_by = f'<div class="small">asked by {page.text(access_request.requester)}</div>'
    holdings = access_request.holdings
    return (
        f'<td><div class="fw-semibold">{page.text(beneficiary)}</div>\n'
        f'        <div class="small text-body-secondary">{facts}</div>\n'
        f"        {asked_by}\n"
        f'        <details class="small"><summary>Holds {len(holdings)} entitlement{"" if len(holdings) == 1 else "s"}'
        f"</summary>\n"
        f'          <ul class="mb-0 ps-3">{page.holding_items(holdings)}</ul></details></td>'
    )


def _activity(page: _Page, access_request) -> str:
    """For an extension, what was done with the access so far (CloudTrail), or why it cannot be shown yet."""
    if access_request.kind != AccessRequest.Kind.EXTENSION:
        return ""
    activity = access_request.activity_so_far
    if not access_request.entitlement.account.cloudtrail_bucket:
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


def _what(page: _Page, access_request) -> str:
    entitlement = access_request.entitlement
    stages = []
    for stage in access_request.pending_stages:
        must = f" ({stage.required} must approve)" if stage.required > 1 else ""
        stages.append(
            f'<div class="small text-body-secondary">Stage {stage.step} of {access_request.stage_count}: '
            f"{page.text(stage.label.lower())}{must}</div>\n          "
            + "".join(
                f'<div class="small text-warning-emphasis">{page.text(reason)}</div>'
                for reason in stage.unusual_reasons
            )
        )
    findings = "".join(
        '<div class="alert alert-warning small py-1 px-2 mt-2 mb-0" role="note"><i class="bi bi-exclamation-triangle"'
        f' aria-hidden="true"></i> {escape(finding)}</div>'
        for finding in access_request.sod_findings
    )
    extend = "Extend " if access_request.kind == AccessRequest.Kind.EXTENSION else ""
    return (
        f"<td><div>{extend}{page.text(entitlement.name)}</div>"
        f'<div class="small text-body-secondary">{page.text(entitlement.account.name)} · '
        f"{access_request.duration_words}</div>\n"
        f"        {page.badge(entitlement)}\n"
        f"        {_activity(page, access_request)}\n"
        f"        {''.join(stages)}\n"
        f"        {findings}</td>"
    )


def _decision(page: _Page, access_request) -> str:
    pk = access_request.pk
    # A stage deciding a separation-of-duties exception asks for its mitigating control and end date.
    exception_fields = "".join(
        f'<label class="form-label small mb-0" for="control-{pk}">Mitigating control (required to approve)</label>\n'
        f'          <textarea class="form-control form-control-sm" id="control-{pk}" name="mitigating_control" rows="2"'
        ' maxlength="2000"></textarea>\n'
        f'          <label class="form-label small mb-0" for="ends-{pk}">Exception ends on</label>\n'
        f'          <input class="form-control form-control-sm" type="date" id="ends-{pk}" name="exception_ends">\n'
        "          "
        for _ in access_request.exception_stages
    )
    # High-risk requests and SoD exceptions need a recent second factor (accounts/step_up_proof.py).
    if access_request.entitlement.risk == Risk.HIGH:
        step_up = page.step_up_note
    else:
        step_up = page.step_up_note * len(access_request.exception_stages)
    approve, deny = access_request.approve_path, access_request.deny_path
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


def _row(page: _Page, access_request) -> str:
    pk = access_request.pk
    who, what = page.text(access_request.beneficiary), page.text(access_request.entitlement.name)
    return f"""    <tr data-testid="request-{pk}" id="inbox-row-{pk}" tabindex="-1" class="inbox-row">
      <td><input class="form-check-input" type="checkbox" name="request_ids" value="{pk}" form="bulk" \
aria-label="Select the request of {who} for {what}"></td>
      {_person(page, access_request)}
      {_what(page, access_request)}
      <td class="justification">{escape(access_request.justification)}</td>
      <td>{moment_in(access_request.created_at, page.zone, page.months)}</td>
      {_decision(page, access_request)}
    </tr>
"""


@register.simple_tag(takes_context=True)
def inbox_rows(context, access_requests, step_up_minutes: int) -> str:
    """The table rows of a page of the inbox, each request read by access.views.approvals (its holdings,
    stages, activity and decision paths)."""
    page = _Page(CsrfTokenNode().render(context), step_up_minutes)
    # Every user value above went through `escape`; the rest is this module's markup.
    return mark_safe("".join(_row(page, access_request) for access_request in access_requests))  # noqa: S308
