"""Operations' rows, one per AWS account, written by one tag rather than a template loop: 50 accounts a
page resolved some 20 variables, a `{% url %}` and three date filters each. Account names are escaped;
the rest is ours (ids, figures, states, times)."""

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from access.views.common import path_for_each

register = template.Library()
RUN_BADGES = {
    "failed": '<span class="badge text-bg-danger">Failed</span>',
    "running": '<span class="badge text-bg-info">Running</span>',
}


def _count(n: int, tone: str) -> str:
    return f'<span class="badge text-bg-{tone}">{n}</span>' if n else "0"


def _run(run) -> str:
    if run is None:
        return '<td colspan="4" class="text-body-secondary">Never reconciled</td>'
    started = timezone.localtime(run.started_at)
    took = timesince(run.started_at, run.finished_at) if run.finished_at else ""
    badge = RUN_BADGES.get(run.status, "")
    return (
        f'<td>{badge} <time datetime="{started.isoformat()}">{naturaltime(started)}</time></td>\n'
        f"    <td>{took}</td>\n"
        f"    <td>{run.api_calls}</td><td>{run.changes_made}</td>"
    )


@register.simple_tag
def account_rows(rows) -> str:
    """The `<tr>` of each (account, its last full reconcile or None) of `iam.views.operations`."""
    account_path = path_for_each("iam:account")
    lines = []
    for account, run in rows:
        mode = "warning" if account.sync_mode == "enforce" else "secondary"
        lines.append(
            f'<tr data-testid="account-{escape(account.account_id)}">\n'
            f'    <td><a class="fw-semibold" href="{account_path(account.pk)}">{escape(account.name)}</a>'
            f'<div class="small text-body-secondary">{escape(account.account_id)}</div></td>\n'
            f'    <td><span class="badge text-bg-{mode}">{account.get_sync_mode_display()}</span></td>\n'
            f"    {_run(run)}\n"
            f"    <td>{_count(account.open_drift, 'warning')}</td>\n"
            f"    <td>{_count(account.failed_grants, 'danger')}</td>\n"
            "  </tr>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308  (account names and ids escaped)
