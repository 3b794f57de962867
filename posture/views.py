"""Posture pages for governance admins and auditors: accounts, a scorecard per account, findings, a person's
findings. Only governance admins scan or deactivate keys."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from audit.csv_export import streamed_csv
from catalog.models import AwsAccount
from iam.aws.errors import AwsError
from inputs.refusals import Refusal
from outbox.services import enqueue
from posture import services
from posture.checks import CONTROLS
from posture.models import PostureFinding, PostureScan, Severity

PAGE_SIZE = 50
TREND_SCANS = 30
STATES = [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]
CSV_COLUMNS = ["control_id", "severity", "principal", "person", "first_seen", "last_seen", "resolved_at", "evidence"]


def _readers_only(request) -> None:
    """Governance admins and auditors read posture; everyone else gets 403."""
    if not roles.reads_everything(request.user):
        raise PermissionDenied


def _admin_only(request) -> None:
    """Scans and key deactivation are governance admins' alone (auditors read, never act): 403."""
    if not roles.is_governance_admin(request.user):
        raise PermissionDenied


@require_GET
def index(request):
    _readers_only(request)
    latest = PostureScan.objects.filter(account=OuterRef("pk"), status=PostureScan.Status.SUCCEEDED)
    accounts = AwsAccount.objects.annotate(
        passed=Subquery(latest.values("controls_passed")[:1]),
        failed=Subquery(latest.values("controls_failed")[:1]),
        scanned_at=Subquery(latest.values("finished_at")[:1]),
    ).order_by("name")
    return render(
        request, "posture/index.html", {"page": Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))}
    )


@require_GET
def scorecard(request, account_id):
    _readers_only(request)
    account = get_object_or_404(AwsAccount, pk=account_id)
    scans = list(PostureScan.objects.filter(account=account)[:TREND_SCANS])
    open_counts = dict(
        PostureFinding.objects.filter(account=account, resolved_at__isnull=True)
        .values_list("control_id")
        .annotate(count=Count("pk"))
    )
    succeeded = next((scan for scan in scans if scan.status == PostureScan.Status.SUCCEEDED), None)
    controls = [
        {"id": key, "title": title, "severity": severity, "open": open_counts.get(key, 0)}
        for key, (title, severity) in CONTROLS.items()
    ]
    trend = [
        {"at": scan.started_at.isoformat(), "passed": scan.controls_passed, "failed": scan.controls_failed}
        for scan in reversed(scans)
        if scan.status == PostureScan.Status.SUCCEEDED
    ]
    context = {"account": account, "scans": scans[:10], "latest": succeeded, "controls": controls, "trend": trend}
    return render(request, "posture/scorecard.html", context)


def _filtered(request, findings):
    """Apply the control, severity and state filters; returns the queryset and the filters as chosen."""
    chosen = {
        "control": request.GET.get("control", ""),
        "severity": request.GET.get("severity", ""),
        "state": request.GET.get("state", "open"),
    }
    if chosen["control"] in CONTROLS:
        findings = findings.filter(control_id=chosen["control"])
    if chosen["severity"] in Severity.values:
        findings = findings.filter(severity=chosen["severity"])
    if chosen["state"] == "open":
        findings = findings.filter(resolved_at__isnull=True)
    elif chosen["state"] == "resolved":
        findings = findings.filter(resolved_at__isnull=False)
    return findings.select_related("person"), chosen


def _csv(findings, filename: str):
    def rows():
        for row in findings.iterator(chunk_size=1000):
            person = row.person.email if row.person else ""
            times = [value.isoformat() if value else "" for value in (row.first_seen, row.last_seen, row.resolved_at)]
            yield [row.control_id, row.severity, row.principal, person, *times, row.evidence]

    return streamed_csv(CSV_COLUMNS, rows(), filename)


@require_GET
def findings(request, account_id):
    _readers_only(request)
    account = get_object_or_404(AwsAccount, pk=account_id)
    rows, chosen = _filtered(request, PostureFinding.objects.filter(account=account))
    if request.GET.get("format") == "csv":
        return _csv(rows, f"posture-{account.account_id}.csv")
    query = urlencode({key: value for key, value in chosen.items() if value})
    context = {
        "account": account,
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "chosen": chosen,
        "query": query,
        "controls": [(key, title) for key, (title, _) in CONTROLS.items()],
        "severities": Severity.choices,
        "states": STATES,
        "remediable": services.REMEDIABLE_CONTROLS,
    }
    return render(request, "posture/findings.html", context)


@require_GET
def person_findings(request, person_id):
    _readers_only(request)
    person = get_object_or_404(get_user_model(), pk=person_id)
    rows = PostureFinding.objects.filter(person=person).select_related("account").order_by("resolved_at", "control_id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "posture/person.html", {"person": person, "page": page})


@require_POST
def scan_now(request, account_id):
    _admin_only(request)
    account = get_object_or_404(AwsAccount, pk=account_id)
    enqueue("posture.scan_account", account.pk)
    messages.success(request, f"A posture scan of {account.name} is queued; refresh in a moment for its figures.")
    return redirect("posture:scorecard", account.pk)


@require_POST
def deactivate_key(request, finding_id):
    _admin_only(request)
    finding = get_object_or_404(PostureFinding, pk=finding_id)
    try:
        services.deactivate_key(finding.pk, request.user)
    except Refusal as exc:
        messages.error(request, exc.message)
    except AwsError as exc:
        messages.error(request, f"AWS: {exc.message}")
    else:
        messages.success(request, f"Access keys of {finding.evidence.get('user', finding.principal)} are now inactive.")
    return redirect("posture:findings", finding.account_id)
