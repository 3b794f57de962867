"""Posture state changes: scanning an account, and the one remediation an admin may trigger.

AWS is read (and, for remediation, written) outside any transaction; the findings, the scan
and the audit event are then written together in one.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import require_governance_admin
from audit.services import record
from catalog.models import AwsAccount
from iam.aws.errors import AwsError, PermanentAwsError
from iam.aws.gateway import account_access
from iam.aws.identity import people_by_iam_user_name
from iam.facts import posture_reads
from inputs.refusals import InvalidInput, NotFound, StaleState
from posture import checks
from posture.models import PostureFinding, PostureScan

REMEDIABLE_CONTROLS = {"2.11", "portal.leaver_key"}


def _read_account(account: AwsAccount) -> dict:
    access = account_access(account)
    content, generated_at = posture_reads.credential_report(access)
    return {
        "rows": checks.parse_report(content),
        "generated_at": generated_at,
        "summary": posture_reads.account_summary(access),
        "details": posture_reads.authorization_details(access),
        "analyzers": posture_reads.active_analyzers(access),
    }


def _people(rows: list[dict]) -> tuple[dict[str, int], set[str]]:
    """IAM user name -> person id, and the names of those people who are leavers."""
    people = people_by_iam_user_name(row["user"] for row in rows if row["user"] != checks.ROOT)
    leaver_ids = set(
        User.objects.filter(pk__in=people.values(), employment_status=User.EmploymentStatus.LEAVER).values_list(
            "pk", flat=True
        )
    )
    return people, {name for name, pk in people.items() if pk in leaver_ids}


def _apply(account: AwsAccount, findings: list[checks.Finding], people: dict[str, int], now: datetime) -> dict:
    """Open new failures, refresh the ones still failing, resolve the rest. Caller holds the transaction."""
    failing = {(f.control_id, f.principal): f for f in findings if not f.passed}
    open_rows = {
        (row.control_id, row.principal): row
        for row in PostureFinding.objects.select_for_update().filter(account=account, resolved_at__isnull=True)
    }
    refreshed: list[PostureFinding] = []
    created: list[PostureFinding] = []
    for key, finding in failing.items():
        row = open_rows.get(key) or PostureFinding(account=account, control_id=finding.control_id, first_seen=now)
        row.principal, row.severity, row.evidence = finding.principal, finding.severity, finding.evidence
        row.person_id, row.last_seen = people.get(finding.user_name), now
        (refreshed if row.pk else created).append(row)
    PostureFinding.objects.bulk_create(created)
    PostureFinding.objects.bulk_update(refreshed, ["severity", "evidence", "person", "last_seen"])
    gone = [row.pk for key, row in open_rows.items() if key not in failing]
    PostureFinding.objects.filter(pk__in=gone).update(resolved_at=now)
    return {"opened": len(created), "still_open": len(refreshed), "resolved": len(gone)}


def scan_account(account_id: int, *, now: datetime | None = None) -> PostureScan:
    """Evaluate every control on the account and bring its findings up to date; returns the scan.

    `now` is the moment the controls are judged at (tests move it forward). On an AWS error
    the scan is recorded as failed, findings are left as they were, and the error is raised.
    """
    account = AwsAccount.objects.get(pk=account_id)
    scan = PostureScan.objects.create(account=account)
    try:
        data = _read_account(account)
    except AwsError as exc:
        with transaction.atomic():
            PostureScan.objects.filter(pk=scan.pk).update(
                status=PostureScan.Status.FAILED, finished_at=timezone.now(), error=exc.message
            )
            record(
                actor=None, actor_label="system:posture", action="posture.scan", obj=scan, after={"error": exc.message}
            )
        raise
    now = now or timezone.now()
    people, leavers = _people(data["rows"])
    findings = checks.evaluate(data["rows"], data["summary"], data["details"], data["analyzers"], leavers, now)
    outcome = checks.controls_outcome(findings)
    with transaction.atomic():
        # Serialises two scans of one account, so neither opens a finding the other just opened.
        AwsAccount.objects.select_for_update(no_key=True).filter(pk=account.pk).first()
        changes = _apply(account, findings, people, now)
        scan.status, scan.finished_at = PostureScan.Status.SUCCEEDED, timezone.now()
        scan.report_generated_at = data["generated_at"]
        scan.controls_passed = sum(outcome.values())
        scan.controls_failed = len(outcome) - scan.controls_passed
        scan.save()
        after = {"passed": scan.controls_passed, "failed": scan.controls_failed, **changes}
        record(actor=None, actor_label="system:posture", action="posture.scan", obj=scan, after=after)
    return scan


def _due_keys(finding: PostureFinding, keys: list[dict], now: datetime) -> list[dict]:
    """The active keys the finding allows deactivating: all of a leaver's, else those unused for too long."""
    active = [key for key in keys if key["Status"] == "Active"]
    if finding.control_id == "portal.leaver_key":
        return active
    threshold = now - timedelta(days=checks.UNUSED_DAYS)
    return [key for key in active if (key["LastUsedDate"] or key["CreateDate"]) < threshold]


def deactivate_key(finding_id: int, actor: User, *, now: datetime | None = None) -> PostureFinding:
    """Set Inactive the access keys behind an open unused-key or leaver-key finding; admins only.

    Never automatic. The keys are re-read from AWS first (the finding may be out of date),
    each deactivation is read back, and the finding is resolved with an audit event.
    """
    require_governance_admin(actor, "deactivate access keys")
    finding = PostureFinding.objects.select_related("account").filter(pk=finding_id).first()
    if finding is None:
        raise NotFound("No such finding.")
    credential = finding.principal.partition(":")[2]
    if finding.control_id not in REMEDIABLE_CONTROLS or credential not in ("", *checks.KEY_SLOTS):
        raise InvalidInput("Only unused or leaver access key findings can be remediated by deactivating a key.")
    if finding.resolved_at is not None:
        raise StaleState("This finding is already resolved.")
    now = now or timezone.now()
    user_name = finding.evidence["user"]
    access = account_access(finding.account)
    due = _due_keys(finding, posture_reads.access_keys(access, user_name), now)
    if not due:
        raise StaleState("AWS shows no active key to deactivate for this finding any more; scan again.")
    statuses = {
        key["AccessKeyId"]: posture_reads.deactivate_access_key(access, user_name, key["AccessKeyId"]) for key in due
    }
    if any(status != "Inactive" for status in statuses.values()):
        raise PermanentAwsError(f"AWS did not report the keys inactive after the change: {statuses}", "ReadBack")
    with transaction.atomic():
        finding = PostureFinding.objects.select_for_update().get(pk=finding_id)
        if finding.resolved_at is None:
            finding.resolved_at = now
            finding.save(update_fields=["resolved_at"])
        before = {"user": user_name, "keys": {key_id: "Active" for key_id in statuses}}
        record(
            actor=actor,
            action="posture.key_deactivated",
            obj=finding,
            before=before,
            after={"user": user_name, "keys": statuses},
        )
    return finding
