"""The daily scan runs on a real Celery worker: scan_all queues one scan per account."""

import time

import pytest
from celery import current_app

from posture.models import PostureFinding, PostureScan
from tests.posture.conftest import analyzer


def wait_for_scan(account, timeout: float = 120) -> PostureScan:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scan = PostureScan.objects.filter(account=account).exclude(status=PostureScan.Status.RUNNING).first()
        if scan:
            return scan
        time.sleep(0.2)
    raise AssertionError("no posture scan finished in time")


@pytest.mark.django_db(transaction=True)
def test_scan_all_scans_every_account_on_the_worker(aws, aws_direct, sandbox, moto_report_clock, stub, celery_worker):
    moto_report_clock(aws)
    stub(aws, "accessanalyzer").add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    aws_direct("iam").create_login_profile(UserName="alice", Password="Sup3r-secret-password!")
    current_app.send_task("posture.scan_all")
    scan = wait_for_scan(sandbox.account)
    assert scan.status == PostureScan.Status.SUCCEEDED, scan.error
    assert PostureFinding.objects.filter(control_id="2.10", principal="alice", resolved_at__isnull=True).exists()
