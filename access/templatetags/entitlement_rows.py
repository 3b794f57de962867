"""Governance → Entitlements' rows written by one tag rather than a template loop: 25 rows resolved some
25 variables and a `{% url %}` each. Every name people or AWS gave (entitlements, accounts, policies,
owners, what could not be read of a policy) is escaped; the rest is ours."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from access.templatetags.badges import risk_badge
from access.views.common import path_for_each

register = template.Library()
NOT_REQUESTABLE = '<span class="text-body-secondary">No</span>'


def _owners(names: list[str]) -> str:
    if not names:
        return '<span class="text-danger">No owner</span>'
    return ", ".join(escape(name) for name in names)


@register.simple_tag
def entitlement_rows(rows, owners: dict[int, list[str]]) -> str:
    """The `<tr>` of each entitlement of `access.views.entitlements` (`access.selectors.with_holders`), with
    its owners' names (`catalog.selectors.owner_names`)."""
    edit_path = path_for_each("access:entitlement_edit")
    lines = []
    for entitlement in rows:
        unreadable = entitlement.unreadable
        account = escape(entitlement.account.name)
        about = [entitlement.get_kind_display()]
        if entitlement.max_duration:
            about.append(f"up to {entitlement.max_duration_words}")
        if entitlement.approval_policy:
            about.append(escape(entitlement.approval_policy.name))
        requestable = entitlement.requestable
        not_requestable = "" if requestable else '<span class="d-sm-none"> · not requestable</span>'
        problem = (
            f'<div class="small text-danger" data-testid="unreadable-policy" title="{escape(unreadable)}">'
            '<i class="bi bi-exclamation-triangle" aria-hidden="true"></i> A policy could not be read</div>'
            if unreadable
            else ""
        )
        lines.append(
            f'<tr data-testid="entitlement-{escape(entitlement.aws_name)}">\n'
            f'      <td><a class="fw-semibold" href="{edit_path(entitlement.pk)}">{escape(entitlement.name)}</a>\n'
            f'        <div class="small text-body-secondary"><span class="d-md-none">{account} · </span>'
            f"{' · '.join(about)}{not_requestable}</div>\n"
            f"        {problem}</td>\n"
            f'      <td class="d-none d-md-table-cell">{account}</td>\n'
            f"      <td>{risk_badge(entitlement)}</td>\n"
            f'      <td class="small d-none d-md-table-cell">{_owners(owners.get(entitlement.pk, []))}</td>\n'
            f'      <td class="d-none d-sm-table-cell">{"Yes" if requestable else NOT_REQUESTABLE}</td>\n'
            f'      <td class="text-end" data-testid="holders">{entitlement.holders}</td>\n'
            "    </tr>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308  (every name escaped)
