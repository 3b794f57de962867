"""The separation-of-duties reports: violations (with CSV export), exceptions, and findings from what was done."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import roles
from audit.csv_export import streamed_csv
from audit.pagination import CappedPaginator
from sod import selectors
from sod.models import SodRule

STATES = [("open", "Open"), ("covered", "Covered by an exception"), ("resolved", "Resolved"), ("all", "All")]


def _may_see_reports(user) -> bool:
    return roles.reads_everything(user) or SodRule.objects.filter(owner=user).exists()


def _rules_of(user):
    rules = SodRule.objects.order_by("name")
    return rules if roles.reads_everything(user) else rules.filter(owner=user)


def _filters(request) -> dict:
    return {
        "state": request.GET.get("state", "open"),
        "rule": request.GET.get("rule", ""),
        "person": request.GET.get("person", "").strip(),
    }


@require_GET
def violations(request):
    if not _may_see_reports(request.user):
        raise PermissionDenied
    filters = _filters(request)
    rows = selectors.violations_for(request.user, **filters)
    if request.GET.get("format") == "csv":
        return _csv(rows)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": CappedPaginator(rows, 50).get_page(request.GET.get("page")),
        "filters": filters,
        "states": STATES,
        "rules": _rules_of(request.user),
        "query": query.urlencode(),
    }
    return render(request, "sod/violations.html", context)


CSV_HEADER = [
    "rule",
    "severity",
    "person",
    "email",
    "first_seen",
    "last_seen",
    "resolved_at",
    "exception_ends",
    "actions",
    "entitlement_ids",
]


def _csv(rows):
    def lines():
        for row in rows.iterator(chunk_size=2000):
            yield [
                row.rule.name,
                row.rule.severity,
                row.user.full_name,
                row.user.email,
                row.first_seen.isoformat(),
                row.last_seen.isoformat(),
                row.resolved_at.isoformat() if row.resolved_at else "",
                row.exception.ends_at.isoformat() if row.exception else "",
                " ".join(row.details.get("actions", [])),
                " ".join(map(str, row.details.get("entitlements", []))),
            ]

    return streamed_csv(CSV_HEADER, lines(), "sod-violations.csv")


@require_GET
def exceptions(request):
    if not _may_see_reports(request.user):
        raise PermissionDenied
    page = CappedPaginator(selectors.exceptions_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "sod/exceptions.html", {"page": page})


@require_GET
def activity_findings(request):
    """People who did every action of a rule inside one grant's window (CloudTrail), with the event ids."""
    if not _may_see_reports(request.user):
        raise PermissionDenied
    filters = _filters(request)
    rows = selectors.activity_findings_for(request.user, rule=filters["rule"], person=filters["person"])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": CappedPaginator(rows, 50).get_page(request.GET.get("page")),
        "filters": filters,
        "rules": _rules_of(request.user).filter(kind=SodRule.Kind.PERMISSIONS),
        "query": query.urlencode(),
    }
    return render(request, "sod/activity_findings.html", context)
